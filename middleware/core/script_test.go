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
)

// Scripted scenarios (testdata/scripts/*.txt, in the style of etcd raft's
// datadriven tests) pin exact behaviours that random seeds only hit by
// chance. Control messages are delivered only on `stabilize` or `tick`,
// network copies only on `network`, so a script says exactly what happens
// in which order. Run with -rewrite to update the expected output.
//
//	lab n=3 [protocol=raft|sequencer|isis]
//	elect                          tick until every live middleware knows a leader
//	send id=1 [count=1]
//	network [to=2] [drop]          deliver (or drop) the pending network copies
//	data id=1 text=...             content at a data port that nobody sent
//	stabilize                      deliver control messages until none is left
//	tick d=500ms                   let time pass, 10 ms at a time, stabilizing
//	cut id=2|leader / heal         cut one middleware's control links both ways
//	crash id=2 / restart id=2      kill -9 (the state log stays) and start again
//	status / ready                 each live middleware's status, Ready list
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

type scriptNode struct {
	core    *core.Core
	alive   bool
	inc     int
	durable [][]byte
	ready   []string
}

type scriptLab struct {
	n     int
	proto core.Protocol
	now   time.Time
	nodes []*scriptNode // 1-based
	ctl   []core.Envelope
	from  []int // sender of each ctl entry
	net   []struct {
		to   int
		text string
	}
	cut map[int]bool
	out strings.Builder
}

func newScriptLab(t *testing.T, d *datadriven.TestData) *scriptLab {
	l := &scriptLab{proto: core.Raft, now: time.Unix(1_700_000_000, 0), cut: map[int]bool{}}
	d.ScanArgs(t, "n", &l.n)
	if d.HasArg("protocol") {
		var p string
		d.ScanArgs(t, "protocol", &p)
		proto, err := core.ParseProtocol(p)
		if err != nil {
			d.Fatalf(t, "%v", err)
		}
		l.proto = proto
	}
	l.nodes = make([]*scriptNode, l.n+1)
	for id := 1; id <= l.n; id++ {
		l.nodes[id] = &scriptNode{}
		l.start(t, id)
	}
	return l
}

func (l *scriptLab) start(t *testing.T, id int) {
	nd := l.nodes[id]
	nd.inc++
	c, err := core.New(core.Config{ID: id, N: l.n, Protocol: l.proto, Run: fmt.Sprint(nd.inc), Restored: nd.durable}, l.now)
	if err != nil {
		t.Fatal(err)
	}
	nd.core, nd.alive, nd.ready = c, true, nil
	l.flush(id)
}

func (l *scriptLab) idArg(t *testing.T, d *datadriven.TestData) int {
	var s string
	d.ScanArgs(t, "id", &s)
	if s == "leader" {
		return l.leader(t)
	}
	var id int
	if _, err := fmt.Sscan(s, &id); err != nil || id < 1 || id > l.n {
		d.Fatalf(t, "id=%s: want 1..%d or leader", s, l.n)
	}
	return id
}

func (l *scriptLab) leader(t *testing.T) int {
	for id := 1; id <= l.n; id++ {
		if nd := l.nodes[id]; nd.alive && nd.core.View().Leader == id {
			return id
		}
	}
	t.Fatal("no leader")
	return 0
}

