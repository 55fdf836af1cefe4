package core_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/cockroachdb/datadriven"

	"totalorder/middleware/core"
	"totalorder/middleware/core/coretest"
)

// Scripted scenarios (testdata/scripts/*.txt, in the style of etcd raft's
// datadriven tests) pin exact behaviours that random seeds only hit by
// chance. Control messages are delivered only on `stabilize` or `tick`,
// network copies only on `network`, so a script says exactly what happens
// in which order. Run with -rewrite to update the expected output.
//
//	lab n=3 [protocol=raft|sequencer|isis|lamport|none] [trace] [net-max-sleep=20s]
//	                               trace: print the control conversation
//	                               ("2->1 Stamp id=2:1 hi=1 prio=1.2") as it arrives
//	elect [leader=2]               (2 stands first, then) tick until every
//	                               live middleware knows a leader
//	send id=1 [count=1] [body=...] (a body: one application message)
//	network [to=2] [drop]          deliver (or drop) the pending network copies
//	data id=1 text=...             content at a data port that nobody sent
//	stabilize                      deliver control messages until none is left
//	tick d=500ms                   let time pass, 10 ms at a time, stabilizing
//	cut id=2|leader / heal         cut one middleware's control links both ways
//	crash id=2 / restart id=2 [nostate]
//	                               kill -9 (the state log stays) and start
//	                               again (nostate: without its state log;
//	                               rejoin: asking to be taken back)
//	status / ready / agreement     each live middleware's status, Ready
//	                               list, agreement with its peers
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		cryptotest.SetGlobalRandom(t, 1) // raft's election timeouts
		var l *scriptLab
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "lab" {
				l = newScriptLab(t, d)
				return ""
			}
			if l == nil {
				d.Fatalf(t, "the script must start with lab")
			}
			l.out.Reset()
			l.run(t, d)
			return l.out.String()
		})
	})
}

// scriptLab is the harness's lab with a transport that holds every
// message until the script says: control messages until stabilize (or a
// tick), network copies until network.
type scriptLab struct {
	*coretest.Lab
	now   time.Time
	ctl   []core.Msg // in flight, in send order; To in ctlTo
	ctlTo []int
	net   []struct {
		to   int
		text string
	}
	cut   map[int]bool
	ready map[int][]string // per middleware, this incarnation's Ready list
	out   strings.Builder
}

func (l *scriptLab) Control(to int, m core.Msg) {
	l.ctl = append(l.ctl, m)
	l.ctlTo = append(l.ctlTo, to)
}

func (l *scriptLab) Multicast(from int, text string) {
	for to := 1; to <= l.N; to++ {
		l.net = append(l.net, struct {
			to   int
			text string
		}{to, text})
	}
}

func (l *scriptLab) LinkClosed(from, to int) { l.DeliverLinkClosed(from, to) }

func newScriptLab(t *testing.T, d *datadriven.TestData) *scriptLab {
	l := &scriptLab{now: time.Unix(1_700_000_000, 0), cut: map[int]bool{}, ready: map[int][]string{}}
	var n int
	d.ScanArgs(t, "n", &n)
	proto := core.Raft
	if d.HasArg("protocol") {
		var p string
		d.ScanArgs(t, "protocol", &p)
		var err error
		if proto, err = core.ParseProtocol(p); err != nil {
			d.Fatalf(t, "%v", err)
		}
	}
	l.Lab = coretest.New(n, proto, l, func() time.Time { return l.now })
	if d.HasArg("net-max-sleep") {
		var v string
		d.ScanArgs(t, "net-max-sleep", &v)
		maxSleep, err := time.ParseDuration(v)
		if err != nil {
			d.Fatalf(t, "net-max-sleep: %v", err)
		}
		l.Configure = func(cfg *core.Config) { cfg.NetMaxSleep = maxSleep }
	}
	if d.HasArg("trace") {
		l.Trace = &l.out
	}
	l.OnNote = l.note
	for id := 1; id <= n; id++ {
		l.start(t, id)
	}
	// The members introduce themselves (hellos) before anything else.
	for k := 0; k < 100 && !l.allJoined(); k++ {
		l.step()
	}
	l.out.Reset()
	return l
}

func (l *scriptLab) allJoined() bool {
	for id := 1; id <= l.N; id++ {
		if strings.HasPrefix(l.Nodes[id].Core.View().Waiting, "joining") {
			return false
		}
	}
	return true
}

func (l *scriptLab) start(t *testing.T, id int) {
	l.ready[id] = nil
	if err := l.Start(id); err != nil {
		t.Fatal(err)
	}
}

func (l *scriptLab) idArg(t *testing.T, d *datadriven.TestData) int {
	var s string
	d.ScanArgs(t, "id", &s)
	if s == "leader" {
		id := l.Leader()
		if id == 0 {
			t.Fatal("no leader")
		}
		return id
	}
	var id int
	if _, err := fmt.Sscan(s, &id); err != nil || id < 1 || id > l.N {
		d.Fatalf(t, "id=%s: want 1..%d or leader", s, l.N)
	}
	return id
}

