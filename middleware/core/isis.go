package core

import (
	"container/heap"
	"sort"
	"time"
)

// Birman's ISIS agreed priorities, the usual solution to this lab and the
// baseline the sequencer is measured against.
//
// When content arrives, a middleware proposes a priority one above every
// priority it has proposed or seen agreed (ties broken by its id) and sends
// it to the sender (P). The sender waits for a proposal from every member
// of its current view, takes the maximum and announces it (A). Messages are
// held in priority order and the head is delivered once its priority is
// final. Ordering therefore waits for the slowest copy of each message to
// arrive everywhere, plus a round trip.
//
// Crashes: proposals are awaited only from the current view, so a silent
// member never blocks senders; a message from a sender that left the view
// before announcing its priority is dropped from the hold-back queue so it
// cannot block delivery forever. (A sender that dies in the middle of
// announcing can leave survivors disagreeing about that one message: the
// price of the textbook algorithm without a membership protocol.)

// abandoned, as a final priority, withdraws a message whose sender died
// before announcing it (sent by the sender's next incarnation).
var abandoned = Prio{}

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
}

type isis struct {
	c         *Core
	counter   uint64 // highest priority count proposed or agreed here
	queue     holdBack
	entries   map[MsgID]*isisEntry
	early     map[MsgID]Prio // final priorities that came before the content
	rounds    map[MsgID]*proposalRound
	pushQueue []MsgID        // open rounds, oldest push first
	finals    map[MsgID]Prio // priorities this sender announced, to repeat if asked
	done      map[MsgID]bool // delivered or dropped
	delivered uint64
	lagMax    time.Duration // longest wait for a proposal seen so far
}

func newISIS(c *Core) *isis {
	return &isis{
		c:       c,
		entries: make(map[MsgID]*isisEntry),
		early:   make(map[MsgID]Prio),
		rounds:  make(map[MsgID]*proposalRound),
		finals:  make(map[MsgID]Prio),
		done:    make(map[MsgID]bool),
	}
}

func (s *isis) pending() int { return len(s.queue) }

func (s *isis) sent(id MsgID) {
	s.rounds[id] = &proposalRound{got: make(map[int]bool), started: s.c.now, lastPush: s.c.now}
	s.pushQueue = append(s.pushQueue, id)
}

func (s *isis) contentArrived(id MsgID) {
	if s.done[id] {
		return
	}
	if s.entries[id] != nil {
		return
	}
	if p := s.c.peers[id.Sender]; p != nil && !p.alive {
		// A late copy from a sender that left the view: nobody would
		// ever announce its priority, so it must not enter the queue.
		s.done[id] = true
		return
	}
	s.counter++
	e := &isisEntry{id: id, prio: Prio{Count: s.counter, Node: s.c.cfg.ID}}
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
	e.lastProposed = s.c.now
	if e.id.Sender == s.c.cfg.ID {
		s.proposal(e.id, s.c.cfg.ID, e.prio)
	} else {
		s.c.send(e.id.Sender, Msg{Kind: KindPropose, ID: e.id, Prio: e.prio})
	}
}

func (s *isis) control(m Msg) {
	switch m.Kind {
	case KindPropose:
		if m.ID.Sender == s.c.cfg.ID {
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
		if from == s.c.cfg.ID {
			return
		}
		if p, ok := s.finals[id]; ok {
			s.c.send(from, Msg{Kind: KindFinal, ID: id, Prio: p}) // it missed the announcement
		} else if s.c.firstNum == 0 || id.Num < s.c.firstNum {
			// A message of an earlier incarnation of ours, which died
			// before announcing it: nobody else can, so abandon it.
			s.c.send(from, Msg{Kind: KindFinal, ID: id, Prio: abandoned})
		}
		return
	}
	// Only first proposals before any push teach how slow the network is;
	// counting pushed or repeated ones would make the wait feed on itself.
	if lag := s.c.now.Sub(r.started); !r.got[from] && r.lastPush == r.started && lag > s.lagMax {
		s.lagMax = lag
	}
	r.got[from] = true
	if r.best.Less(p) {
		r.best = p
	}
	s.maybeAnnounce(id, r)
}

func (s *isis) maybeAnnounce(id MsgID, r *proposalRound) {
	for _, p := range s.c.aliveIDs() {
		if !r.got[p] {
			return
		}
	}
	delete(s.rounds, id)
	s.finals[id] = r.best
	for _, p := range s.c.aliveIDs() {
		if p != s.c.cfg.ID {
			s.c.send(p, Msg{Kind: KindFinal, ID: id, Prio: r.best})
		}
	}
	s.finalize(id, r.best)
}

func (s *isis) finalize(id MsgID, p Prio) {
	if s.done[id] {
		return
	}
	if p == abandoned {
		if e := s.entries[id]; e != nil && !e.final {
			heap.Remove(&s.queue, e.index)
			delete(s.entries, id)
		}
		s.done[id] = true
		s.deliverReady()
		return
	}
	e := s.entries[id]
	if e == nil {
		s.early[id] = p
		return
	}
	if p.Count > s.counter {
		s.counter = p.Count
	}
	e.prio, e.final = p, true
	heap.Fix(&s.queue, e.index)
	s.deliverReady()
}

func (s *isis) deliverReady() {
	for len(s.queue) > 0 && s.queue[0].final {
		e := heap.Pop(&s.queue).(*isisEntry)
		delete(s.entries, e.id)
		s.done[e.id] = true
		s.delivered++
		s.c.deliver(e.id, s.delivered)
	}
}

func (s *isis) peerDown(p int) {
	// Rounds no longer wait for p.
	ids := make([]MsgID, 0, len(s.rounds))
	for id := range s.rounds {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Num < ids[j].Num })
	for _, id := range ids {
		s.maybeAnnounce(id, s.rounds[id])
	}
	// Messages of p without a final priority would block forever.
	for id, e := range s.entries {
		if id.Sender == p && !e.final {
			heap.Remove(&s.queue, e.index)
			delete(s.entries, id)
			s.done[id] = true
		}
	}
	s.deliverReady()
}

// maxPushesPerTick bounds how much content one tick pushes, so that a
// slow round under heavy load does not turn into a storm.
const maxPushesPerTick = 64

// tick pushes the content of a message to members that have not proposed
// for a while: the network lost their copy (or they started after it was
// sent), and without it they would never propose.
func (s *isis) tick() {
	wait := 2*s.lagMax + 100*time.Millisecond
	if wait < s.c.cfg.FetchAfter {
		wait = s.c.cfg.FetchAfter
	}
	// A head that stays without its final priority may have lost its
	// proposal or the announcement: propose again; the sender repeats.
	if len(s.queue) > 0 {
		if h := s.queue[0]; !h.final && s.c.now.Sub(h.lastProposed) >= wait {
			s.propose(h)
		}
	}
	for pushed := 0; len(s.pushQueue) > 0 && pushed < maxPushesPerTick; {
		id := s.pushQueue[0]
		r := s.rounds[id]
		if r == nil {
			s.pushQueue = s.pushQueue[1:] // announced meanwhile
			continue
		}
		if s.c.now.Sub(r.lastPush) < wait {
			break
		}
		s.pushQueue = append(s.pushQueue[1:], id)
		r.lastPush = s.c.now
		pushed++
		for _, p := range s.c.aliveIDs() {
			if r.got[p] {
				continue
			}
			if p == s.c.cfg.ID {
				s.c.contentArrived(id, true)
			} else {
				s.c.send(p, Msg{Kind: KindContent, ID: id, Text: id.Text()})
			}
		}
	}
}