func (l *scriptLab) run(t *testing.T, d *datadriven.TestData) {
	switch d.Cmd {
	case "elect":
		for k := 0; ; k++ {
			if k > 1000 {
				d.Fatalf(t, "no leader after 10 s")
			}
			known := true
			for id := 1; id <= l.n; id++ {
				if nd := l.nodes[id]; nd.alive && !l.cut[id] && nd.core.View().Leader == 0 {
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
		l.nodes[id].core.Send(l.now, count)
		l.flush(id)
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
			case l.nodes[c.to].alive:
				if err := l.nodes[c.to].core.DataIn(l.now, c.text); err != nil {
					fmt.Fprintf(&l.out, "%d: %v\n", c.to, err)
				}
				l.flush(c.to)
			}
		}
	case "data":
		id := l.idArg(t, d)
		var text string
		d.ScanArgs(t, "text", &text)
		if err := l.nodes[id].core.DataIn(l.now, text); err != nil {
			fmt.Fprintf(&l.out, "%d: %v\n", id, err)
		}
		l.flush(id)
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
		for j := 1; j <= l.n; j++ {
			if j != id && l.nodes[j].alive {
				l.closeLink(id, j)
				l.closeLink(j, id)
			}
		}
		fmt.Fprintf(&l.out, "cut %d off\n", id)
	case "heal":
		clear(l.cut)
	case "crash":
		id := l.idArg(t, d)
		l.nodes[id].alive = false
		for j := 1; j <= l.n; j++ {
			if j != id && l.nodes[j].alive {
				l.closeLink(id, j)
			}
		}
		fmt.Fprintf(&l.out, "crashed %d\n", id)
	case "restart":
		l.start(t, l.idArg(t, d))
	case "status":
		for id := 1; id <= l.n; id++ {
			nd := l.nodes[id]
			if !nd.alive {
				continue
			}
			v := nd.core.View()
			w := v.Waiting
			if w == "" {
				w = "-"
			}
			fmt.Fprintf(&l.out, "%d: leader known=%v received=%d recovered=%d ready=%d pending=%d waiting: %s\n",
				id, v.Leader != 0, v.Received, v.Recovered, v.Ready, v.Pending, w)
		}
	case "ready":
		for id := 1; id <= l.n; id++ {
			if nd := l.nodes[id]; nd.alive {
				fmt.Fprintf(&l.out, "%d: %s\n", id, strings.Join(nd.ready, ", "))
			}
		}
	default:
		d.Fatalf(t, "unknown command %s", d.Cmd)
	}
}

func (l *scriptLab) closeLink(from, to int) {
	l.nodes[to].core.ControlIn(l.now, core.Msg{Kind: core.KindLinkClosed, From: from})
	l.flush(to)
}

// step lets 10 ms pass: every live middleware ticks, then control settles.
func (l *scriptLab) step() {
	l.now = l.now.Add(10 * time.Millisecond)
	for id := 1; id <= l.n; id++ {
		if l.nodes[id].alive {
			l.nodes[id].core.Tick(l.now)
			l.flush(id)
		}
	}
	l.stabilize()
}

func (l *scriptLab) stabilize() {
	for k := 0; len(l.ctl) > 0; k++ {
		env, from := l.ctl[0], l.from[0]
		l.ctl, l.from = l.ctl[1:], l.from[1:]
		if l.cut[from] || l.cut[env.To] || !l.nodes[env.To].alive {
			continue
		}
		line := core.AppendMsg(nil, &env.Msg)
		m, err := core.DecodeMsg(line[:len(line)-1])
		if err != nil {
			panic(err)
		}
		m.From = from
		l.nodes[env.To].core.ControlIn(l.now, m)
		l.flush(env.To)
	}
}

// flush takes a middleware's output: the state log, network copies for
// later, control messages into flight, list changes into the script.
func (l *scriptLab) flush(id int) {
	nd := l.nodes[id]
	out := nd.core.Output()
	if out.Rewrite {
		nd.durable = nil
	}
	nd.durable = append(nd.durable, out.Persist...)
	for _, mid := range out.ToNetwork {
		for to := 1; to <= l.n; to++ {
			l.net = append(l.net, struct {
				to   int
				text string
			}{to, mid.Text()})
		}
	}
	for _, env := range out.Control {
		l.ctl = append(l.ctl, env)
		l.from = append(l.from, id)
	}
	for _, nt := range out.Notes {
		switch nt.Kind {
		case core.NoteSent:
			fmt.Fprintf(&l.out, "%d: sent %s\n", id, nt.ID.Text())
		case core.NoteReceived:
			how := ""
			if nt.Recovered {
				how = " (recovered)"
			}
			fmt.Fprintf(&l.out, "%d: received %s%s\n", id, nt.ID.Text(), how)
		case core.NoteReady:
			entry := fmt.Sprintf("%d:%d.%d", nt.Seq, nt.ID.Sender, nt.ID.Num)
			if slices.Contains(nd.ready, entry) {
				panic("delivered twice: " + entry)
			}
			nd.ready = append(nd.ready, entry)
			fmt.Fprintf(&l.out, "%d: ready %d %s\n", id, nt.Seq, nt.ID.Text())
		}
	}
	nd.core.ClearOutput()
}
