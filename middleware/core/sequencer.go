package core

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The textbook fixed sequencer: the group's highest id, whoever is alive.
//
// A sender hands its content to the network program and at the same moment
// sends the id straight to the sequencer (R). The sequencer numbers ids in
// the order it first hears of them from their own senders, makes each
// number durable, and sends (position, id) to every member (O). A member
// delivers position k once it has k's order, k-1 is delivered and k's
// network copy is here (or overdue: the order names the content). A member
// that sees a hole in the orders, or learns from the sequencer's heartbeat
// that it lacks some, asks for them again (G); a sender repeats requests
// that stay unanswered (the sequencer drops duplicates).
//
// Not fault tolerant, by design: without its sequencer the group stops and
// says so. A sequencer restarted with its state log goes on numbering
// where it stopped; a member restarted goes on delivering where it stopped.

// The sequencer's control messages.
const (
	KindRequest Kind = 'R' // please order my message ID
	KindOrder   Kind = 'O' // position Seq holds ID
	KindGap     Kind = 'G' // please send orders Seq..Hi again
)

func init() {
	registerKind(KindRequest, "Request", fieldID)
	registerKind(KindOrder, "Order", fieldSeq, fieldID)
	registerKind(KindGap, "Gap", fieldSeq, fieldHi)
}

func init() {
	registerProtocol(protocolSpec{name: Sequencer, leader: true, rank: 2, orders: true,
		summary: "the textbook fixed sequencer (the highest id): fast, stops without it",
		make:    func(c host) protocol { return newSequencer(c) }})
}

// recSeqOrder records one number the sequencer gave (sender, num), in
// position order; recSeqState is a compacted order (appendOrderState).
const (
	recSeqOrder = 'o'
	recSeqState = 'O'
)

// maxResend bounds the orders one gap request is answered with.
const maxResend = 4096

type sequencer struct {
	c      host
	leader int

	// At the sequencer: every id numbered, and how many since the state
	// log was last compacted.
	assigned     idSet
	sinceRewrite int

	// At members: orders that came ahead of a hole, and when the hole was
	// last asked for.
	early      map[uint64]MsgID
	lastGapAsk time.Time

	// Own messages not yet ordered.
	unordered pendingQueue
}

func newSequencer(c host) *sequencer {
	return &sequencer{
		c: c, leader: c.config().N,
		assigned:  make(idSet),
		early:     make(map[uint64]MsgID),
		unordered: newPendingQueue(),
	}
}

func (s *sequencer) isLeader() bool { return s.c.config().ID == s.leader }

func (s *sequencer) restore(recs [][]byte) error {
	c := s.c
	if !s.isLeader() {
		// A member goes on from what it delivered; orders after that come
		// again from the sequencer.
		c.resetOrder(c.deliveredCount(), c.deliveredCount()+1, nil)
		return nil
	}
	for _, rec := range recs {
		switch rec[0] {
		case recSeqState:
			assigned, err := c.loadOrderState(rec[1:])
			if err != nil {
				return fmt.Errorf("state log (sequencer): %w", err)
			}
			s.assigned = assigned
		case recSeqOrder:
			rd := &uvarintReader{b: rec[1:]}
			id := MsgID{Sender: int(rd.next()), Num: rd.next()}
			if !rd.ok() {
				return fmt.Errorf("state log (sequencer): bad order record")
			}
			if s.assigned.add(id) {
				c.ordered(c.positionsKnown()+1, id)
			}
		default:
			return fmt.Errorf("state log (sequencer): unknown record kind %q", rec[0])
		}
	}
	return nil
}

func (s *sequencer) sent(ids []MsgID) {
	for _, id := range ids {
		if s.isLeader() {
			s.assign(id)
			continue
		}
		s.unordered.add(id, s.c.clock())
		s.c.send(s.leader, Msg{Kind: KindRequest, ID: id})
	}
}

