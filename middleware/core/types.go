// Package core is the total-order protocol as a deterministic state
// machine, in the style of etcd's raft: the I/O adapters feed it inputs
// (a user send, content from the network, a control message from a peer,
// a clock tick) and collect what it wants done (data to hand to the network
// program, control messages to peers, state to make durable first, list
// events). There are no goroutines, sockets or clocks inside: time enters
// with every input.
//
// Three protocols sit behind one interface (protocol.go): consensus on
// etcd's raft, the default (raft.go), the textbook fixed sequencer
// (sequencer.go) and Birman's ISIS agreed priorities (isis.go). The Core
// (core.go) holds what they share: numbering and pacing of sends, network
// copies, the delivery queue and the durable marks.
package core

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MsgID names one multicast message: the Num-th message of middleware Sender.
type MsgID struct {
	Sender int
	Num    uint64
}

// Text is the message's human part, the content sent on the data path.
func (m MsgID) Text() string {
	return "Msg #" + strconv.FormatUint(m.Num, 10) + " from Middleware " + strconv.Itoa(m.Sender)
}

// Message is one multicast message: its id and, for an application's
// message (the auction's bids), a body. Its data-path text is
// "Msg #k from Middleware i" or "Msg #k from Middleware i: body".
type Message struct {
	ID   MsgID
	Body string
}

// Text is the message's human part, as sent on the data path and shown.
func (m Message) Text() string { return MessageText(m.ID, m.Body) }

// MessageText is the human part of message id with body ("" for none).
func MessageText(id MsgID, body string) string {
	if body == "" {
		return id.Text()
	}
	return id.Text() + ": " + body
}

// MaxBodyLen bounds a message body, in bytes.
const MaxBodyLen = 200

// CheckBody reports why body cannot travel as a message body: it must be
// printable ASCII (the original network program decodes ASCII), not
// empty, at most MaxBodyLen bytes and free of the "<EOM>" terminator.
func CheckBody(body string) error {
	switch {
	case body == "":
		return errors.New("empty message body")
	case len(body) > MaxBodyLen:
		return fmt.Errorf("message body of %d bytes: at most %d", len(body), MaxBodyLen)
	case strings.Contains(body, "<EOM>"):
		return errors.New("message body contains <EOM>")
	}
	for i := 0; i < len(body); i++ {
		if body[i] < ' ' || body[i] > '~' {
			return fmt.Errorf("message body has a byte that is not printable ASCII at %d", i)
		}
	}
	return nil
}

// maxNumDigits bounds a message number's digits, so every number a data
// message can carry fits the control encoding (and uint64) with room.
const maxNumDigits = 18

// ParseText reads the id back from the human part of a data message (a
// body after ": " allowed).
func ParseText(s string) (MsgID, bool) {
	m, ok := ParseMessage(s)
	return m.ID, ok
}

