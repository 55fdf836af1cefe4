package core

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// Durable state has an identity, and amnesia is detected, never obeyed.
//
// A member's state log carries an identity, made once with it (Config.
// StateID, kept in record 'i'). Members tell each other, over the
// authenticated control links, who they are and how far they delivered,
// and what they remember of the recipient (KindHello); each remembers, in
// its own state log, every peer's identity and how far that peer had
// acknowledged (record 'm'). A member that comes back without its state
// (another identity) or behind it (a state log rolled back) is told so by
// any peer that remembers it, and takes no part in ordering: it does not
// vote, campaign, number or deliver, and says why. Its peers ignore its
// protocol messages and say so too; a protocol that cannot go on without
// every member (all but raft) stops the group with that message.
//
// Before a member takes part it must hear from a majority of its peers. If
// its events log shows an earlier incarnation (it lost its state), one of
// them must be established (it has a state, or took part and delivered):
// so members that lost their state never form a new group behind the
// backs of members that kept theirs, and a majority that lost its state
// waits and says why. A member new to the lab (no state, no past in its
// events log) needs only the majority, so a new lab starts without a
// member that is not there.

// KindHello: I am State, I delivered Seq; you are Text to me (your state
// identity, "" if I never heard of you) and had acknowledged Hi; Joined: I
// take part in ordering or restored my state.
const KindHello Kind = 'I'

// KindReadmitted: the group took ID.Sender back under State (raft applied
// it): a member that missed the change (cut off then) listens to it again
// and can learn the change from it. KindReadmitAsk: I ignore ID.Sender,
// which says it is back: did the group take it back?
const (
	KindReadmitted Kind = 'V'
	KindReadmitAsk Kind = 'U'
)

func init() {
	registerKind(KindHello, "Hello", fieldState, fieldSeq, fieldHi, fieldJoined, fieldText)
	registerKind(KindReadmitted, "Readmitted", fieldID, fieldState)
	registerKind(KindReadmitAsk, "ReadmitAsk", fieldID)
}

// State log records: this member's identity; what it remembers of a peer
// (peer id, acknowledged position, identity).
const (
	recIdentity   = 'i'
	recPeerMemory = 'm'
	recProtocol   = 'P' // the protocol that wrote the state log
)

const (
	helloJoining = 100 * time.Millisecond // while waiting to take part
	helloEvery   = time.Second            // afterwards
	helloReply   = 20 * time.Millisecond  // least time between two answers to one peer
	// ackedPersistEvery bounds how often a peer's acknowledged position
	// is written to the state log.
	ackedPersistEvery = time.Second
)

type peerMemory struct {
	state     string
	acked     uint64
	lastWrite time.Time
}

type identity struct {
	self       string
	restored   bool // this member's identity came from its state log
	joined     bool
	answered   map[int]bool // peers that confirmed this member's state
	settled    map[int]bool // ... and were established when they did
	memory     map[int]*peerMemory
	amnesiac   map[int]string // peers that came back without their state, and why
	lastHello  map[int]time.Time
	excludedBy string // why this member takes no part, for good
	// rejoining: started without a state to be taken back by raft
	// (raft_rejoin.go); its Ready list goes on after based.
	rejoining bool
	based     bool
	peers     int // how many peers there are
	// readmits: peers the group took back, under which state (as applied
	// here); lastAsk: when this member last asked about an ignored peer.
	readmits map[int]string
	lastAsk  map[int]time.Time
}

func (id *identity) init(c *Core) {
	id.answered, id.settled = map[int]bool{}, map[int]bool{}
	id.memory, id.amnesiac, id.lastHello = map[int]*peerMemory{}, map[int]string{}, map[int]time.Time{}
	id.readmits, id.lastAsk = map[int]string{}, map[int]time.Time{}
	id.peers = c.cfg.N - 1
	if id.peers == 0 {
		id.joined = true
	}
}