// assign gives id the next position: durable first, then announced.
func (s *sequencer) assign(id MsgID) {
	if !s.assigned.add(id) {
		return
	}
	c := s.c
	c.ordered(c.positionsKnown()+1, id)
	rec := binary.AppendUvarint([]byte{recSeqOrder}, uint64(id.Sender))
	c.persist(binary.AppendUvarint(rec, id.Num))
	for _, p := range c.peerIDs() {
		c.send(p, Msg{Kind: KindOrder, Seq: c.positionsKnown(), ID: id})
	}
	if s.sinceRewrite++; s.sinceRewrite >= snapEvery {
		s.sinceRewrite = 0
		c.rewrite([][]byte{c.appendOrderState([]byte{recSeqState}, s.assigned)})
	}
}

func (s *sequencer) arrived(MsgID) {}

// fillHeartbeat tells members how many positions the sequencer gave, so
// that one that missed orders asks again.
func (s *sequencer) fillHeartbeat(hb *Msg) {
	if s.isLeader() {
		hb.Seq = s.c.positionsKnown()
	}
}

func (s *sequencer) control(m Msg) {
	c := s.c
	switch m.Kind {
	case KindRequest:
		// Only a sender's own announcement orders its message.
		if s.isLeader() && m.ID.Sender == m.From {
			s.assign(m.ID)
		}
	case KindGap:
		if s.isLeader() {
			for pos := m.Seq; pos <= m.Hi && pos < m.Seq+maxResend; pos++ {
				if id, ok := c.orderAt(pos); ok {
					c.send(m.From, Msg{Kind: KindOrder, Seq: pos, ID: id})
				}
			}
		}
	case KindOrder:
		if m.From == s.leader {
			s.order(m.Seq, m.ID)
		}
	case KindHeartbeat:
		if m.From == s.leader && !s.isLeader() {
			if m.Seq < c.positionsKnown() {
				c.stop(fmt.Sprintf("sequencer %d restarted without its state (it reports %d orders, this middleware knows %d): restart the lab", s.leader, m.Seq, c.positionsKnown()))
			} else if m.Seq > c.positionsKnown() {
				s.askGap(m.Seq)
			}
		}
	}
}

// order takes the sequencer's word that pos holds id.
func (s *sequencer) order(pos uint64, id MsgID) {
	c := s.c
	if pos <= c.positionsKnown() {
		if known, ok := c.orderAt(pos); ok && known != id {
			c.stop(fmt.Sprintf("sequencer %d restarted without its state (position %d given twice): restart the lab", s.leader, pos))
		}
		return
	}
	if pos > c.positionsKnown()+1 {
		if len(s.early) < 1<<20 {
			s.early[pos] = id
		}
		s.askGap(pos - 1)
		return
	}
	s.take(id)
	for {
		next, ok := s.early[c.positionsKnown()+1]
		if !ok {
			break
		}
		delete(s.early, c.positionsKnown()+1)
		s.take(next)
	}
}

func (s *sequencer) take(id MsgID) {
	s.c.ordered(s.c.positionsKnown()+1, id)
	if id.Sender == s.c.config().ID {
		s.unordered.done(id)
	}
}

// askGap asks the sequencer for the orders after this middleware's up to
// hi, at most every 200 ms.
func (s *sequencer) askGap(hi uint64) {
	c := s.c
	if c.clock().Sub(s.lastGapAsk) < 200*time.Millisecond {
		return
	}
	s.lastGapAsk = c.clock()
	c.send(s.leader, Msg{Kind: KindGap, Seq: c.positionsKnown() + 1, Hi: hi})
}

func (s *sequencer) linkClosed(int) {}

// tick repeats requests that wait too long (lost with a broken link).
func (s *sequencer) tick() {
	c := s.c
	if s.isLeader() || !s.unordered.overdue(c.clock(), c.config().ResendAfter) {
		return
	}
	for _, id := range s.unordered.again(c.clock()) {
		c.send(s.leader, Msg{Kind: KindRequest, ID: id})
	}
}

func (s *sequencer) view(v *View) {
	v.Leader = s.leader
	if s.isLeader() || s.c.reachable(s.leader) {
		return
	}
	if s.c.everHeard(s.leader) {
		v.Waiting = fmt.Sprintf("sequencer %d lost: this protocol cannot continue without it; raft can", s.leader)
	} else {
		v.Waiting = fmt.Sprintf("waiting for sequencer %d", s.leader)
	}
}
