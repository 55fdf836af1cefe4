package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Core is one middleware's protocol state. Not safe for concurrent use: one
// goroutine (the adapter's loop) owns it.
type Core struct {
	cfg   Config
	proto protocol
	out   Output
	now   time.Time

	// Numbering and pacing of this middleware's own messages.
	nextNum   uint64 // last message number used, by any incarnation
	numDirty  bool   // nextNum changed since it was last persisted
	heldSends int    // sends waiting for room (see maxOutstanding)
	// heldBodies are application messages waiting for room, sent before
	// the held plain ones.
	heldBodies []string
	ownSentAt  map[MsgID]time.Time
	// bodies holds the bodies of messages not yet delivered here (own,
	// arrived, or announced by their sender with KindBody).
	bodies map[MsgID]string

	// Network copies: every id that arrived (or was recovered) once, and
	// those among them not yet delivered, with their arrival time.
	received idSet
	held     map[MsgID]time.Time

	// The order: positions 1..positions are known; the ids of positions
	// orderBase.. are kept (every undelivered one and a window before).
	order     []MsgID
	orderBase uint64
	positions uint64
	delivered uint64 // positions delivered here (the Ready seq)
	delDirty  bool   // delivered changed since it was last persisted
	// orderedAt[i] is when position delivered+1+i was ordered here: its
	// network copy is overdue a while after that.
	orderedAt []time.Time
	maxDelay  time.Duration // longest network delay observed
	// recoveredAt holds, for messages recovered from the order lately,
	// when they were ordered: a copy that still comes shows the network
	// is slower than thought (its maxSleepTime was raised), and the wait
	// grows with it. Bounded by maxRecoveredWatched.
	recoveredAt map[MsgID]time.Time
	// Evidence that the network program has handled the head of the order
	// (position evidFor): when a copy of a message ordered after it arrived
	// here (evidAt; zero: none yet), positions up to evidScanned looked at.
	evidFor, evidScanned uint64
	evidAt               time.Time
	stopped              string // why this middleware stopped delivering, for good
	wasRestarted         bool   // it restored an earlier incarnation's state
	peers                map[int]*peerState
	nextHB               time.Time
	agree                agreement // the live agreement check (agreement.go)
	id                   identity  // the state's identity and the peers' (identity.go)
	preJoin              []MsgID   // content that arrived before this member took part
	counts               struct{ sent, received, ready, recovered, foreign, control int }
	ownReady             int
	lastPruned           time.Time
}

type peerState struct {
	heard     bool
	lastHeard time.Time
}

// New makes the state machine for one middleware started at now. It fails
// only on a state log it cannot read.
func New(cfg Config, now time.Time) (*Core, error) {
	cfg.withDefaults()
	c := &Core{
		cfg:         cfg,
		now:         now,
		nextNum:     cfg.LastNum,
		ownSentAt:   make(map[MsgID]time.Time),
		received:    make(idSet),
		held:        make(map[MsgID]time.Time),
		recoveredAt: make(map[MsgID]time.Time),
		bodies:      make(map[MsgID]string),
		orderBase:   1,
		peers:       make(map[int]*peerState),
	}
	for p := 1; p <= cfg.N; p++ {
		if p != cfg.ID {
			c.peers[p] = &peerState{}
		}
	}
	c.agree.init(c)
	c.id.init(c)
	c.proto = newProtocol(c)
	if err := c.restore(cfg.Restored); err != nil {
		return nil, err
	}
	c.id.start(c)
	return c, nil
}

// Durable records: the first byte says whose and what. The core's own are
// 'n' (the last message number used) and 'd' (positions delivered); the
// protocols own the rest (see their files).
const (
	recNum       = 'n'
	recDelivered = 'd'
)

