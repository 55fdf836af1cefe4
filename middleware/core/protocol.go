package core

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Protocol names an ordering algorithm.
type Protocol string

const (
	Raft      Protocol = "raft"      // consensus on etcd's raft (raft.go)
	Sequencer Protocol = "sequencer" // the textbook fixed sequencer (sequencer.go)
	ISIS      Protocol = "isis"      // Birman's agreed priorities (isis.go)
	Lamport   Protocol = "lamport"   // Lamport's clocks with acknowledgements (lamport.go)
	None      Protocol = "none"      // no ordering at all, for teaching (none.go)

	DefaultProtocol = Raft
)

// protocolSpec is one registered protocol.
type protocolSpec struct {
	name Protocol
	rank int // place in Protocols: the default first, "none" last
	// summary is one line for help texts and windows.
	summary string
	// orders is false for a protocol that orders nothing (none).
	orders bool
	// leader: one member orders for all (raft's leader, the sequencer).
	leader bool
	// rejoin: it takes back a member that lost its state (a rejoiner).
	rejoin bool
	// faultTolerant: it goes on through a minority's crashes.
	faultTolerant bool
	make          func(c host) protocol
}

var protocolSpecs []protocolSpec

// registerProtocol adds a protocol; each protocol's file registers itself.
func registerProtocol(p protocolSpec) {
	i, found := slices.BinarySearchFunc(protocolSpecs, p.rank, func(s protocolSpec, r int) int { return s.rank - r })
	if found {
		panic("core: two protocols of rank " + fmt.Sprint(p.rank))
	}
	protocolSpecs = slices.Insert(protocolSpecs, i, p)
	Protocols = append(Protocols[:0:0], nil...)
	for _, s := range protocolSpecs {
		Protocols = append(Protocols, s.name)
	}
}

// Protocols lists every protocol, the default first.
var Protocols []Protocol

func spec(p Protocol) (protocolSpec, bool) {
	for _, s := range protocolSpecs {
		if s.name == p {
			return s, true
		}
	}
	return protocolSpec{}, false
}

// Summary is a protocol's one-line description, for help texts.
func (p Protocol) Summary() string {
	s, _ := spec(p)
	return s.summary
}

// Orders reports whether the protocol orders messages at all: false for
// none, whose windows are expected to disagree.
func (p Protocol) Orders() bool {
	s, ok := spec(p)
	return !ok || s.orders
}

// HasLeader reports whether one member orders for all (and status lines
// name it).
func (p Protocol) HasLeader() bool {
	s, _ := spec(p)
	return s.leader
}

// FaultTolerant reports whether the protocol goes on, delivering
// everything, when a minority crashes (the others stop or wait).
func (p Protocol) FaultTolerant() bool {
	s, _ := spec(p)
	return s.faultTolerant
}

// CanRejoin reports whether the protocol takes back a member that lost its
// state (Config.Rejoin).
func (p Protocol) CanRejoin() bool {
	s, _ := spec(p)
	return s.rejoin
}

// ParseProtocol turns a name from a flag, the GUI or the benchmark into a
// Protocol; "" is the default. An unknown name is an error that lists the
// known ones.
func ParseProtocol(name string) (Protocol, error) {
	if name == "" {
		return DefaultProtocol, nil
	}
	for _, p := range Protocols {
		if strings.EqualFold(name, string(p)) {
			return p, nil
		}
	}
	names := make([]string, len(Protocols))
	for i, p := range Protocols {
		names[i] = string(p)
	}
	return "", fmt.Errorf("unknown protocol %q: want one of %s", name, strings.Join(names, ", "))
}

// protocol is what an ordering algorithm implements. The Core owns the
// plumbing every protocol shares (numbering and pacing of sends, network
// copies and their duplicates, the delivery queue, heartbeats for status
// lines, durable numbering, the agreement check) and calls the protocol
// for ordering only. Adding a protocol is one file: its type, its control
// kinds (registerKind) and its registerProtocol call.
type protocol interface {
	// restore takes this protocol's records from the state log of an
	// earlier incarnation (see Core.persist), oldest first.
	restore(recs [][]byte) error
	// sent announces this middleware's new messages (already handed to the
	// network program) for ordering.
	sent(ids []MsgID)
	// arrived reports the first network copy of id.
	arrived(id MsgID)
	// control takes a message from peer m.From (never a heartbeat).
	control(m Msg)
	// linkClosed reports that peer's control link closed (it probably died).
	linkClosed(peer int)
	// tick lets time pass (Core.now).
	tick()
	// view fills in the protocol's part of a status snapshot.
	view(v *View)
}

// campaigner is a protocol with a leader that can be asked to stand.
type campaigner interface{ campaign() }

// rejoiner is a protocol that can take back a member that lost its state.
type rejoiner interface{ rejoinAsked(peer int, state string) }

// host is the Core as a protocol sees it: a protocol holds a host, never
// the Core itself, so the compiler keeps it to this (core.go and
// orderstate.go implement it).
type host interface {
	config() *Config // identity, group size, timings: read only
	clock() time.Time
	restarted() bool // an earlier incarnation's state was restored

	// Control messages and durable records (made durable before anything
	// of the same output goes out).
	send(to int, m Msg)
	peerIDs() []int
	reachable(peer int) bool
	everHeard(peer int) bool
	persist(rec []byte)
	rewrite(recs [][]byte)

	// The order: positions come one by one, in order.
	ordered(pos uint64, id MsgID)
	positionsKnown() uint64
	deliveredCount() uint64
	orderAt(pos uint64) (MsgID, bool)
	resetOrder(last, base uint64, ids []MsgID)
	appendOrderState(b []byte, ordered idSet) []byte
	loadOrderState(data []byte) (idSet, error)
	deliverNow(id MsgID) // isis: deliver id at the next position at once

	// Content and numbering.
	hasContent(id MsgID) bool
	contentFromPeer(m Message) bool
	body(id MsgID) string
	nextNumber() uint64        // the number the next own message will get
	raiseNumbering(num uint64) // own numbers up to num are used
	senderRestarted(sender int, first uint64)

	stop(why string)
	isStopped() bool

	// Membership (identity.go): raft's rejoin.
	rejoining() bool
	readmitted() bool
	heardEnough() bool
	stateID() string
	knowsState(peer int, state string) bool
	readmit(peer int, state string)
}

// heartbeatFiller is a protocol that adds to the Core's heartbeats.
type heartbeatFiller interface{ fillHeartbeat(hb *Msg) }

func newProtocol(c *Core) protocol {
	s, ok := spec(c.cfg.Protocol)
	if !ok {
		s, _ = spec(DefaultProtocol)
	}
	return s.make(c)
}
