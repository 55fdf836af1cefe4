package core

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"time"
)

// Birman's ISIS agreed priorities, the usual solution to this lab and a
// baseline the benchmark compares against.
//
// When content arrives, a middleware proposes a priority one above every
// priority it has proposed or seen agreed (ties broken by its id) and sends
// it to the sender (P). The sender waits for a proposal from every member,
// takes the maximum and announces it (A). Messages are held in priority
// order and the head is delivered once its priority is final. Ordering
// therefore waits for the slowest copy of each message to arrive
// everywhere, plus a round trip. A member whose network copy is missing
// gets the content pushed by the sender (C), marked recovered.
//
// Safety needs every member's proposal in every final priority, so the
// algorithm waits for all of them: a member that is down, paused or cut off
// stalls the group until it is back (it never guesses). Proposals must also
// keep growing across a restart, so the counter is reserved in blocks in
// the state log. A restarted member cannot know where it was in the order,
// so it goes on proposing but stops delivering, and says so.

// ISIS's control messages.
const (
	KindAnnounce Kind = 'N' // I sent my messages ID.Num..Hi
	KindPropose  Kind = 'P' // my proposed priority for ID
	KindFinal    Kind = 'A' // the agreed priority for ID
	KindContent  Kind = 'C' // the content of ID, pushed by its sender
)

func init() {
	registerKind(KindAnnounce, "Announce", fieldID, fieldHi)
	registerKind(KindPropose, "Propose", fieldID, fieldPrio)
	registerKind(KindFinal, "Final", fieldID, fieldPrio)
	registerKind(KindContent, "Content", fieldID, fieldText)
}

func init() {
	registerProtocol(protocolSpec{name: ISIS, rank: 3, orders: true,
		summary: "Birman's ISIS agreed priorities: waits for every member",
		make:    func(c host) protocol { return newISIS(c) }})
}

// recISISCounter reserves proposal counts up to its value.
const recISISCounter = 'c'

// counterBlock is how many counts one state log record reserves.
const counterBlock = 1024

type isisEntry struct {
	id           MsgID
	prio         Prio
	final        bool
	index        int
	lastProposed time.Time
}

type holdBack []*isisEntry

func (h holdBack) Len() int           { return len(h) }
func (h holdBack) Less(i, j int) bool { return h[i].prio.Less(h[j].prio) }
func (h holdBack) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *holdBack) Push(x any) { e := x.(*isisEntry); e.index = len(*h); *h = append(*h, e) }
func (h *holdBack) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type proposalRound struct {
	got      map[int]bool
	best     Prio
	started  time.Time
	lastPush time.Time // when content was last pushed to silent members
	ownCopy  time.Time // when the sender's own network copy arrived (zero: not yet)
}

type isis struct {
	c         host
	counter   uint64 // highest priority count proposed or agreed here
	reserved  uint64 // counts up to this are reserved in the state log
	queue     holdBack
	entries   map[MsgID]*isisEntry
	early     map[MsgID]Prio // final priorities that came before the content
	rounds    map[MsgID]*proposalRound
	pushQueue []MsgID        // open rounds, oldest push first
	finals    map[MsgID]Prio // priorities this sender announced, to repeat if asked
	announced idSet          // ids their senders announced (or pushed, or finalized)
	done      map[MsgID]bool // delivered or dropped
	lagMax    time.Duration  // longest wait for a proposal seen so far
}

func newISIS(c host) *isis {
	return &isis{
		c:         c,
		entries:   make(map[MsgID]*isisEntry),
		early:     make(map[MsgID]Prio),
		rounds:    make(map[MsgID]*proposalRound),
		finals:    make(map[MsgID]Prio),
		done:      make(map[MsgID]bool),
		announced: make(idSet),
	}
}

func (s *isis) restore(recs [][]byte) error {
	for _, rec := range recs {
		if rec[0] != recISISCounter {
			return fmt.Errorf("state log (isis): unknown record kind %q", rec[0])
		}
		v, k := binary.Uvarint(rec[1:])
		if k <= 0 {
			return fmt.Errorf("state log (isis): bad counter record")
		}
		s.counter = max(s.counter, v)
	}
	s.reserved = s.counter
	if s.c.restarted() {
		s.c.stop("restarted: isis cannot take up its place in the order again (it still proposes, so the others go on); raft can")
	}
	return nil
}