func (c *Core) restore(recs [][]byte) error {
	c.wasRestarted = len(recs) > 0
	var mine [][]byte
	var hash uint64
	haveHash := false
	for _, r := range recs {
		if len(r) == 0 {
			return errors.New("state log: empty record")
		}
		if ok, err := c.id.restoreRecord(c, r); ok {
			if err != nil {
				return err
			}
			continue
		}
		switch r[0] {
		case recNum, recDelivered, recHash:
			v, k := binary.Uvarint(r[1:])
			if k <= 0 {
				return fmt.Errorf("state log: bad %q record", r[0])
			}
			switch r[0] {
			case recNum:
				c.nextNum = max(c.nextNum, v)
			case recDelivered:
				c.delivered = max(c.delivered, v)
				haveHash = false // (its hash record follows it)
			default:
				hash, haveHash = v, true
			}
		default:
			mine = append(mine, r)
		}
	}
	c.agree.restored(c.delivered, hash, haveHash)
	return c.proto.restore(mine)
}

func uvarintRecord(kind byte, v uint64) []byte {
	return binary.AppendUvarint([]byte{kind}, v)
}

// persist asks for rec to be made durable before this output goes out.
func (c *Core) persist(rec []byte) { c.out.Persist = append(c.out.Persist, rec) }

// rewrite replaces the state log with the core's marks and recs.
func (c *Core) rewrite(recs [][]byte) {
	c.out.Persist = append(c.out.Persist[:0], uvarintRecord(recNum, c.nextNum), uvarintRecord(recDelivered, c.delivered))
	if c.agree.known {
		c.out.Persist = append(c.out.Persist, uvarintRecord(recHash, c.agree.hash))
	}
	c.out.Persist = append(c.out.Persist, c.id.records(c)...)
	c.out.Persist = append(c.out.Persist, recs...)
	c.out.Rewrite = true
	c.numDirty, c.delDirty = false, false
}

// ID is this middleware's id.
func (c *Core) ID() int { return c.cfg.ID }

// maxOutstanding bounds this middleware's own messages sent but not yet
// delivered here. Sends beyond it wait, so a burst of "send 100000" paces
// itself to the group instead of flooding every queue.
const maxOutstanding = 4096

// Send multicasts count new messages (the user clicked Send).
func (c *Core) Send(now time.Time, count int) {
	c.now = now
	if count > 0 {
		c.heldSends += count
		c.flushHeldSends()
	}
}

// SendText multicasts one application message with body (the auction's
// "Bid 130 on Lamp"): its text is "Msg #k from Middleware i: body". The
// body also goes to every peer on the control path (KindBody), so that a
// member whose network copy is overdue delivers it whole.
func (c *Core) SendText(now time.Time, body string) error {
	c.now = now
	if err := CheckBody(body); err != nil {
		return err
	}
	c.heldBodies = append(c.heldBodies, body)
	c.flushHeldSends()
	return nil
}

func (c *Core) flushHeldSends() {
	if (c.heldSends == 0 && len(c.heldBodies) == 0) || c.stopped != "" || !c.id.takesPart() {
		return
	}
	room := maxOutstanding - (c.counts.sent - c.ownReady)
	nb := min(len(c.heldBodies), max(room, 0))
	n := min(c.heldSends, room-nb)
	if n+nb <= 0 {
		return
	}
	ids := make([]MsgID, n+nb)
	for i := range ids {
		c.nextNum++
		id := MsgID{Sender: c.cfg.ID, Num: c.nextNum}
		ids[i] = id
		body := ""
		if i < nb {
			body = c.heldBodies[i]
			c.bodies[id] = body
			for _, p := range c.peerIDs() {
				c.send(p, Msg{Kind: KindBody, ID: id, Text: body})
			}
		}
		c.ownSentAt[id] = c.now
		c.counts.sent++
		c.out.Notes = append(c.out.Notes, Note{Kind: NoteSent, ID: id, Body: body, At: c.now})
		c.out.ToNetwork = append(c.out.ToNetwork, Message{ID: id, Body: body})
	}
	c.heldBodies = c.heldBodies[nb:]
	c.heldSends -= n
	c.numDirty = true // (persisted before the content leaves: see Output)
	c.proto.sent(ids)
}

// body is id's body, if it has one and it is known here.
func (c *Core) body(id MsgID) string { return c.bodies[id] }

