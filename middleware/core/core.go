package core

import (
	"sort"
	"time"
)

// Core is one middleware's protocol state. Not safe for concurrent use: one
// goroutine (the adapter's loop) owns it.
type Core struct {
	cfg     Config
	out     Output
	started time.Time
	now     time.Time

	nextNum  uint64             // last message number this middleware used
	firstNum uint64             // the first number this incarnation used (0: none yet)
	content  map[MsgID]bool     // content arrived (network or fetched)
	own      map[MsgID]bool     // sent here, so this middleware can always supply it
	maxNum   map[int]uint64     // highest message number seen per sender
	peers    map[int]*peerState // every other id 1..N
	nextHB   time.Time          // when to send the next heartbeat
	counts   struct{ sent, received, ready int }
	ownReady int // own messages (this incarnation's) delivered here
	// heldSends counts sends waiting until this middleware knows where
	// its numbering goes on (a restarted one must not reuse numbers).
	heldSends int

	seq  *sequencer
	isis *isis
}

type peerState struct {
	alive     bool
	heard     bool // heard at least once (else alive is a presumption)
	lastHeard time.Time
	// linkClosedAt is when its control link was last reported closed.
	linkClosedAt time.Time
	run          string
	joined       bool
	epoch        uint64
	leader       int
	assigned     uint64 // highest position the peer reports having assigned (if it leads)
	delivered    uint64
}

// New makes the state machine for one middleware started at now.
func New(cfg Config, now time.Time) *Core {
	cfg.withDefaults()
	c := &Core{
		cfg:     cfg,
		nextNum: cfg.LastNum,
		started: now,
		now:     now,
		content: make(map[MsgID]bool),
		own:     make(map[MsgID]bool),
		maxNum:  make(map[int]uint64),
		peers:   make(map[int]*peerState),
	}
	for p := 1; p <= cfg.N; p++ {
		if p != cfg.ID {
			// Presumed alive until SuspectAfter passes in silence, so a
			// group that starts together needs no election delay.
			c.peers[p] = &peerState{alive: true, lastHeard: now}
		}
	}
	if cfg.Protocol == ISIS {
		c.isis = newISIS(c)
	} else {
		c.seq = newSequencer(c)
	}
	return c
}

// ID is this middleware's id.
func (c *Core) ID() int { return c.cfg.ID }

// Send multicasts count new messages (the user clicked Send).
func (c *Core) Send(now time.Time, count int) {
	c.now = now
	if count <= 0 {
		return
	}
	// Numbering must continue where an earlier incarnation stopped, which
	// only the group knows, and bursts are paced: sends wait here until
	// both allow them.
	c.heldSends += count
	c.flushHeldSends()
}

// numbered reports whether this middleware knows the highest number the
// group has seen from it: with the sequencer once it has joined, with
// ISIS once every peer alive has sent a heartbeat (which carries it).
func (c *Core) numbered() bool {
	if c.seq != nil {
		return c.seq.joined
	}
	for _, p := range c.peers {
		if p.alive && !p.heard {
			return false
		}
	}
	return true
}

// maxOutstanding bounds this middleware's own messages sent but not yet
// delivered here.
// Sends beyond it wait here, so a burst of "send 100000" paces itself to
// the group instead of flooding every queue until heartbeats starve.
const maxOutstanding = 4096

// outstanding counts this incarnation's messages sent but not yet
// delivered here. (Not yet ordered would not do: the sequencer orders its
// own at once, and would never be paced.)
func (c *Core) outstanding() int {
	return c.counts.sent - c.ownReady
}

func (c *Core) flushHeldSends() {
	if c.heldSends == 0 || !c.numbered() {
		return
	}
	n := min(c.heldSends, maxOutstanding-c.outstanding())
	if n > 0 {
		c.heldSends -= n
		c.emitSends(n)
	}
}