func (s *isis) sent(ids []MsgID) {
	for _, id := range ids {
		s.rounds[id] = &proposalRound{got: make(map[int]bool), started: s.c.clock(), lastPush: s.c.clock()}
		s.pushQueue = append(s.pushQueue, id)
		s.announced.add(id)
	}
	// The announcement: only what its sender says it sent is ordered, so
	// content written to a data port by a stranger never blocks the queue.
	for len(ids) > 0 {
		k := 1
		for k < len(ids) && ids[k].Num == ids[k-1].Num+1 && k < maxAnnounce {
			k++
		}
		for _, p := range s.c.peerIDs() {
			s.c.send(p, Msg{Kind: KindAnnounce, ID: ids[0], Hi: ids[k-1].Num})
		}
		ids = ids[k:]
	}
}

// maxAnnounce bounds the ids of one announcement.
const maxAnnounce = 1 << 16

// bump raises the counter to at least v, reserving counts durably first.
func (s *isis) bump(v uint64) {
	s.counter = max(s.counter, v)
	if s.counter > s.reserved {
		s.reserved = s.counter + counterBlock
		s.c.persist(uvarintRecord(recISISCounter, s.reserved))
	}
}

// arrived takes content that came (network copy or push); it enters the
// queue once its sender has announced it.
func (s *isis) arrived(id MsgID) {
	if s.done[id] || s.entries[id] != nil || !s.announced.has(id) {
		return
	}
	s.bump(s.counter + 1)
	e := &isisEntry{id: id, prio: Prio{Count: s.counter, Node: s.c.config().ID}}
	s.entries[id] = e
	heap.Push(&s.queue, e)
	if p, ok := s.early[id]; ok {
		delete(s.early, id)
		s.finalize(id, p)
		return
	}
	s.propose(e)
}

// pushedAgain: the sender pushed content we have, so it never got our
// proposal (or we never got its announcement): propose again.
func (s *isis) pushedAgain(id MsgID) {
	if e := s.entries[id]; e != nil && !e.final {
		s.propose(e)
	}
}

func (s *isis) propose(e *isisEntry) {
	e.lastProposed = s.c.clock()
	if e.id.Sender == s.c.config().ID {
		s.proposal(e.id, s.c.config().ID, e.prio)
	} else {
		s.c.send(e.id.Sender, Msg{Kind: KindPropose, ID: e.id, Prio: e.prio})
	}
}

func (s *isis) control(m Msg) {
	switch m.Kind {
	case KindAnnounce:
		if m.ID.Sender == m.From && m.Hi >= m.ID.Num && m.Hi-m.ID.Num < maxAnnounce {
			for num := m.ID.Num; num <= m.Hi; num++ {
				id := MsgID{Sender: m.From, Num: num}
				if s.announced.add(id) && s.c.hasContent(id) {
					s.arrived(id)
				}
			}
		}
	case KindContent:
		if msg, ok := ParseMessage(m.Text); ok && msg.ID == m.ID && msg.ID.Sender == m.From {
			id := msg.ID
			s.announced.add(id) // a push from its sender announces it too
			if s.c.contentFromPeer(msg) {
				s.arrived(id)
			} else if s.entries[id] == nil {
				s.arrived(id) // content was here, the announcement lost
			} else {
				s.pushedAgain(id)
			}
		}
	case KindPropose:
		if m.ID.Sender == s.c.config().ID {
			s.proposal(m.ID, m.From, m.Prio)
		}
	case KindFinal:
		if m.ID.Sender == m.From {
			s.finalize(m.ID, m.Prio)
		}
	}
}

// proposal is the sender collecting priorities for its own message.
func (s *isis) proposal(id MsgID, from int, p Prio) {
	r := s.rounds[id]
	if r == nil {
		if from == s.c.config().ID {
			return
		}
		if p, ok := s.finals[id]; ok {
			s.c.send(from, Msg{Kind: KindFinal, ID: id, Prio: p}) // it missed the announcement
		}
		// (A message of an earlier incarnation of ours that died before
		// announcing it stays unannounced: the group stalls on it.)
		return
	}
	// Only first proposals before any push teach how slow the network is;
	// counting pushed or repeated ones would make the wait feed on itself.
	if lag := s.c.clock().Sub(r.started); !r.got[from] && r.lastPush == r.started && lag > s.lagMax {
		s.lagMax = lag
	}
	if from == s.c.config().ID && !r.got[from] {
		r.ownCopy = s.c.clock()
	}
	r.got[from] = true
	if r.best.Less(p) {
		r.best = p
	}
	s.maybeAnnounce(id, r)
}