// restoreRecord takes an identity or peer-memory record; false for others.
func (id *identity) restoreRecord(c *Core, r []byte) (bool, error) {
	switch r[0] {
	case recProtocol:
		if p := Protocol(r[1:]); p != c.cfg.Protocol {
			return true, fmt.Errorf("this state folder belongs to -protocol %s, and this middleware runs %s: run it with -protocol %s, or give it another -state-dir (or delete that folder to start afresh)", p, c.cfg.Protocol, p)
		}
	case recIdentity:
		id.self, id.restored = string(r[1:]), true
	case recPeerMemory:
		rd := &uvarintReader{b: r[1:]}
		peer, acked := int(rd.next()), rd.next()
		if !rd.ok() {
			return true, fmt.Errorf("state log: bad %q record", r[0])
		}
		id.memory[peer] = &peerMemory{state: string(rd.b), acked: acked}
	default:
		return false, nil
	}
	return true, nil
}

// start makes this member's identity when its state log had none.
func (id *identity) start(c *Core) {
	if id.self == "" {
		id.self = RunToken(c.cfg.StateID)
		if id.self == "-" {
			id.self = RunToken(c.cfg.Run)
		}
		c.persist(append([]byte{recIdentity}, id.self...))
		c.persist(append([]byte{recProtocol}, c.cfg.Protocol...))
		id.rejoining = c.cfg.Rejoin && c.cfg.Protocol.CanRejoin()
		if id.rejoining && c.cfg.LastSeq > c.delivered {
			// Its Ready list goes on after what its events log shows
			// delivered (and after what its peers remember: control).
			c.delivered, c.delDirty = c.cfg.LastSeq, true
			c.agree.rebase()
		}
	}
}

func memoryRecord(peer int, m *peerMemory) []byte {
	b := binary.AppendUvarint([]byte{recPeerMemory}, uint64(peer))
	b = binary.AppendUvarint(b, m.acked)
	return append(b, m.state...)
}

// records is everything the identity keeps, for a rewritten state log.
func (id *identity) records(c *Core) [][]byte {
	recs := [][]byte{append([]byte{recIdentity}, id.self...), append([]byte{recProtocol}, c.cfg.Protocol...)}
	peers := make([]int, 0, len(id.memory))
	for p := range id.memory {
		peers = append(peers, p)
	}
	sort.Ints(peers)
	for _, p := range peers {
		recs = append(recs, memoryRecord(p, id.memory[p]))
	}
	return recs
}

// established reports whether this member can vouch for a peer's state:
// it has a state of its own, or it took part and delivered (a member new
// to the lab that heard only of members without a state knows nothing of
// the group's history).
func (id *identity) established(c *Core) bool {
	return id.restored || (id.joined && c.delivered > 0)
}

// tick sends hellos: often while waiting to take part, then now and then.
func (id *identity) tick(c *Core) {
	every := helloEvery
	if !id.joined {
		every = helloJoining
	}
	for _, p := range c.peerIDs() {
		if c.now.Sub(id.lastHello[p]) >= every {
			id.hello(c, p)
		}
	}
}

func (id *identity) hello(c *Core, p int) {
	id.lastHello[p] = c.now
	m := Msg{Kind: KindHello, State: id.self, Seq: c.delivered, Joined: id.established(c)}
	if mem := id.memory[p]; mem != nil {
		m.Text, m.Hi = mem.state, mem.acked
	}
	c.send(p, m)
}

