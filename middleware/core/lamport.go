package core

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"time"
)

// Lamport's totally ordered multicast (CACM 1978), the textbook version
// with acknowledgements: the algorithm of most student solutions.
//
// Every middleware keeps a Lamport clock. A sender hands its content to the
// network program and stamps each message with its clock, one tick per
// message, telling every member (L: messages ID.Num..Hi, the first stamped
// Prio.Count). A member that takes a stamp moves its clock past it and
// acknowledges to all (K: my clock, and how far I stamped my own). Each
// member holds the stamped messages in a queue ordered by (timestamp,
// sender) and orders the head once every other member has been heard from
// with a later timestamp: control links are FIFO and clocks only grow, so
// nothing can come later that sorts before it. The Core then delivers it
// when its network copy is here (or overdue: the stamp names the content).
//
// The rule needs every member's stamps without a hole, so stamps are
// numbered by the sender's message numbers; a member that sees a hole (a
// link that broke, a late start) asks for the stamps again (J), and the
// sender, which keeps its recent stamps durably, sends them with their
// original timestamps. A member waiting on a silent peer pokes it (an
// empty J) and the peer answers with an acknowledgement.
//
// Not fault tolerant, like isis and the sequencer: the order waits for
// every member, so a member that is down, paused or cut off stalls the
// group until it is back, and the status line names it. A restarted member
// has lost its queue, so it stops delivering and says so, but goes on
// acknowledging (its clock is reserved durably, so it never goes back) and
// answering for its stamps, so the others go on.

// Lamport's control messages.
const (
	KindStamp      Kind = 'L' // my messages ID.Num..Hi have timestamps Prio.Count, Prio.Count+1, …
	KindLamportAck Kind = 'K' // my clock is Prio.Count; my stamps run from ID.Num to Hi
	KindStampAsk   Kind = 'J' // send me your stamps ID.Num..Hi again, then an ack (an empty range: just the ack)
)

func init() {
	registerKind(KindStamp, "Stamp", fieldID, fieldHi, fieldPrio)
	registerKind(KindLamportAck, "LamportAck", fieldID, fieldHi, fieldPrio)
	registerKind(KindStampAsk, "StampAsk", fieldID, fieldHi)
	registerProtocol(protocolSpec{name: Lamport, rank: 4, orders: true,
		summary: "Lamport's clocks with acknowledgements to all: waits for every member",
		make:    func(c host) protocol { return newLamport(c) }})
}

// State log records: a batch of own stamps (first number, count, first
// timestamp) and the clock reserved so far.
const (
	recLamportStamps = 'l'
	recLamportClock  = 'k'
	recLamportFirst  = 'f' // the first number this member ever stamped
)

const (
	// clockBlock is how many clock values one state log record reserves.
	clockBlock = 1024
	// keepStamps is how many of its latest messages a sender can stamp
	// again for a member that missed them.
	keepStamps = 1 << 16
	// pokeEvery is how often a member waiting on peers pokes them.
	pokeEvery = 250 * time.Millisecond
	// maxStampRange bounds the ids of one stamp message.
	maxStampRange = 1 << 16
)

type stampBatch struct {
	first, count, ts uint64
}

type lamportEntry struct {
	id MsgID
	ts Prio // (timestamp, sender)
}

type stampQueue []lamportEntry

