package core

import (
	"fmt"
	"strings"
)

// Protocol names an ordering algorithm.
type Protocol string

const (
	Raft      Protocol = "raft"      // consensus on etcd's raft (raft.go)
	Sequencer Protocol = "sequencer" // the textbook fixed sequencer (sequencer.go)
	ISIS      Protocol = "isis"      // Birman's agreed priorities (isis.go)

	DefaultProtocol = Raft
)

// Protocols lists every protocol, the default first.
var Protocols = []Protocol{Raft, Sequencer, ISIS}

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
// lines, durable numbering) and calls the protocol for ordering only.
// Adding a protocol is a file and one case in newProtocol.
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

// heartbeatFiller is a protocol that adds to the Core's heartbeats.
type heartbeatFiller interface{ fillHeartbeat(hb *Msg) }

func newProtocol(c *Core) protocol {
	switch c.cfg.Protocol {
	case Sequencer:
		return newSequencer(c)
	case ISIS:
		return newISIS(c)
	default:
		return newRaft(c)
	}
}