// control takes a hello from peer m.From.
func (id *identity) control(c *Core, m Msg) {
	p := m.From
	if m.State == "" {
		return
	}
	// Who the peer is, against what this member remembers of it.
	mem := id.memory[p]
	switch {
	case id.amnesiac[p] != "":
		// Already known; it stays out until brought back explicitly.
	case mem == nil:
		id.memory[p] = &peerMemory{state: m.State, acked: m.Seq, lastWrite: c.now}
		c.persist(memoryRecord(p, id.memory[p]))
	case mem.state != m.State:
		id.peerAmnesiac(c, p, fmt.Sprintf("Middleware %d came back without its state; it had acknowledged #%d", p, mem.acked))
	case m.Seq < mem.acked:
		id.peerAmnesiac(c, p, fmt.Sprintf("Middleware %d came back behind its state (it says #%d); it had acknowledged #%d", p, m.Seq, mem.acked))
	case m.Seq > mem.acked:
		mem.acked = m.Seq
		if c.now.Sub(mem.lastWrite) >= ackedPersistEvery {
			mem.lastWrite = c.now
			c.persist(memoryRecord(p, mem))
		}
	}
	// Who this member is, as the peer remembers it.
	if id.rejoining && m.Text != "" && m.Text != id.self {
		// It lost its state, knowingly: its Ready list goes on after
		// what its peers remember it delivered.
		if base := max(m.Hi, c.cfg.LastSeq); !id.based && c.counts.ready == 0 && base > c.delivered {
			c.delivered, c.delDirty = base, true
			c.agree.rebase()
		}
	} else if id.excludedBy == "" && m.Text != "" {
		if m.Text != id.self {
			id.exclude(c, fmt.Sprintf("this middleware came back without its state: Middleware %d knew it with another state, which had acknowledged #%d", p, m.Hi))
		} else if c.delivered < m.Hi {
			id.exclude(c, fmt.Sprintf("this middleware's state is behind: Middleware %d knew it at #%d, its state says #%d", p, m.Hi, c.delivered))
		}
	}
	if id.excludedBy == "" && !id.joined {
		id.answered[p] = true
		if m.Joined {
			id.settled[p] = true
		}
		if id.rejoining {
			if id.heardEnough() && !id.based {
				id.based = true // from now on the protocol runs
			}
		} else if id.heardEnough() && (len(id.settled) > 0 || id.restored || !hasPast(c)) {
			id.joined = true
			c.joinedGroup()
		}
	}
	// Answer at once a peer that does not know this member (yet, or any
	// more: it ignores this member until it does) or is still joining (it
	// waits for answers). Others hear the periodic hello.
	if (m.Text != id.self || !m.Joined) && c.now.Sub(id.lastHello[p]) >= helloReply {
		id.hello(c, p)
	}
}

func (id *identity) peerAmnesiac(c *Core, p int, why string) {
	id.amnesiac[p] = why
	if a, ok := c.proto.(amnesiaTolerant); ok && a.tolerateAmnesia(p) {
		return
	}
	c.stop(why + ": " + string(c.cfg.Protocol) + " cannot go on without it; restart the lab with fresh state folders (raft goes on without it, and takes it back with -rejoin)")
}

// exclude takes this member out of ordering for good.
func (id *identity) exclude(c *Core, why string) {
	id.excludedBy = why
	how := "restart the lab with fresh state folders"
	if c.cfg.Protocol.CanRejoin() {
		how = "start it again with -rejoin: the group takes it back by membership change"
	}
	c.stop(why + "; it takes no part in ordering (to bring it back, " + how + ")")
}

// hasPast reports whether this member's events log shows that an earlier
// incarnation took part (it sent or delivered): one that starts without a
// state then lost it, and only a member with a state may vouch for it.
func hasPast(c *Core) bool { return c.cfg.HasPast || c.cfg.LastNum > 0 || c.cfg.LastSeq > 0 }

// heardEnough reports whether a majority of the peers answered.
func (id *identity) heardEnough() bool {
	return len(id.answered) >= len(id.lastHello)/2+len(id.lastHello)%2
}

// takesPart reports whether the protocol may run.
func (id *identity) takesPart() bool {
	return id.excludedBy == "" && (id.joined || (id.rejoining && id.based))
}

// knows reports whether peer is remembered as state.
func (id *identity) knows(peer int, state string) bool {
	m := id.memory[peer]
	return m != nil && m.state == state
}

