package middleware

import (
	"time"

	"totalorder/middleware/core"
)

// EventKind names the list a message was added to.
type EventKind uint8

const (
	EventSent     EventKind = iota + 1 // the user sent it (Sent list)
	EventReceived                      // its content arrived from the network (Received list)
	EventReady                         // delivered to the application in total order (Ready list)
	// EventDiverged: the Ready list first differs from peer Peer's at Seq
	// (Msg here, There there). No list changes; once per peer.
	EventDiverged
)

func (k EventKind) String() string {
	switch k {
	case EventSent:
		return "sent"
	case EventReceived:
		return "received"
	case EventReady:
		return "ready"
	case EventDiverged:
		return "diverged"
	}
	return "unknown"
}

// Event is one change to one of the three lists; it is what the GUI renders
// and what the events log records.
type Event struct {
	Kind EventKind
	Msg  string    // the human part: "Msg #k from Middleware i" (": body" for an application's message)
	Seq  uint64    // agreed position, 1, 2, 3…; Ready (and Diverged) only
	At   time.Time // when it happened here
	// Latency is, for Ready, the time from the local Received to Ready
	// (how long ordering held the message back); zero otherwise.
	Latency time.Duration
	Peer    int    // Diverged: the peer whose Ready list differs
	There   string // Diverged: the message at Seq there
	// Foreign marks a Received of content that is not a lab message (a
	// student's middleware's, the skeleton's): Msg is the whole text, and
	// it is never delivered.
	Foreign bool
	// Recovered marks a Received whose content came from the agreed order,
	// not the network program (its copy was lost).
	Recovered bool
}

// Status is a snapshot for status lines.
type Status struct {
	ID        int
	N         int
	Protocol  string
	Leader    int    // the raft leader or the sequencer, 0 if none known
	Term      uint64 // raft's term (raft only)
	Alive     []int  // ids this middleware believes are alive, itself included
	PeersUp   int    // control links currently connected
	Peers     int    // control links expected (n-1)
	NetworkUp bool   // the last attempt to reach the network program succeeded
	NetQueued int    // messages waiting to be handed to the network program
	Sent      int
	Received  int
	Recovered int // Received entries whose content came from the order, not the network
	// Foreign counts content that is not a lab message: not announced by
	// any middleware of this lab, so never delivered.
	Foreign int
	Ready   int
	Pending int // received but not yet ready
	Held    int // sends not yet sent: joining the group, or pacing a burst
	// ControlSent counts control messages sent to peers (all kinds).
	ControlSent int
	// LastLatency is the Latency of the most recent Ready event.
	LastLatency time.Duration
	// EventsLog is empty while the events log is written fine, else what
	// went wrong, e.g. "events log: write failed (no space left), 12
	// events not written".
	EventsLog string
	// Waiting says why ordering or delivery cannot go on ("no quorum:
	// reaches 2 of 5, waiting"), "" when it can.
	Waiting string
	// Isolated: cut off from the peers' control links (Isolate).
	Isolated bool
	// Agreement compares this middleware's Ready list with each peer's,
	// by the digests they exchange (core.AgreementSummary words it).
	Agreement []core.PeerAgreement
	// Warnings are about peers ("Middleware 3 came back without its
	// state; it had acknowledged #1067").
	Warnings []string
}
