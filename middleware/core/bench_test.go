package core_test

import (
	"fmt"
	"testing"
	"time"

	"totalorder/middleware/core"
	"totalorder/middleware/core/coretest"
)

// benchNet delivers everything in order when drained: control messages and
// network copies alike, with no delay (the cores' own cost, nothing else).
type benchNet struct {
	lab  *coretest.Lab
	ctl  []core.Msg
	to   []int
	data []struct {
		to   int
		text string
	}
}

func (n *benchNet) Control(to int, m core.Msg) { n.ctl, n.to = append(n.ctl, m), append(n.to, to) }
func (n *benchNet) Multicast(from int, text string) {
	for to := 1; to <= n.lab.N; to++ {
		n.data = append(n.data, struct {
			to   int
			text string
		}{to, text})
	}
}
func (n *benchNet) LinkClosed(int, int) {}

func (n *benchNet) drain() {
	for len(n.ctl) > 0 || len(n.data) > 0 {
		for len(n.ctl) > 0 {
			m, to := n.ctl[0], n.to[0]
			n.ctl, n.to = n.ctl[1:], n.to[1:]
			n.lab.DeliverControl(to, m)
		}
		if len(n.data) > 0 {
			d := n.data[0]
			n.data = n.data[1:]
			_ = n.lab.DeliverData(d.to, d.text)
		}
	}
}

// BenchmarkOrdering measures what ordering costs the cores of a five-member
// group, per message delivered everywhere, with and without the live
// agreement check (a running hash per delivery, digests every 250 ms of
// the simulated clock, which runs at 10,000 messages a second):
//
//	go test ./middleware/core -run XXX -bench Ordering -count 6
func BenchmarkOrdering(b *testing.B) {
	for _, proto := range []core.Protocol{core.Raft, core.Lamport, core.Sequencer} {
		for _, check := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/agreement=%v", proto, check), func(b *testing.B) {
				now := time.Unix(1_700_000_000, 0)
				net := &benchNet{}
				lab := coretest.New(5, proto, net, func() time.Time { return now })
				lab.Configure = func(cfg *core.Config) { cfg.NoAgreementCheck = !check }
				net.lab = lab
				for id := 1; id <= 5; id++ {
					if err := lab.Start(id); err != nil {
						b.Fatal(err)
					}
				}
				tick := func() {
					now = now.Add(10 * time.Millisecond)
					for id := 1; id <= 5; id++ {
						lab.Tick(id)
					}
					net.drain()
				}
				for k := 0; k < 200 && lab.Leader() == 0; k++ { // joined, and raft has a leader
					tick()
				}
				if proto == core.Raft {
					lab.Nodes[1].Core.Campaign(now)
					lab.Flush(1)
				}
				for k := 0; k < 100; k++ {
					tick()
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sender := 1 + i%5
					lab.Nodes[sender].Core.Send(now, 1)
					lab.Flush(sender)
					if i%100 == 99 {
						tick()
					} else {
						net.drain()
					}
				}
				tick()
				b.StopTimer()
				for id := 1; id <= 5; id++ {
					if v := lab.Nodes[id].Core.View(); v.Ready != b.N {
						b.Fatalf("Middleware %d delivered %d of %d", id, v.Ready, b.N)
					}
				}
			})
		}
	}
}