// readmit takes peer back under its new state (raft added it again).
func (id *identity) readmit(c *Core, peer int, state string) {
	if state == "" {
		return
	}
	if peer == c.cfg.ID {
		if state == id.self && id.rejoining {
			id.joined = true // a member again: sends go out
			c.flushHeldSends()
		}
		return
	}
	id.readmits[peer] = state
	if id.knows(peer, state) && id.amnesiac[peer] == "" {
		return
	}
	delete(id.amnesiac, peer)
	id.memory[peer] = &peerMemory{state: state, lastWrite: c.now}
	c.persist(memoryRecord(peer, id.memory[peer]))
	// Tell the others: one cut off while the change committed would
	// otherwise ignore the member it can only learn the change from.
	for _, p := range c.peerIDs() {
		if p != peer {
			c.send(p, Msg{Kind: KindReadmitted, ID: MsgID{Sender: peer}, State: state})
		}
	}
}

// readmitted takes a peer's word that the group took ID.Sender back (it
// applied the change; a committed change is final), or answers a peer that
// asks about one.
func (id *identity) readmitted(c *Core, m Msg) {
	if !id.accepts(m.From) || m.ID.Sender == c.cfg.ID || !c.cfg.Protocol.CanRejoin() {
		return
	}
	switch m.Kind {
	case KindReadmitted:
		if id.amnesiac[m.ID.Sender] != "" {
			id.readmit(c, m.ID.Sender, m.State)
		}
	case KindReadmitAsk:
		if state, ok := id.readmits[m.ID.Sender]; ok {
			c.send(m.From, Msg{Kind: KindReadmitted, ID: MsgID{Sender: m.ID.Sender}, State: state})
		}
	}
}

// ignored is told that a protocol message from an amnesiac peer was
// dropped: if it keeps talking, the group may have taken it back while
// this member was cut off, so ask the others (at most once a second).
func (id *identity) ignored(c *Core, peer int) {
	if id.amnesiac[peer] == "" || !c.cfg.Protocol.CanRejoin() || c.now.Sub(id.lastAsk[peer]) < time.Second {
		return
	}
	id.lastAsk[peer] = c.now
	for _, p := range c.peerIDs() {
		if p != peer && id.accepts(p) {
			c.send(p, Msg{Kind: KindReadmitAsk, ID: MsgID{Sender: peer}})
		}
	}
}

// accepts reports whether a protocol message from peer counts: only once
// its state is known here (durably: so that if it comes back without it,
// this member knows), and not one it lost.
func (id *identity) accepts(peer int) bool { return id.memory[peer] != nil && id.amnesiac[peer] == "" }

// helloAll tells every peer who this member is now (it just joined).
func (id *identity) helloAll(c *Core) {
	for _, p := range c.peerIDs() {
		id.hello(c, p)
	}
}

// view adds what the peers' identities say to a status snapshot.
func (id *identity) view(c *Core, v *View) {
	peers := make([]int, 0, len(id.amnesiac))
	for p := range id.amnesiac {
		peers = append(peers, p)
	}
	sort.Ints(peers)
	for _, p := range peers {
		v.Warnings = append(v.Warnings, id.amnesiac[p])
	}
	if !id.joined && id.excludedBy == "" {
		peersN := c.cfg.N - 1
		if len(id.answered) >= (peersN+1)/2 {
			v.Waiting = fmt.Sprintf("joining: %d of %d peers answered, none with a state, and this middleware's events log shows it took part before (it lost its state): waiting for a member with a state to vouch for it (if the whole lab lost its state, start it afresh with run.sh or run.bat, or delete logs/ and state/)", len(id.answered), peersN)
		} else {
			v.Waiting = fmt.Sprintf("joining: heard from %d of %d peers, waiting for %d to vouch for this middleware's state", len(id.answered), peersN, (peersN+1)/2)
		}
	}
}

// amnesiaTolerant is a protocol that goes on without a member that lost
// its state (raft: it counts as failed); the others stop the group.
type amnesiaTolerant interface{ tolerateAmnesia(peer int) bool }
