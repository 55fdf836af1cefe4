package core_test

import (
	"strings"
	"testing"
	"time"

	"totalorder/middleware/core"
	"totalorder/middleware/core/coretest"
)

// queueNet holds control messages until drained and drops network copies
// (the test hands content in itself).
type queueNet struct {
	lab *coretest.Lab
	q   []core.Msg
	to  []int
}

func (n *queueNet) Control(to int, m core.Msg) { n.q, n.to = append(n.q, m), append(n.to, to) }
func (n *queueNet) Multicast(int, string)      {}
func (n *queueNet) LinkClosed(int, int)        {}

func (n *queueNet) drain() {
	for len(n.q) > 0 {
		m, to := n.q[0], n.to[0]
		n.q, n.to = n.q[1:], n.to[1:]
		n.lab.DeliverControl(to, m)
	}
}

// Two members whose Ready lists split deep inside a long run: the check
// narrows the split down to its first position, however far behind the
// digests that found it, and names the messages on both sides.
func TestAgreementLocatesFirstSplit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	net := &queueNet{}
	lab := coretest.New(2, core.None, net, func() time.Time { return now })
	net.lab = lab
	for id := 1; id <= 2; id++ {
		if err := lab.Start(id); err != nil {
			t.Fatal(err)
		}
	}
	const total, split = 1000, 700
	for k := 1; k <= total; k++ {
		a, b := k, k
		if k == split {
			b = split + 1
		} else if k == split+1 {
			b = split
		}
		for id, num := range map[int]int{1: a, 2: b} {
			text := core.MsgID{Sender: 1, Num: uint64(num)}.Text()
			if err := lab.DeliverData(id, text); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := 0; k < 200 && len(lab.Splits) < 2; k++ {
		now = now.Add(100 * time.Millisecond)
		lab.Tick(1)
		lab.Tick(2)
		net.drain()
	}
	if len(lab.Splits) != 2 {
		t.Fatalf("splits reported: %+v, want one by each member", lab.Splits)
	}
	for _, nt := range lab.Splits {
		if nt.Seq != split {
			t.Errorf("member reports the split at #%d, want #%d", nt.Seq, split)
		}
	}
	ok, text := core.AgreementSummary(lab.Nodes[1].Core.View().Agreement)
	want := "differs from Middleware 2 at #700 (here: Msg #700 from Middleware 1; there: Msg #701 from Middleware 1)"
	if ok || text != want {
		t.Errorf("summary %v %q, want %q", ok, text, want)
	}
}

func TestAgreementSummary(t *testing.T) {
	for _, c := range []struct {
		as   []core.PeerAgreement
		ok   bool
		want string
	}{
		{nil, true, "agreement: no digest from a peer yet"},
		{[]core.PeerAgreement{{Peer: 2}, {Peer: 3}}, true, "agreement: no digest from a peer yet"},
		{[]core.PeerAgreement{{Peer: 2, Through: 120, Delivered: 130}, {Peer: 3, Through: 118, Delivered: 118}}, true, "same order as 2 of 2 through #118"},
		{[]core.PeerAgreement{{Peer: 2, Through: 4, DiffAt: 9}, {Peer: 3, Through: 12, Delivered: 12}}, false,
			"differs from Middleware 2 between #5 and #9 (locating); same as Middleware 3 through #12"},
	} {
		ok, text := core.AgreementSummary(c.as)
		if ok != c.ok || text != c.want {
			t.Errorf("AgreementSummary(%+v) = %v %q, want %v %q", c.as, ok, text, c.ok, c.want)
		}
	}
}

// A state folder written by one protocol, started with another: a clear
// error naming both, not a record the other does not know.
func TestStateOfAnotherProtocol(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c, err := core.New(core.Config{ID: 1, N: 3, Protocol: core.Raft, StateID: "a"}, now)
	if err != nil {
		t.Fatal(err)
	}
	recs := append([][]byte(nil), c.Output().Persist...)
	_, err = core.New(core.Config{ID: 1, N: 3, Protocol: core.Lamport, Restored: recs}, now)
	if err == nil || !strings.Contains(err.Error(), "-protocol raft") || !strings.Contains(err.Error(), "runs lamport") {
		t.Fatalf("lamport on raft's state: %v", err)
	}
	if _, err := core.New(core.Config{ID: 1, N: 3, Protocol: core.Raft, Restored: recs}, now); err != nil {
		t.Fatalf("raft on its own state: %v", err)
	}
}