func (s *isis) maybeAnnounce(id MsgID, r *proposalRound) {
	if len(r.got) < s.c.config().N {
		return // every member's proposal, or none
	}
	delete(s.rounds, id)
	s.finals[id] = r.best
	for _, p := range s.c.peerIDs() {
		s.c.send(p, Msg{Kind: KindFinal, ID: id, Prio: r.best})
	}
	s.finalize(id, r.best)
}

func (s *isis) finalize(id MsgID, p Prio) {
	if s.done[id] {
		return
	}
	e := s.entries[id]
	if e == nil {
		s.early[id] = p
		if s.announced.add(id) && s.c.hasContent(id) {
			s.arrived(id) // (takes the early priority)
		}
		return
	}
	s.bump(p.Count)
	e.prio, e.final = p, true
	heap.Fix(&s.queue, e.index)
	s.deliverReady()
}

func (s *isis) deliverReady() {
	for len(s.queue) > 0 && s.queue[0].final {
		e := heap.Pop(&s.queue).(*isisEntry)
		delete(s.entries, e.id)
		s.done[e.id] = true
		if !s.c.isStopped() {
			s.c.deliverNow(e.id)
		}
	}
}

func (s *isis) linkClosed(int) {}

func (s *isis) view(v *View) {
	if len(s.queue) == 0 || s.queue[0].final {
		return
	}
	id := s.queue[0].id
	if id.Sender != s.c.config().ID {
		if !s.c.reachable(id.Sender) {
			v.Waiting = fmt.Sprintf("waiting for Middleware %d to announce %s: isis waits for every member; raft does not", id.Sender, id.Text())
		}
		return
	}
	if r := s.rounds[id]; r != nil {
		for p := 1; p <= s.c.config().N; p++ {
			if !r.got[p] && !s.c.reachable(p) && p != s.c.config().ID {
				v.Waiting = fmt.Sprintf("waiting for Middleware %d's proposal: isis waits for every member; raft does not", p)
				return
			}
		}
	}
}

// maxPushesPerTick bounds how much content one tick pushes, so that a
// slow round under heavy load does not turn into a storm.
const maxPushesPerTick = 64

// pushDue is when the content of r's message is next pushed to members
// that have not proposed. A copy the network program may still deliver is
// late, not lost: when the network's maxSleepTime is known
// (Config.NetMaxSleep), the first push waits until the copies are overdue
// for it, counted from the sender's own copy (the network program had
// handled the message by then, and sends all its copies within
// maxSleepTime), or three times as long while that has not come: the
// original under mono can start a message's copies a minute late.
func (s *isis) pushDue(r *proposalRound, pushWait time.Duration) time.Time {
	if s.c.config().NetMaxSleep == 0 || r.lastPush != r.started {
		return r.lastPush.Add(pushWait)
	}
	if r.ownCopy.IsZero() {
		return r.started.Add(3 * pushWait)
	}
	return maxTime(r.started, r.ownCopy).Add(pushWait)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// tick pushes the content of a message to members that have not proposed
// for a while: the network lost their copy (or they started after it was
// sent), and without it they would never propose.
func (s *isis) tick() {
	// (Capped: a partition makes lags long, and repeating is cheap.)
	wait := min(max(2*s.lagMax+100*time.Millisecond, s.c.config().ResendAfter), 2*s.c.config().ResendAfter)
	// A head that stays without its final priority may have lost its
	// proposal or the announcement: propose again; the sender repeats.
	if len(s.queue) > 0 {
		if h := s.queue[0]; !h.final && s.c.clock().Sub(h.lastProposed) >= wait {
			s.propose(h)
		}
	}
	pushWait := max(wait, s.c.config().NetMaxSleep*3/2)
	for pushed := 0; len(s.pushQueue) > 0 && pushed < maxPushesPerTick; {
		id := s.pushQueue[0]
		r := s.rounds[id]
		if r == nil {
			s.pushQueue = s.pushQueue[1:] // announced meanwhile
			continue
		}
		if s.c.clock().Before(s.pushDue(r, pushWait)) {
			break
		}
		s.pushQueue = append(s.pushQueue[1:], id)
		r.lastPush = s.c.clock()
		pushed++
		for p := 1; p <= s.c.config().N; p++ {
			if r.got[p] {
				continue
			}
			if p == s.c.config().ID {
				if s.c.contentFromPeer(Message{ID: id, Body: s.c.body(id)}) {
					s.arrived(id)
				}
			} else {
				s.c.send(p, Msg{Kind: KindContent, ID: id, Text: MessageText(id, s.c.body(id))})
			}
		}
	}
}