// learnBody keeps the body of id, unless id was delivered here already.
func (c *Core) learnBody(id MsgID, body string) {
	if body == "" || CheckBody(body) != nil {
		return
	}
	if _, known := c.bodies[id]; known {
		return
	}
	if _, here := c.held[id]; here || !c.received.has(id) {
		c.bodies[id] = body
	}
}

// DataIn takes one message that arrived from the network program.
// Content that is not exactly a lab message of this group ("Msg #k from
// Middleware i", or with ": body", i in 1..N) is foreign: a student's
// middleware's (which adds a timestamp after the id), the lab skeleton's,
// or garbage. It shows in Received as it arrived (the first
// maxForeignShown of it), is never ordered or delivered, and DataIn
// returns a *ForeignContentError for the adapter's log. A lab message
// nobody announces shows in Received and waits for an order that never
// comes.
func (c *Core) DataIn(now time.Time, text string) error {
	c.now = now
	msg, ok := ParseMessage(text)
	id := msg.ID
	if !ok || id.Sender > c.cfg.N {
		c.counts.foreign++
		if c.counts.foreign <= maxForeignShown {
			c.counts.received++
			c.out.Notes = append(c.out.Notes, Note{Kind: NoteReceived, Body: text, At: now, Foreign: true})
		}
		return &ForeignContentError{Text: text}
	}
	if !c.received.add(id) {
		// A duplicate copy, or one that came after its recovery: late,
		// not lost, so the network is slower than the wait assumed.
		if at, ok := c.recoveredAt[id]; ok {
			c.observeDelay(now.Sub(at))
			delete(c.recoveredAt, id)
		}
		return nil
	}
	c.held[id] = now
	c.learnBody(id, msg.Body)
	if at, ok := c.ownSentAt[id]; ok {
		c.observeDelay(now.Sub(at))
		delete(c.ownSentAt, id)
	}
	c.counts.received++
	c.out.Notes = append(c.out.Notes, Note{Kind: NoteReceived, ID: id, Body: c.body(id), At: now})
	if pos, ok := c.undeliveredPos(id); ok {
		c.observeDelay(now.Sub(c.orderedAt[pos-c.delivered-1]))
		if pos > c.evidFor && c.evidFor == c.delivered+1 && c.evidAt.IsZero() {
			c.evidAt = now
		}
	}
	if c.id.takesPart() {
		c.proto.arrived(id)
	} else if len(c.preJoin) < 1<<16 {
		c.preJoin = append(c.preJoin, id)
	}
	c.deliverReady()
	return nil
}

// maxForeignShown bounds the foreign entries shown in Received, so that a
// flood of garbage cannot grow the lists without end; the rest are only
// counted (View.Foreign).
const maxForeignShown = 1000

// ForeignContentError reports data that is not "Msg #k from Middleware i"
// of this group: shown in Received, never delivered.
type ForeignContentError struct{ Text string }

func (e *ForeignContentError) Error() string {
	return "not a lab message (want \"Msg #k from Middleware i\" with i in the group and k below 10^18), shown in Received but never delivered: " + quoteShort(e.Text)
}

func quoteShort(s string) string {
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	b := []byte{'"'}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			b = append(b, '?')
		} else {
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}

// contentFromPeer takes content a peer pushed (ISIS: the sender, to a
// member whose network copy is missing). It counts as received, recovered.
func (c *Core) contentFromPeer(m Message) bool {
	if !c.received.add(m.ID) {
		return false
	}
	c.held[m.ID] = c.now
	c.learnBody(m.ID, m.Body)
	c.counts.received++
	c.counts.recovered++
	c.out.Notes = append(c.out.Notes, Note{Kind: NoteReceived, ID: m.ID, Body: c.body(m.ID), At: c.now, Recovered: true})
	return true
}

// hasContent reports whether id's content is here, not yet delivered.
func (c *Core) hasContent(id MsgID) bool {
	_, ok := c.held[id]
	return ok
}

func (c *Core) observeDelay(d time.Duration) {
	if d > c.maxDelay {
		c.maxDelay = d
	}
}