// ParseMessage reads a message back from its human part: the id, and the
// body after ": " when there is one that CheckBody accepts. Anything else
// after the id (the timestamp a student's middleware adds) makes it
// another program's message, not ours: false.
func ParseMessage(s string) (Message, bool) {
	const p1, p2 = "Msg #", " from Middleware "
	if len(s) < len(p1) || s[:len(p1)] != p1 {
		return Message{}, false
	}
	s = s[len(p1):]
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > maxNumDigits {
		return Message{}, false // longer numbers are refused at the source
	}
	num, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil || num == 0 {
		return Message{}, false
	}
	s = s[i:]
	if len(s) < len(p2) || s[:len(p2)] != p2 {
		return Message{}, false
	}
	s = s[len(p2):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == 0 || j > 4 || (j < len(s) && s[j] != ':') {
		return Message{}, false
	}
	sender, _ := strconv.Atoi(s[:j])
	if sender < 1 {
		return Message{}, false
	}
	m := Message{ID: MsgID{Sender: sender, Num: num}}
	if rest := s[j:]; strings.HasPrefix(rest, ": ") {
		if CheckBody(rest[2:]) != nil {
			return Message{}, false
		}
		m.Body = rest[2:]
	} else if rest != "" && rest[0] == ':' {
		return Message{}, false
	}
	return m, true
}

// Config fixes one middleware's identity and timing.
type Config struct {
	ID       int
	N        int // group size; ids are 1..N
	Protocol Protocol
	// Run names this incarnation (a restarted middleware gets a new one),
	// so peers can tell a restart from a slow link.
	Run string
	// Rejoin: this middleware lost its state and asks the group to take
	// it back (raft only; raft_rejoin.go). Ignored with a state log.
	Rejoin bool
	// StateID names a new state log (made fresh at every start; kept only
	// when the state log has no identity yet). See identity.go.
	StateID string
	// LastNum is the highest message number an earlier incarnation of
	// this middleware used, if known outside the state log (the adapter
	// reads its events log); numbering goes on after it.
	LastNum uint64
	// HasPast: this middleware's events log shows an earlier incarnation
	// (it logged anything): one that starts without a state lost it.
	HasPast bool
	// LastSeq is the highest position an earlier incarnation delivered, if
	// known outside the state log (the events log): a member taken back
	// after it lost its state (Rejoin) goes on after it.
	LastSeq uint64
	// Restored holds the durable records an earlier incarnation wrote (see
	// Output.Persist), oldest first; nil for a fresh start.
	Restored [][]byte
	// HeartbeatEvery is how often peers are told this one is alive.
	HeartbeatEvery time.Duration
	// SuspectAfter is how long a silent peer is still shown as alive. It
	// only feeds status lines: no protocol decides anything on it.
	SuspectAfter time.Duration
	// RecoverAfter is the least time an ordered message waits for its
	// network copy before it is delivered from the order itself (marked
	// recovered); the wait also grows with the network delays seen.
	RecoverAfter time.Duration
	// NetMaxSleep is the network program's maxSleepTime, if known (0: not
	// known). A copy is taken for lost, not late, only once it is later
	// than that allows (headCopyLost): the original program under mono
	// starts copies up to a minute late.
	NetMaxSleep time.Duration
	// NoAgreementCheck turns the live agreement check off (no running
	// hash, no digests), for the benchmarks that measure what it costs.
	NoAgreementCheck bool
	// ResendAfter is how long an own message may wait for its order before
	// it is announced (proposed, requested) again.
	ResendAfter time.Duration
}

func (c *Config) withDefaults() {
	if c.Protocol == "" {
		c.Protocol = DefaultProtocol
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = 100 * time.Millisecond
	}
	if c.SuspectAfter <= 0 {
		c.SuspectAfter = time.Second
	}
	if c.RecoverAfter <= 0 {
		c.RecoverAfter = 5 * time.Second
	}
	if c.ResendAfter <= 0 {
		c.ResendAfter = time.Second
	}
}

// NoteKind is the list a message was added to.
type NoteKind uint8

const (
	NoteSent NoteKind = iota + 1
	NoteReceived
	NoteReady
	// NoteDiverged: this middleware's Ready list first differs from peer
	// Peer's at position Seq (ID and Body: the message here; There: the
	// text there). Once per peer and incarnation.
	NoteDiverged
)

// Note reports one list change to the application.
type Note struct {
	Kind NoteKind
	ID   MsgID
	// Body is the message's body, if it has one; for Foreign content, the
	// whole text as it arrived.
	Body string
	Seq  uint64 // agreed position (Ready, Diverged)
	At   time.Time
	// Recovered marks a Received note whose content came from the order
	// (the committed entry) because the network copy was overdue, not from
	// the network program.
	Recovered bool
	// Foreign marks a Received note of content that is not a lab message
	// (a student's middleware's, the lab's skeleton's): no middleware of
	// this lab announced it, so it is never ordered or delivered. It has
	// no ID; Body holds the text.
	Foreign bool
	Peer    int    // Diverged: the peer whose Ready list differs
	There   string // Diverged: the text at Seq there
}

// Text is the note's message's human part (Foreign: the whole text).
func (n *Note) Text() string {
	if n.Foreign {
		return n.Body
	}
	return MessageText(n.ID, n.Body)
}

// Envelope is a control message and its destination.
type Envelope struct {
	To  int
	Msg Msg
}

// Output is what one or more inputs asked for; the adapter carries it
// out in order and then calls Core.ClearOutput.
type Output struct {
	// Persist holds records for the state log. They must be durable before
	// anything else in this Output is carried out: control messages (a
	// raft vote or acknowledgement), content (its number) and notes (a
	// Ready note the events log shows) all depend on them.
	Persist [][]byte
	// Rewrite says that Persist replaces the whole state log (compaction):
	// it holds everything a restart needs.
	Rewrite   bool
	ToNetwork []Message  // content to hand to the network program, as Text()
	Control   []Envelope // control messages, per destination in order
	Notes     []Note
}

// Empty reports whether there is nothing to do.
func (o *Output) Empty() bool {
	return len(o.Persist) == 0 && len(o.ToNetwork) == 0 && len(o.Control) == 0 && len(o.Notes) == 0
}
