// Package coretest is the protocol harness (in the spirit of etcd's
// rafttest): a lab of cores in one process, with their durable state,
// their events and their incarnations, that the random simulation and the
// scripted scenarios share. What differs between them, when a message in
// flight arrives, is the Transport's: the simulation schedules each on a
// virtual clock with random delays; the scripts hold them until told.
//
// Every control message goes through the wire encoding and back, as the
// adapters send it, and the conversation can be printed by name
// ("2->1 Stamp id=2:1 hi=1 prio=1.2").
package coretest

import (
	"fmt"
	"io"
	"time"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// Transport carries what cores send. It decides when (and whether) each
// arrives, then calls Lab.DeliverControl, Lab.DeliverData or
// Lab.DeliverLinkClosed.
type Transport interface {
	// Control carries m (decoded from its encoding, From set) to m's
	// destination to.
	Control(to int, m core.Msg)
	// Multicast hands text to the network program for every middleware.
	Multicast(from int, text string)
	// LinkClosed tells to that its control link from `from` closed, after
	// what the link still carries.
	LinkClosed(from, to int)
}

// Node is one middleware process of the lab.
type Node struct {
	ID      int
	Core    *core.Core
	Alive   bool
	Inc     int      // incarnation number, from 1
	Durable [][]byte // its state log
	// Entries are this incarnation's list changes; Past the incarnations
	// before it.
	Entries []check.Entry
	Past    []check.Incarnation
	// Rejoin starts the next incarnation with -rejoin (core.Config.Rejoin).
	Rejoin bool
}

// Run is the incarnation's id as the core knows it.
func (nd *Node) Run() string { return fmt.Sprintf("r%d", nd.Inc) }

// Lab is n middlewares on one protocol.
type Lab struct {
	N        int
	Protocol core.Protocol
	Nodes    []*Node // 1-based
	Net      Transport
	// Now is the lab's clock.
	Now func() time.Time
	// Trace, when set, prints every control message as it arrives, but
	// heartbeats, hellos and agreement digests only with TraceAll.
	Trace    io.Writer
	TraceAll bool
	// Configure, when set, adjusts each middleware's configuration.
	Configure func(cfg *core.Config)
	// OnNote, when set, sees every note of every middleware.
	OnNote func(id int, nt core.Note)
	// Splits are the NoteDiverged of every middleware: what their own
	// agreement check found.
	Splits []core.Note
	// Crashed holds middlewares whose last incarnation was killed.
	Crashed map[int]bool
}

// New makes a lab of n middlewares, none started.
func New(n int, proto core.Protocol, net Transport, now func() time.Time) *Lab {
	l := &Lab{N: n, Protocol: proto, Net: net, Now: now, Nodes: make([]*Node, n+1), Crashed: map[int]bool{}}
	for id := 1; id <= n; id++ {
		l.Nodes[id] = &Node{ID: id}
	}
	return l
}

// Start starts middleware id (again), from its state log.
func (l *Lab) Start(id int) error {
	nd := l.Nodes[id]
	nd.Inc++
	nd.Alive = true
	nd.Entries = nil
	delete(l.Crashed, id)
	// What the events logs of earlier incarnations say, as the adapter
	// reads it: the last number sent and the last position delivered.
	var lastNum, lastSeq uint64
	hasPast := false
	for _, inc := range nd.Past {
		hasPast = hasPast || len(inc.Entries) > 0
		for _, e := range inc.Entries {
			switch e.Kind {
			case check.Sent:
				if m, ok := core.ParseMessage(e.Msg); ok {
					lastNum = max(lastNum, m.ID.Num)
				}
			case check.Ready:
				lastSeq = max(lastSeq, e.Seq)
			}
		}
	}
	cfg := core.Config{ID: id, N: l.N, Protocol: l.Protocol, Run: nd.Run(), StateID: fmt.Sprintf("s%d.%d", id, nd.Inc),
		Restored: nd.Durable, Rejoin: nd.Rejoin, HasPast: hasPast, LastNum: lastNum, LastSeq: lastSeq}
	if l.Configure != nil {
		l.Configure(&cfg)
	}
	c, err := core.New(cfg, l.Now())
	if err != nil {
		return fmt.Errorf("start of %d: %w", id, err)
	}
	nd.Core = c
	l.Flush(id)
	return nil
}

// Crash kills middleware id (kill -9): its state log stays, its peers'
// links from it close.
func (l *Lab) Crash(id int) {
	nd := l.Nodes[id]
	if !nd.Alive {
		return
	}
	nd.Alive = false
	l.Crashed[id] = true
	nd.Past = append(nd.Past, check.Incarnation{MW: id, Run: fmt.Sprint(nd.Inc), Entries: nd.Entries})
	nd.Entries = nil
	for to := 1; to <= l.N; to++ {
		if to != id {
			l.Net.LinkClosed(id, to)
		}
	}
}

// Flush carries out middleware id's output: the state log first, then the
// list changes, the content for the network program and the control
// messages (each through the wire encoding).
func (l *Lab) Flush(id int) {
	nd := l.Nodes[id]
	out := nd.Core.Output()
	if out.Rewrite {
		nd.Durable = nil
	}
	nd.Durable = append(nd.Durable, out.Persist...)
	ts := l.Now().UnixMicro()
	for _, nt := range out.Notes {
		if l.OnNote != nil {
			l.OnNote(id, nt)
		}
		e := check.Entry{Msg: nt.Text(), TS: ts, Seq: nt.Seq, Recovered: nt.Recovered}
		switch nt.Kind {
		case core.NoteSent:
			e.Kind = check.Sent
		case core.NoteReceived:
			e.Kind = check.Received
		case core.NoteReady:
			e.Kind = check.Ready
		case core.NoteDiverged:
			l.Splits = append(l.Splits, nt)
			continue
		default:
			continue
		}
		nd.Entries = append(nd.Entries, e)
	}
	for _, m := range out.ToNetwork {
		l.Net.Multicast(id, m.Text())
	}
	for _, env := range out.Control {
		line := core.AppendMsg(nil, &env.Msg)
		m, err := core.DecodeMsg(line[:len(line)-1])
		if err != nil {
			panic(fmt.Sprintf("coretest: %q does not decode: %v", line, err))
		}
		m.From = id
		l.Net.Control(env.To, m)
	}
	nd.Core.ClearOutput()
}

// DeliverControl hands m to middleware to, if it is alive.
func (l *Lab) DeliverControl(to int, m core.Msg) {
	nd := l.Nodes[to]
	if !nd.Alive {
		return
	}
	if l.Trace != nil && (l.TraceAll || (m.Kind != core.KindHeartbeat && m.Kind != core.KindDigest && m.Kind != core.KindDigestAsk && m.Kind != core.KindHello)) {
		fmt.Fprintf(l.Trace, "%d->%d %v\n", m.From, to, m)
	}
	nd.Core.ControlIn(l.Now(), m)
	l.Flush(to)
}

// DeliverLinkClosed tells middleware to that its link from `from` closed.
func (l *Lab) DeliverLinkClosed(from, to int) {
	l.DeliverControl(to, core.Msg{Kind: core.KindLinkClosed, From: from, Run: l.Nodes[from].Run()})
}

// DeliverData hands a network copy to middleware to, if it is alive.
func (l *Lab) DeliverData(to int, text string) error {
	nd := l.Nodes[to]
	if !nd.Alive {
		return nil
	}
	err := nd.Core.DataIn(l.Now(), text)
	l.Flush(to)
	return err
}

// Tick lets time pass at middleware id.
func (l *Lab) Tick(id int) {
	if nd := l.Nodes[id]; nd.Alive {
		nd.Core.Tick(l.Now())
		l.Flush(id)
	}
}

// Incarnations lists every incarnation's events, for the checker.
func (l *Lab) Incarnations() []check.Incarnation {
	var incs []check.Incarnation
	for id := 1; id <= l.N; id++ {
		nd := l.Nodes[id]
		incs = append(incs, nd.Past...)
		if nd.Alive {
			incs = append(incs, check.Incarnation{MW: id, Run: fmt.Sprint(nd.Inc), Entries: nd.Entries})
		}
	}
	return incs
}

// Check runs the order checker over the lab's events. For a protocol that
// orders, a split the middlewares' own agreement check reported is an
// error too: it can only be wrong if the checker is.
func (l *Lab) Check(agreement bool) error {
	_, err := check.Check(l.Incarnations(), check.Options{Agreement: agreement, Crashed: l.Crashed})
	if err == nil && len(l.Splits) > 0 && l.Protocol.Orders() {
		nt := l.Splits[0]
		err = fmt.Errorf("the agreement check saw a split the checker did not: differs from %d at #%d (here %s, there %s)", nt.Peer, nt.Seq, nt.Text(), nt.There)
	}
	return err
}

// Leader is the middleware that believes itself leader with the highest
// term (raft), or the highest id alive (the others); 0 if none.
func (l *Lab) Leader() int {
	best, term := 0, uint64(0)
	for id := l.N; id >= 1; id-- {
		nd := l.Nodes[id]
		if !nd.Alive {
			continue
		}
		if l.Protocol != core.Raft {
			return id
		}
		if v := nd.Core.View(); v.Leader == id && v.Term >= term {
			best, term = id, v.Term
		}
	}
	return best
}