// headCopyLost reports whether the network copy of the head of the order
// (not here) is lost rather than late. A network program can fall far
// behind its maxSleepTime: the original, under mono, starts a message's
// copies up to a minute after its send when messages come in a burst. But
// it handles messages in the order they come, and sends all the copies of
// one within maxSleepTime of starting. So once a copy of a message ordered
// after the head has arrived here, the head's copy is due within that
// (twice it, with room) of it; with no such copy yet, the network
// program may still be behind, and the head waits three times as long as
// the network's maxSleepTime allows (when known), never less than
// recoverWait.
func (c *Core) headCopyLost() bool {
	wait, since := c.recoverWait(), c.now.Sub(c.orderedAt[0])
	if since < wait {
		return false
	}
	if at, ok := c.laterArrival(); ok {
		// Twice maxSleepTime: messages sent at about the same time may be
		// handled in the other order (the original, after its accept loop
		// was blocked, took them up half a second apart).
		return c.now.Sub(at) >= max(wait, 2*c.cfg.NetMaxSleep)
	}

	return since >= max(wait, 3*c.cfg.NetMaxSleep*3/2)
}

// laterArrival is when a copy of a message ordered after the head arrived
// here, if one has. Positions are looked at once per head (a copy that
// arrives later is noted by DataIn), so a long backlog costs nothing per
// tick.
func (c *Core) laterArrival() (time.Time, bool) {
	if p := c.delivered + 1; c.evidFor != p {
		c.evidFor, c.evidScanned, c.evidAt = p, p, time.Time{}
	}
	for c.evidAt.IsZero() && c.evidScanned < c.positions {
		c.evidScanned++
		if id, ok := c.orderAt(c.evidScanned); ok {
			if at, held := c.held[id]; held {
				c.evidAt = at
			}
		}
	}
	return c.evidAt, !c.evidAt.IsZero()
}

// maxRecoveredWatched bounds the recovered messages whose late copies
// are still watched for (Core.recoveredAt).
const maxRecoveredWatched = 1024

// recoverWait is how long the head of the order waits for its network
// copy before taking it for lost: never less than the longest delay the
// network program may give (its maxSleepTime, when known) or that was
// seen, with room to spare. Only then is a missing copy lost rather than
// late.
func (c *Core) recoverWait() time.Duration {
	return max(c.cfg.RecoverAfter, c.cfg.NetMaxSleep*3/2, c.maxDelay*3/2+100*time.Millisecond)
}

// ordered records that position pos holds id; positions come one by one,
// in order, from the protocol (which has removed duplicate ids).
func (c *Core) ordered(pos uint64, id MsgID) {
	if pos != c.positions+1 {
		panic(fmt.Sprintf("core: position %d ordered after %d", pos, c.positions))
	}
	if pos > c.delivered {
		c.orderedAt = append(c.orderedAt, c.now)
	}
	c.positions = pos
	c.order = append(c.order, id)
	c.trimOrder()
}

// orderWindow is how many delivered positions the core keeps: what a
// snapshot carries, and how far back a peer can ask for orders again.
const orderWindow = 1 << 17

func (c *Core) trimOrder() {
	keepFrom := c.orderBase
	if first := min(c.delivered+1, c.positions+1); first > orderWindow {
		keepFrom = max(keepFrom, first-orderWindow)
	}
	// Trim in large steps so that appends stay amortised.
	if cut := keepFrom - c.orderBase; cut > orderWindow/4 {
		c.order = append(c.order[:0:0], c.order[cut:]...)
		c.orderBase = keepFrom
	}
}

// orderAt is the id at position pos, if still kept.
func (c *Core) orderAt(pos uint64) (MsgID, bool) {
	if pos < c.orderBase || pos > c.positions {
		return MsgID{}, false
	}
	return c.order[pos-c.orderBase], true
}

// recentOrder is the kept window: its first position and ids.
func (c *Core) recentOrder() (uint64, []MsgID) { return c.orderBase, c.order }