func (q stampQueue) Len() int           { return len(q) }
func (q stampQueue) Less(i, j int) bool { return q[i].ts.Less(q[j].ts) }
func (q stampQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *stampQueue) Push(x any)        { *q = append(*q, x.(lamportEntry)) }
func (q *stampQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type lamportPeer struct {
	have uint64 // its stamps 1..have are here (or before its first)
	// next: every stamp still to come from it is at least this.
	next uint64
	// An ack that named stamps not here yet: applied once they are.
	pendClock, pendHi uint64
	pendAck           bool
	lastAsk           time.Time
}

type lamport struct {
	c        host
	clock    uint64
	reserved uint64
	queue    stampQueue
	peers    map[int]*lamportPeer

	// Own stamps, oldest first, kept for members that missed them.
	mine         []stampBatch
	firstNum     uint64 // the first number this member ever stamped
	lastNum      uint64 // the last
	sinceRewrite int
	stuckSince   time.Time // when the head last became unstable
	lastPoke     time.Time
}

func newLamport(c host) *lamport {
	l := &lamport{c: c, peers: make(map[int]*lamportPeer)}
	for _, p := range c.peerIDs() {
		l.peers[p] = &lamportPeer{}
	}
	return l
}

func (l *lamport) restore(recs [][]byte) error {
	for _, rec := range recs {
		rd := &uvarintReader{b: rec[1:]}
		switch rec[0] {
		case recLamportClock:
			l.clock = max(l.clock, rd.next())
		case recLamportFirst:
			l.firstNum = rd.next()
		case recLamportStamps:
			b := stampBatch{first: rd.next(), count: rd.next(), ts: rd.next()}
			if rd.ok() {
				l.keep(b)
			}
		default:
			return fmt.Errorf("state log (lamport): unknown record kind %q (a state folder of another protocol? delete it or use that protocol)", rec[0])
		}
		if !rd.ok() {
			return fmt.Errorf("state log (lamport): bad %q record", rec[0])
		}
	}
	l.reserved = l.clock
	if l.c.restarted() {
		l.c.stop("restarted: lamport cannot take up its place in the order again (it still acknowledges, so the others go on); raft can")
	}
	return nil
}

// keep remembers an own stamp batch (dropping the oldest beyond keepStamps).
func (l *lamport) keep(b stampBatch) {
	if l.firstNum == 0 {
		l.firstNum = b.first
		l.c.persist(uvarintRecord(recLamportFirst, b.first))
	}
	l.mine = append(l.mine, b)
	l.lastNum = max(l.lastNum, b.first+b.count-1)
	l.clock = max(l.clock, b.ts+b.count-1)
	for len(l.mine) > 1 && l.mine[0].first+l.mine[0].count-1+keepStamps < l.lastNum {
		l.mine = l.mine[1:]
	}
}

// bump raises the clock to at least v, reserving values durably first.
func (l *lamport) bump(v uint64) {
	l.clock = max(l.clock, v)
	if l.clock > l.reserved {
		l.reserved = l.clock + clockBlock
		l.c.persist(uvarintRecord(recLamportClock, l.reserved))
	}
}

func (l *lamport) sent(ids []MsgID) {
	c := l.c
	for len(ids) > 0 {
		k := 1
		for k < len(ids) && ids[k].Num == ids[k-1].Num+1 && k < maxStampRange {
			k++
		}
		b := stampBatch{first: ids[0].Num, count: uint64(k), ts: l.clock + 1}
		l.bump(l.clock + uint64(k))
		l.keep(b)
		rec := binary.AppendUvarint([]byte{recLamportStamps}, b.first)
		rec = binary.AppendUvarint(rec, b.count)
		c.persist(binary.AppendUvarint(rec, b.ts))
		for i, id := range ids[:k] {
			heap.Push(&l.queue, lamportEntry{id: id, ts: Prio{Count: b.ts + uint64(i), Node: c.config().ID}})
		}
		for _, p := range c.peerIDs() {
			c.send(p, l.stampMsg(b))
		}
		ids = ids[k:]
	}
	if l.sinceRewrite++; l.sinceRewrite >= 4096 {
		l.rewrite()
	}
	l.orderStable()
}

// rewrite compacts the state log to the clock and the kept stamps.
func (l *lamport) rewrite() {
	l.sinceRewrite = 0
	recs := [][]byte{uvarintRecord(recLamportClock, l.reserved), uvarintRecord(recLamportFirst, l.firstNum)}
	for _, b := range l.mine {
		rec := binary.AppendUvarint([]byte{recLamportStamps}, b.first)
		rec = binary.AppendUvarint(rec, b.count)
		recs = append(recs, binary.AppendUvarint(rec, b.ts))
	}
	l.c.rewrite(recs)
}

func (l *lamport) stampMsg(b stampBatch) Msg {
	return Msg{Kind: KindStamp, ID: MsgID{Sender: l.c.config().ID, Num: b.first}, Hi: b.first + b.count - 1, Prio: Prio{Count: b.ts, Node: l.c.config().ID}}
}

func (l *lamport) ack() Msg {
	first := l.firstNum
	if first == 0 {
		first = l.c.nextNumber() // nothing stamped yet: nothing below the next
	}
	return Msg{Kind: KindLamportAck, ID: MsgID{Sender: l.c.config().ID, Num: first}, Hi: l.lastNum, Prio: Prio{Count: l.clock, Node: l.c.config().ID}}
}

func (l *lamport) ackAll() {
	m := l.ack()
	for _, p := range l.c.peerIDs() {
		l.c.send(p, m)
	}
}

func (l *lamport) arrived(MsgID) {}

// fillHeartbeat names the last stamp, so that a member that lost some
// (a link that broke) asks for them even when nothing else is sent.
func (l *lamport) fillHeartbeat(hb *Msg) { hb.Hi = l.lastNum }

func (l *lamport) control(m Msg) {
	p := l.peers[m.From]
	if p == nil {
		return
	}
	switch m.Kind {
	case KindStamp:
		if m.ID.Sender != m.From || m.Hi < m.ID.Num || m.Hi-m.ID.Num >= maxStampRange || m.Prio.Node != m.From {
			return
		}
		if m.ID.Num > p.have+1 {
			l.askFor(m.From, p, m.Hi) // a hole: these come again with it
			return
		}
		for num := max(m.ID.Num, p.have+1); num <= m.Hi; num++ {
			heap.Push(&l.queue, lamportEntry{id: MsgID{Sender: m.From, Num: num}, ts: Prio{Count: m.Prio.Count + (num - m.ID.Num), Node: m.From}})
		}
		if m.Hi <= p.have {
			return // a repeat
		}
		p.have = m.Hi
		last := m.Prio.Count + (m.Hi - m.ID.Num)
		p.next = max(p.next, last+1)
		l.bump(last)
		if p.pendAck && p.have >= p.pendHi {
			p.pendAck = false
			p.next = max(p.next, p.pendClock+1)
		}
		l.ackAll()
	case KindLamportAck:
		if m.ID.Sender != m.From {
			return
		}
		if m.ID.Num > 0 && p.have < m.ID.Num-1 {
			p.have = m.ID.Num - 1 // it stamped nothing below its first
		}
		if m.Hi > p.have {
			if !p.pendAck || m.Prio.Count > p.pendClock {
				p.pendAck, p.pendClock, p.pendHi = true, m.Prio.Count, m.Hi
			}
			l.askFor(m.From, p, m.Hi)
			return
		}
		p.next = max(p.next, m.Prio.Count+1)
	case KindHeartbeat:
		if m.Hi > p.have {
			l.askFor(m.From, p, m.Hi) // stamps lost with a broken link
		}
	case KindStampAsk:
		l.resend(m.From, m.ID.Num, m.Hi)
		l.c.send(m.From, l.ack())
	}
	l.orderStable()
}

// askFor asks peer for its stamps after the ones here, up to hi (at most
// every pokeEvery).
func (l *lamport) askFor(peer int, p *lamportPeer, hi uint64) {
	if l.c.clock().Sub(p.lastAsk) < pokeEvery {
		return
	}
	p.lastAsk = l.c.clock()
	l.c.send(peer, Msg{Kind: KindStampAsk, ID: MsgID{Sender: peer, Num: p.have + 1}, Hi: hi})
}

// resend sends peer the own stamps of numbers lo..hi still kept.
func (l *lamport) resend(peer int, lo, hi uint64) {
	for _, b := range l.mine {
		from, to := max(lo, b.first), min(hi, b.first+b.count-1)
		if from > to {
			continue
		}
		part := stampBatch{first: from, count: to - from + 1, ts: b.ts + (from - b.first)}
		l.c.send(peer, l.stampMsg(part))
	}
}

// stable reports whether no stamp still to come can sort before e: every
// peer's next stamp is later (this member's own next is past its clock).
func (l *lamport) stable(e lamportEntry) bool {
	for id, p := range l.peers {
		if !e.ts.Less(Prio{Count: p.next, Node: id}) {
			return false
		}
	}
	return true
}

// orderStable gives the next positions to the stable heads of the queue.
func (l *lamport) orderStable() {
	c := l.c
	for len(l.queue) > 0 && l.stable(l.queue[0]) {
		e := heap.Pop(&l.queue).(lamportEntry)
		if !c.isStopped() { // (a stopped member only acknowledges)
			c.ordered(c.positionsKnown()+1, e.id)
		}
		l.stuckSince = time.Time{}
	}
	if len(l.queue) > 0 && l.stuckSince.IsZero() {
		l.stuckSince = c.clock()
	}
}

func (l *lamport) linkClosed(int) {}

// tick pokes the peers that keep the head waiting: a lost stamp or ack
// (a link that broke) comes again with the answer.
func (l *lamport) tick() {
	if len(l.queue) == 0 || l.c.clock().Sub(l.stuckSince) < pokeEvery || l.c.clock().Sub(l.lastPoke) < pokeEvery {
		return
	}
	l.lastPoke = l.c.clock()
	head := l.queue[0]
	for _, id := range l.c.peerIDs() {
		p := l.peers[id]
		if !head.ts.Less(Prio{Count: p.next, Node: id}) {
			// Our ack first: it names our last stamp, so a peer that
			// missed some asks for them before it answers.
			l.c.send(id, l.ack())
			l.c.send(id, Msg{Kind: KindStampAsk, ID: MsgID{Sender: id, Num: p.have + 1}, Hi: max(p.have, p.pendHi)})
		}
	}
}

func (l *lamport) view(v *View) {
	if len(l.queue) == 0 || l.c.clock().Sub(l.stuckSince) < time.Second {
		return
	}
	head := l.queue[0]
	for _, id := range l.c.peerIDs() {
		if !head.ts.Less(Prio{Count: l.peers[id].next, Node: id}) {
			how := "to acknowledge"
			if !l.c.reachable(id) {
				how = "(silent) to acknowledge"
			}
			v.Waiting = fmt.Sprintf("waiting for Middleware %d %s %s: lamport waits for every member; raft does not", id, how, head.id.Text())
			return
		}
	}
}