func (l *scriptLab) run(t *testing.T, d *datadriven.TestData) {
	switch d.Cmd {
	case "elect":
		if d.HasArg("leader") {
			var id int
			d.ScanArgs(t, "leader", &id)
			l.Nodes[id].Core.Campaign(l.now)
			l.Flush(id)
			l.stabilize()
			if got := l.Leader(); got != id {
				d.Fatalf(t, "asked %d to stand, %d leads", id, got)
			}
		}
		for k := 0; ; k++ {
			if k > 1000 {
				d.Fatalf(t, "no leader after 10 s")
			}
			known := true
			for id := 1; id <= l.N; id++ {
				if nd := l.Nodes[id]; nd.Alive && !l.cut[id] && nd.Core.View().Leader == 0 {
					known = false
				}
			}
			if known {
				break
			}
			l.step()
		}
	case "send":
		id, count := l.idArg(t, d), 1
		if d.HasArg("count") {
			d.ScanArgs(t, "count", &count)
		}
		if d.HasArg("body") {
			var body string
			d.ScanArgs(t, "body", &body)
			if err := l.Nodes[id].Core.SendText(l.now, body); err != nil {
				fmt.Fprintf(&l.out, "%d: %v\n", id, err)
			}
		} else {
			l.Nodes[id].Core.Send(l.now, count)
		}
		l.Flush(id)
	case "network":
		to, drop := 0, d.HasArg("drop")
		if d.HasArg("to") {
			d.ScanArgs(t, "to", &to)
		}
		pending := l.net
		l.net = nil
		for _, c := range pending {
			switch {
			case to != 0 && c.to != to:
				l.net = append(l.net, c)
			case drop:
				fmt.Fprintf(&l.out, "network dropped %q to %d\n", c.text, c.to)
			default:
				if err := l.DeliverData(c.to, c.text); err != nil {
					fmt.Fprintf(&l.out, "%d: %v\n", c.to, err)
				}
			}
		}
	case "data":
		id := l.idArg(t, d)
		var text string
		d.ScanArgs(t, "text", &text)
		if err := l.DeliverData(id, text); err != nil {
			fmt.Fprintf(&l.out, "%d: %v\n", id, err)
		}
	case "stabilize":
		l.stabilize()
	case "tick":
		var s string
		d.ScanArgs(t, "d", &s)
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.Fatalf(t, "d=%s: %v", s, err)
		}
		for end := l.now.Add(dur); l.now.Before(end); {
			l.step()
		}
	case "cut":
		id := l.idArg(t, d)
		l.cut[id] = true
		for j := 1; j <= l.N; j++ {
			if j != id && l.Nodes[j].Alive {
				l.DeliverLinkClosed(id, j)
				l.DeliverLinkClosed(j, id)
			}
		}
		fmt.Fprintf(&l.out, "cut %d off\n", id)
	case "heal":
		clear(l.cut)
	case "crash":
		id := l.idArg(t, d)
		l.Crash(id)
		fmt.Fprintf(&l.out, "crashed %d\n", id)
	case "restart":
		id := l.idArg(t, d)
		if d.HasArg("nostate") {
			l.Nodes[id].Durable = nil // it lost its state folder
		}
		l.Nodes[id].Rejoin = d.HasArg("rejoin")
		l.start(t, id)
	case "status":
		for id := 1; id <= l.N; id++ {
			nd := l.Nodes[id]
			if !nd.Alive {
				continue
			}
			v := nd.Core.View()
			w := v.Waiting
			if w == "" {
				w = "-"
			}
			foreign := ""
			if v.Foreign > 0 {
				foreign = fmt.Sprintf(" foreign=%d", v.Foreign)
			}
			fmt.Fprintf(&l.out, "%d: leader known=%v received=%d recovered=%d%s ready=%d pending=%d waiting: %s\n",
				id, v.Leader != 0, v.Received, v.Recovered, foreign, v.Ready, v.Pending, w)
			for _, warning := range v.Warnings {
				fmt.Fprintf(&l.out, "%d: warning: %s\n", id, warning)
			}
		}
	case "agreement":
		for id := 1; id <= l.N; id++ {
			if nd := l.Nodes[id]; nd.Alive {
				_, text := core.AgreementSummary(nd.Core.View().Agreement)
				fmt.Fprintf(&l.out, "%d: %s\n", id, text)
			}
		}
	case "ready":
		for id := 1; id <= l.N; id++ {
			if nd := l.Nodes[id]; nd.Alive {
				fmt.Fprintf(&l.out, "%d: %s\n", id, strings.Join(l.ready[id], ", "))
			}
		}
	default:
		d.Fatalf(t, "unknown command %s", d.Cmd)
	}
}

// step lets 10 ms pass: every live middleware ticks, then control settles.
func (l *scriptLab) step() {
	l.now = l.now.Add(10 * time.Millisecond)
	for id := 1; id <= l.N; id++ {
		l.Tick(id)
	}
	l.stabilize()
}

func (l *scriptLab) stabilize() {
	for len(l.ctl) > 0 {
		m, to := l.ctl[0], l.ctlTo[0]
		l.ctl, l.ctlTo = l.ctl[1:], l.ctlTo[1:]
		if l.cut[m.From] || l.cut[to] {
			continue
		}
		l.DeliverControl(to, m)
	}
}

// note prints a middleware's list changes into the script.
func (l *scriptLab) note(id int, nt core.Note) {
	switch nt.Kind {
	case core.NoteSent:
		fmt.Fprintf(&l.out, "%d: sent %s\n", id, nt.Text())
	case core.NoteReceived:
		how := ""
		switch {
		case nt.Recovered:
			how = " (recovered)"
		case nt.Foreign:
			how = " (foreign: never delivered)"
		}
		fmt.Fprintf(&l.out, "%d: received %s%s\n", id, nt.Text(), how)
	case core.NoteReady:
		entry := fmt.Sprintf("%d:%d.%d", nt.Seq, nt.ID.Sender, nt.ID.Num)
		if slices.Contains(l.ready[id], entry) {
			panic("delivered twice: " + entry)
		}
		l.ready[id] = append(l.ready[id], entry)
		fmt.Fprintf(&l.out, "%d: ready %d %s\n", id, nt.Seq, nt.Text())
	case core.NoteDiverged:
		fmt.Fprintf(&l.out, "%d: differs from %d at #%d (here: %s; there: %s)\n", id, nt.Peer, nt.Seq, nt.Text(), nt.There)
	}
}