// resetOrder installs an order known only from a snapshot: positions up to
// last, of which the ids from base on.
func (c *Core) resetOrder(last, base uint64, ids []MsgID) {
	c.positions = last
	c.orderBase = base
	c.order = append(c.order[:0:0], ids...)
	c.evidFor = 0 // positions renumbered: look again
	c.orderedAt = c.orderedAt[:0]
	for pos := c.delivered + 1; pos <= last; pos++ {
		c.orderedAt = append(c.orderedAt, c.now)
	}
	if c.delivered > last && !c.id.rejoining {
		// A state log from another lab, or one rolled back by hand.
		c.stop(fmt.Sprintf("state log says %d delivered but the order has only %d: delete this middleware's state folder", c.delivered, last))
		return
	}
	if c.delivered+1 < base && c.delivered < last {
		c.stop(fmt.Sprintf("fell too far behind: positions %d–%d were compacted away by the group; restart this middleware with a fresh state folder", c.delivered+1, base-1))
	}
}

// undeliveredPos finds id among the positions ordered but not delivered,
// looking at the first few only (what a delay measurement needs).
func (c *Core) undeliveredPos(id MsgID) (uint64, bool) {
	for pos := c.delivered + 1; pos <= c.positions && pos <= c.delivered+64; pos++ {
		if x, ok := c.orderAt(pos); ok && x == id {
			return pos, true
		}
	}
	return 0, false
}

func (c *Core) head() (MsgID, bool) {
	if c.delivered >= c.positions || c.stopped != "" {
		return MsgID{}, false
	}
	return c.orderAt(c.delivered + 1)
}

// deliverReady delivers, in order, every position whose content is here,
// and the head's from the order itself once its network copy is overdue.
func (c *Core) deliverReady() {
	for {
		id, ok := c.head()
		if !ok {
			return
		}
		if _, here := c.held[id]; !here && !c.received.has(id) {
			if !c.headCopyLost() {
				return
			}
			c.received.add(id)
			c.counts.received++
			c.counts.recovered++
			delete(c.ownSentAt, id)
			if len(c.recoveredAt) >= maxRecoveredWatched {
				clear(c.recoveredAt) // forgets some lessons, never safety
			}
			c.recoveredAt[id] = c.orderedAt[0]
			c.out.Notes = append(c.out.Notes, Note{Kind: NoteReceived, ID: id, Body: c.body(id), At: c.now, Recovered: true})
		}
		delete(c.held, id)
		c.orderedAt = c.orderedAt[1:]
		c.deliver(id)
	}
}

// deliver hands id to the application at the next seq.
func (c *Core) deliver(id MsgID) {
	c.delivered++
	c.delDirty = true
	c.counts.ready++
	if id.Sender == c.cfg.ID {
		c.ownReady++
	}
	body := c.bodies[id]
	delete(c.bodies, id)
	c.out.Notes = append(c.out.Notes, Note{Kind: NoteReady, ID: id, Body: body, Seq: c.delivered, At: c.now})
	c.agree.delivered(id)
	c.trimOrder()
}

// The host interface (protocol.go): what protocols see of the Core.

func (c *Core) config() *Config        { return &c.cfg }
func (c *Core) clock() time.Time       { return c.now }
func (c *Core) restarted() bool        { return c.wasRestarted }
func (c *Core) positionsKnown() uint64 { return c.positions }
func (c *Core) deliveredCount() uint64 { return c.delivered }
func (c *Core) nextNumber() uint64     { return c.nextNum + 1 }

// everHeard reports whether peer was ever heard from (alive or not now).
func (c *Core) everHeard(peer int) bool {
	p := c.peers[peer]
	return p != nil && p.heard
}

// raiseNumbering marks own numbers up to num as used (raft saw one
// committed that a restart without its numbering forgot).
func (c *Core) raiseNumbering(num uint64) {
	if num > c.nextNum {
		c.nextNum, c.numDirty = num, true
	}
}

// senderRestarted says sender's numbers below first can no longer come.
func (c *Core) senderRestarted(sender int, first uint64) {
	c.received.raiseFloor(sender, first-1)
}

// deliverNow delivers id at the next position at once (isis decides the
// order and the moment together).
func (c *Core) deliverNow(id MsgID) {
	delete(c.held, id)
	c.deliver(id)
}