func (c *Core) emitSends(count int) {
	if c.firstNum == 0 {
		c.firstNum = c.nextNum + 1
	}
	for i := 0; i < count; i++ {
		c.nextNum++
		id := MsgID{Sender: c.cfg.ID, Num: c.nextNum}
		c.own[id] = true
		c.noteMax(id)
		c.counts.sent++
		c.out.Notes = append(c.out.Notes, Note{Kind: NoteSent, ID: id, At: c.now})
		c.out.ToNetwork = append(c.out.ToNetwork, id)
		if c.seq != nil {
			c.seq.sent(id)
		} else {
			c.isis.sent(id)
		}
	}
}

// DataIn takes one message that arrived from the network program. It
// returns an error, and changes nothing, for content that is not a lab
// message.
func (c *Core) DataIn(now time.Time, text string) error {
	c.now = now
	id, ok := ParseText(text)
	if !ok || id.Sender > c.cfg.N {
		return &BadContentError{Text: text}
	}
	c.contentArrived(id, false)
	return nil
}

// BadContentError reports data that is not "Msg #k from Middleware i".
type BadContentError struct{ Text string }

func (e *BadContentError) Error() string {
	return "not a lab message (want \"Msg #k from Middleware i\" with i in the group): " + quoteShort(e.Text)
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

func (c *Core) contentArrived(id MsgID, fetched bool) {
	if c.content[id] {
		if fetched && c.isis != nil {
			c.isis.pushedAgain(id) // the sender still waits for our proposal
		}
		return // a duplicate copy: never delivered twice
	}
	c.content[id] = true
	c.noteMax(id)
	c.counts.received++
	c.out.Notes = append(c.out.Notes, Note{Kind: NoteReceived, ID: id, At: c.now, Fetched: fetched})
	if c.seq != nil {
		c.seq.contentArrived(id, fetched)
	} else {
		c.isis.contentArrived(id)
	}
}

func (c *Core) deliver(id MsgID, seq uint64) {
	c.counts.ready++
	if c.own[id] {
		c.ownReady++
	}
	c.out.Notes = append(c.out.Notes, Note{Kind: NoteReady, ID: id, Seq: seq, At: c.now})
}

func (c *Core) noteMax(id MsgID) {
	if id.Num > c.maxNum[id.Sender] {
		c.maxNum[id.Sender] = id.Num
	}
}

// ControlIn takes one control message from peer m.From.
func (c *Core) ControlIn(now time.Time, m Msg) {
	c.now = now
	p := c.peers[m.From]
	if p == nil {
		return // not a member id
	}
	if m.Kind == KindLinkClosed {
		// Usually the process died: it gets a few heartbeat periods to
		// reconnect instead of the full SuspectAfter.
		soon := now.Add(-c.cfg.SuspectAfter + 3*c.cfg.HeartbeatEvery)
		if p.alive && (m.Run == p.run || p.run == "") && p.lastHeard.After(soon) {
			p.lastHeard = soon
		}
		p.linkClosedAt = now
		return
	}
	if m.Kind == KindHeartbeat && p.run != "" && m.Run != p.run {
		// Same id, new incarnation: the old one is gone.
		c.peerDown(m.From)
	}
	p.lastHeard = now
	p.heard = true
	if m.Kind == KindHeartbeat {
		p.run, p.joined, p.epoch, p.leader = m.Run, m.Joined, m.Epoch, m.Leader
		p.assigned, p.delivered = m.Seq, m.Delivered
		if m.Num > c.nextNum {
			c.nextNum = m.Num // an earlier incarnation of ours got that far
		}
	}
	if !p.alive {
		p.alive = true
	}
	switch m.Kind {
	case KindFetch:
		reply := Msg{Kind: KindContent, ID: m.ID}
		if c.content[m.ID] || c.own[m.ID] {
			reply.Text = m.ID.Text()
		} else if c.seq != nil {
			c.seq.promiseAbsent(m.From, m.ID)
		}
		c.send(m.From, reply) // empty text: "I do not have it either"
		return
	case KindContent:
		if m.Text == "" {
			if c.seq != nil {
				c.seq.noContent(m.From, m.ID)
			}
		} else if id, ok := ParseText(m.Text); ok && id == m.ID {
			c.contentArrived(id, true)
			if c.seq != nil {
				c.seq.contentFrom(m.From, id)
			}
		}
		return
	}
	if c.seq != nil {
		c.seq.control(m)
	} else {
		c.isis.control(m)
	}
	c.flushHeldSends() // orders or priorities may have made room for paced sends
}

// Heard tells the core that something from peer arrived at at, though it
// may not be processed yet: under overload the adapter's queue must not
// make a live peer look dead. It never brings back a peer declared dead.
func (c *Core) Heard(peer int, at time.Time) {
	if p := c.peers[peer]; p != nil && p.alive && at.After(p.lastHeard) && at.After(p.linkClosedAt) {
		p.lastHeard = at // (bytes read before its link closed prove nothing now)
	}
}

// Tick lets time pass: heartbeats, failure detection, re-asking, fetching.
func (c *Core) Tick(now time.Time) {
	c.now = now
	for _, id := range c.peerIDs() {
		if p := c.peers[id]; p.alive && now.Sub(p.lastHeard) > c.cfg.SuspectAfter {
			c.peerDown(id)
		}
	}
	if !now.Before(c.nextHB) {
		c.nextHB = now.Add(c.cfg.HeartbeatEvery)
		hb := Msg{Kind: KindHeartbeat, Run: c.cfg.Run}
		if c.seq != nil {
			c.seq.fillHeartbeat(&hb)
		} else {
			hb.Joined = true
		}
		for _, id := range c.peerIDs() {
			hb.Num = c.maxNum[id]
			c.send(id, hb)
		}
	}
	c.flushHeldSends()
	if c.seq != nil {
		c.seq.tick()
	} else {
		c.isis.tick()
	}
}

func (c *Core) peerDown(id int) {
	p := c.peers[id]
	if !p.alive {
		return
	}
	p.alive = false
	p.joined = false
	if c.seq != nil {
		c.seq.peerDown(id)
	} else {
		c.isis.peerDown(id)
	}
}

// TickEvery is how often the adapter should call Tick.
func (c *Core) TickEvery() time.Duration { return 10 * time.Millisecond }

func (c *Core) send(to int, m Msg) {
	if to == c.cfg.ID {
		panic("core: message to self")
	}
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

// aliveIDs lists this middleware and the peers it believes alive, in order.
func (c *Core) aliveIDs() []int {
	ids := make([]int, 0, len(c.peers)+1)
	for p := 1; p <= c.cfg.N; p++ {
		if p == c.cfg.ID || c.peers[p].alive {
			ids = append(ids, p)
		}
	}
	return ids
}

// Output is what the inputs since the last ClearOutput asked for.
func (c *Core) Output() *Output { return &c.out }

// ClearOutput empties the output, keeping its buffers.
func (c *Core) ClearOutput() {
	c.out.ToNetwork = c.out.ToNetwork[:0]
	c.out.Control = c.out.Control[:0]
	c.out.Notes = c.out.Notes[:0]
}

// View is a snapshot of membership for status lines.
type View struct {
	Epoch     uint64
	Sequencer int   // 0 when none is known yet (or the protocol has none)
	Alive     []int // ids believed alive, this one included
	Joined    bool
	Sent      int
	Received  int
	Ready     int
	Pending   int // content held but not yet delivered
	Held      int // sends waiting: for the numbering to be known, or paced
}

// View reports membership and counters.
func (c *Core) View() View {
	v := View{Alive: c.aliveIDs(), Joined: true, Sent: c.counts.sent, Received: c.counts.received, Ready: c.counts.ready, Held: c.heldSends}
	if c.seq != nil {
		v.Epoch, v.Sequencer, v.Joined = c.seq.epoch, c.seq.leader, c.seq.joined
		if c.seq.role == roleCandidate {
			v.Sequencer = 0
		}
		v.Pending = c.seq.pending()
	} else {
		v.Pending = c.isis.pending()
	}
	return v
}

func sortedKeys[V any](m map[MsgID]V) []MsgID {
	ids := make([]MsgID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Sender != ids[j].Sender {
			return ids[i].Sender < ids[j].Sender
		}
		return ids[i].Num < ids[j].Num
	})
	return ids
}