func (c *Core) rejoining() bool                        { return c.id.rejoining }
func (c *Core) readmitted() bool                       { return c.id.joined }
func (c *Core) heardEnough() bool                      { return c.id.heardEnough() }
func (c *Core) stateID() string                        { return c.id.self }
func (c *Core) knowsState(peer int, state string) bool { return c.id.knows(peer, state) }
func (c *Core) readmit(peer int, state string)         { c.id.readmit(c, peer, state) }

// isStopped reports whether delivery ended for good.
func (c *Core) isStopped() bool { return c.stopped != "" }

// stop ends delivery for good; the status line says why.
func (c *Core) stop(why string) {
	if c.stopped == "" {
		c.stopped = why
	}
}

// ControlIn takes one control message from peer m.From.
func (c *Core) ControlIn(now time.Time, m Msg) {
	c.now = now
	p := c.peers[m.From]
	if p == nil {
		return // not a member id
	}
	switch m.Kind {
	case KindLinkClosed:
		p.lastHeard = time.Time{}
		if c.id.takesPart() {
			c.proto.linkClosed(m.From)
		}
	case KindBody:
		p.heard, p.lastHeard = true, now
		if m.ID.Sender == m.From {
			c.learnBody(m.ID, m.Text)
		}
	case KindDigest, KindDigestAsk:
		p.heard, p.lastHeard = true, now
		c.agree.control(c, m)
	case KindHello:
		p.heard, p.lastHeard = true, now
		c.id.control(c, m)
	case KindReadmitted, KindReadmitAsk:
		p.heard, p.lastHeard = true, now
		c.id.readmitted(c, m)
	case KindRejoin:
		p.heard, p.lastHeard = true, now
		if r, ok := c.proto.(rejoiner); ok && c.id.takesPart() {
			r.rejoinAsked(m.From, m.State)
		}
	default:
		p.heard, p.lastHeard = true, now
		// Nothing from a peer that lost its state, nothing before this
		// member may take part (its state is not vouched for yet).
		if c.id.takesPart() && c.id.accepts(m.From) {
			c.proto.control(m)
		} else {
			c.id.ignored(c, m.From)
		}
	}
	c.deliverReady()
	c.flushHeldSends()
}

// Campaign asks this middleware to stand for leader now, before any
// election timeout (raft; the others have no election). For tests and
// demonstrations: scripts choose their leader instead of a seed.
func (c *Core) Campaign(now time.Time) {
	c.now = now
	if p, ok := c.proto.(campaigner); ok {
		p.campaign()
	}
}

// Heard tells the core that something from peer arrived at at, though it
// may not be processed yet (status lines only).
func (c *Core) Heard(peer int, at time.Time) {
	if p := c.peers[peer]; p != nil && at.After(p.lastHeard) {
		p.heard, p.lastHeard = true, at
	}
}

// Tick lets time pass: heartbeats, protocol timers, overdue content.
func (c *Core) Tick(now time.Time) {
	c.now = now
	if !now.Before(c.nextHB) {
		c.nextHB = now.Add(c.cfg.HeartbeatEvery)
		hb := Msg{Kind: KindHeartbeat, Run: c.cfg.Run}
		if f, ok := c.proto.(heartbeatFiller); ok {
			f.fillHeartbeat(&hb)
		}
		for _, id := range c.peerIDs() {
			c.send(id, hb)
		}
	}
	c.agree.tick(c)
	c.id.tick(c)
	if c.id.takesPart() {
		c.proto.tick()
	}
	c.deliverReady()
	c.flushHeldSends()
	c.pruneHeld()
}

// pruneHeld forgets content nobody ordered for a long time (forged data,
// or a message whose sender never announced it), so it cannot pile up.
func (c *Core) pruneHeld() {
	const keep = 10 * time.Minute
	if c.now.Sub(c.lastPruned) < time.Minute || len(c.held) < 1024 {
		return
	}
	c.lastPruned = c.now
	for id, at := range c.held {
		if c.now.Sub(at) > keep {
			delete(c.held, id)
		}
	}
}

// TickEvery is how often the adapter should call Tick.
func (c *Core) TickEvery() time.Duration { return 10 * time.Millisecond }

func (c *Core) send(to int, m Msg) {
	if to == c.cfg.ID {
		panic("core: message to self")
	}
	c.counts.control++
	c.out.Control = append(c.out.Control, Envelope{To: to, Msg: m})
}

// peerIDs lists the other ids in order (deterministic output).
func (c *Core) peerIDs() []int {
	ids := make([]int, 0, len(c.peers))
	for p := 1; p <= c.cfg.N; p++ {
		if p != c.cfg.ID {
			ids = append(ids, p)
		}
	}
	return ids
}

// reachable reports whether peer was heard from lately.
func (c *Core) reachable(peer int) bool {
	p := c.peers[peer]
	return p != nil && p.heard && c.now.Sub(p.lastHeard) <= c.cfg.SuspectAfter
}

// aliveIDs lists this middleware and the peers heard from lately, in order.
func (c *Core) aliveIDs() []int {
	ids := []int{}
	for p := 1; p <= c.cfg.N; p++ {
		if p == c.cfg.ID || c.reachable(p) {
			ids = append(ids, p)
		}
	}
	return ids
}

// Output is what the inputs since the last ClearOutput asked for.
func (c *Core) Output() *Output {
	if c.numDirty {
		c.persist(uvarintRecord(recNum, c.nextNum))
		c.numDirty = false
	}
	if c.delDirty {
		c.persist(uvarintRecord(recDelivered, c.delivered))
		if c.agree.known {
			c.persist(uvarintRecord(recHash, c.agree.hash))
		}
		c.delDirty = false
	}
	return &c.out
}

// ClearOutput empties the output, keeping its buffers.
func (c *Core) ClearOutput() {
	clear(c.out.Persist)
	c.out.Persist = c.out.Persist[:0]
	c.out.Rewrite = false
	c.out.ToNetwork = c.out.ToNetwork[:0]
	c.out.Control = c.out.Control[:0]
	c.out.Notes = c.out.Notes[:0]
}

// View is a snapshot for status lines.
type View struct {
	Protocol Protocol
	Leader   int    // the raft leader or the sequencer; 0 when none is known
	Term     uint64 // raft's term
	Alive    []int  // this middleware and the peers heard from lately
	Sent     int
	Received int
	// Recovered counts Received entries whose content came from the order
	// (or, with isis, from its sender) instead of the network program.
	Recovered int
	// Foreign counts content that was not a lab message (never delivered;
	// the first maxForeignShown are Received entries).
	Foreign int
	Ready   int
	Pending int // content held but not yet delivered
	// ControlSent counts the control messages this middleware sent
	// (heartbeats and agreement digests included).
	ControlSent int
	Held        int // sends waiting for room (pacing)
	// Waiting says why ordering or delivery cannot go on, when it cannot
	// (e.g. "no quorum: reaches 2 of 5, waiting"); "" otherwise.
	Waiting string
	// Agreement compares the Ready list with each peer's (agreement.go);
	// nil when this member cannot take part in the check.
	Agreement []PeerAgreement
	// Warnings are about peers, e.g. "Middleware 3 came back without its
	// state; it had acknowledged #1067".
	Warnings []string
}

// joinedGroup starts the protocol once this member may take part: what
// arrived meanwhile is handed to it, and held sends go out.
func (c *Core) joinedGroup() {
	c.id.helloAll(c)
	for _, id := range c.preJoin {
		if c.hasContent(id) {
			c.proto.arrived(id)
		}
	}
	c.preJoin = nil
	c.flushHeldSends()
}

// View reports membership and counters.
func (c *Core) View() View {
	v := View{
		Protocol: c.cfg.Protocol, Alive: c.aliveIDs(),
		Sent: c.counts.sent, Received: c.counts.received, Recovered: c.counts.recovered, Foreign: c.counts.foreign,
		Ready: c.counts.ready, Pending: len(c.held), Held: c.heldSends + len(c.heldBodies),
		ControlSent: c.counts.control,
	}
	v.Agreement = c.agree.view(c)
	c.proto.view(&v)
	c.id.view(c, &v)
	if c.stopped != "" {
		v.Waiting = "stopped: " + c.stopped
	}
	return v
}
