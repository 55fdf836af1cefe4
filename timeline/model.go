// Package timeline turns the lab's events logs into a space-time (Lamport)
// diagram: one lane per middleware and one for the network program, time
// left to right, a send, an arrow per copy, a hold-back bar and a Ready
// mark per message and middleware. The same code serves a live view (the
// logs are tailed while the lab runs) and a past run (the logs are read
// once), and the same scene is painted into an image (Painter: what a
// Fyne window of package gui shows, and the PNG export), written as SVG,
// and the same model as a ShiViz log.
//
// Sources, one JSON object a line, read with the events log package
// (internal/evlog, which says what each record holds):
//
//   - logs/middleware-I.jsonl: sent, received (with "recovered" or
//     "fetched" when the content did not come from the network), ready
//     (with seq); diverged (the middleware's live agreement check found
//     its Ready list first differs from a peer's: a red mark "≠3 at #7"
//     on its lane); and the optional control (a control message to or
//     from a peer; written with the middleware's -events-control), leader
//     (this middleware's view of the leader changed) and mark (anything
//     else worth a mark on the lane: cut off, paused, resumed…). A new run
//     id on a lane is a restart.
//   - logs/netsim.jsonl (the network program's -events): accepted, copy
//     (the copy was handed to its middleware after its delay) and drop
//     (fault injection).
package timeline

import (
	"sort"
	"strings"

	"totalorder/internal/evlog"
)

// Copy is what happened to one message at one middleware.
type Copy struct {
	Recv      int64 // µs; 0 until it arrived
	Recovered bool  // its content came from the log or a peer, not the network
	NetOut    int64 // when the network program handed the copy over, µs; 0 unknown
	Delay     int64 // the copy's random delay at the network program, µs; -1 unknown
	Dropped   bool  // the network program dropped it (fault injection)
	Ready     int64 // µs; 0 until delivered
	Seq       uint64
}

// Message is one multicast message, named by its text.
type Message struct {
	Text     string
	Sender   int   // from the text; 0 if it does not say
	Sent     int64 // at the sender, µs; 0 unknown
	Accepted int64 // at the network program, µs; 0 unknown
	Copies   []Copy
	first    int64 // earliest event
	last     int64 // latest event
	gen      uint64
}

// First is the time of the message's earliest event (µs).
func (m *Message) First() int64 { return m.first }

// Last is the time of its latest event (µs).
func (m *Message) Last() int64 { return m.last }

// Control is one control message between middlewares. In is 0 when the
// receiving side did not log it (or has not yet).
type Control struct {
	From, To int
	Kind     string
	Out, In  int64
}

// MarkKind says what a lane mark stands for.
type MarkKind uint8

const (
	MarkRestart MarkKind = iota + 1 // a new run of the middleware started
	MarkLeader                      // its view of the leader changed
	MarkOther                       // cut off, paused, resumed…: the label says
	// MarkDiverged: the lane's middleware found its Ready list first
	// differs from Peer's at Seq (its live agreement check recorded it).
	MarkDiverged
)

// Mark is an event of one lane that is not about a message.
type Mark struct {
	Lane   int
	TS     int64
	Kind   MarkKind
	Label  string
	Leader int    // MarkLeader: the leader it now follows (0: none)
	Term   uint64 // MarkLeader
	Peer   int    // MarkDiverged: the middleware it differs from
	Seq    uint64 // MarkDiverged: the first position that differs
	// Here and There are the messages at Seq here and at Peer
	// (MarkDiverged; message ids, as the live check knows them).
	Here, There string
}

// Limits bound what a Model keeps; the zero value keeps everything (a
// past run). A live view keeps what it can show.
type Limits struct {
	// Span: messages, control messages and marks whose latest event is
	// older than Span before the newest event are forgotten.
	Span int64 // µs
	// Messages caps the messages kept (oldest forgotten first).
	Messages int
	// Controls caps the control messages kept.
	Controls int
}

// LiveLimits is what the live view keeps: a minute (twice the span it
// shows by default), and ten times the messages it draws.
var LiveLimits = Limits{Span: 60e6, Messages: 2000, Controls: 4000}

// Model holds a run's events by message. It is not safe for concurrent
// use.
type Model struct {
	N      int // lanes 1..N are middlewares (grows with what the logs name)
	Limits Limits

	msgs     map[string]*Message
	order    []*Message // by first event, roughly: the order they were first seen
	controls []Control
	ctlOpen  map[ctlKey][]int // indices into controls of outs not matched with an in
	marks    []Mark
	runs     map[int]string  // last run id seen per middleware
	leaders  map[int]Mark    // last leader view per middleware
	diverged map[divKey]bool // divergences marked
	t0       int64           // earliest event ever seen
	latest   int64           // newest event seen
	gen      uint64          // bumps on every change
	hasNet   bool            // a network program log was read
	dropped  int             // messages forgotten by Limits
}

type ctlKey struct {
	from, to int
	kind     string
}

// divKey names what a middleware records once: its first divergence from
// a peer, per incarnation.
type divKey struct {
	lane, peer int
	run        string
}

// NewModel returns an empty model for n middlewares (n may grow).
func NewModel(n int, lim Limits) *Model {
	return &Model{
		N: max(n, 1), Limits: lim,
		msgs: map[string]*Message{}, ctlOpen: map[ctlKey][]int{},
		runs: map[int]string{}, leaders: map[int]Mark{}, diverged: map[divKey]bool{},
	}
}

// Gen changes whenever the model does: a view redraws only then.
func (m *Model) Gen() uint64 { return m.gen }

// Len is the number of messages held.
func (m *Model) Len() int { return len(m.order) }

// Messages are the messages held, in the order they were first seen.
func (m *Model) Messages() []*Message { return m.order }

// Message finds a message by its text.
func (m *Model) Message(text string) *Message { return m.msgs[text] }

// Controls are the control messages held, in the order logged.
func (m *Model) Controls() []Control { return m.controls }

// Marks are the lane marks held, in the order logged.
func (m *Model) Marks() []Mark { return m.marks }

// Start is the earliest event seen (µs), the diagram's time origin.
func (m *Model) Start() int64 { return m.t0 }

// Latest is the newest event seen (µs).
func (m *Model) Latest() int64 { return m.latest }

// HasNetwork reports whether the network program's events were read.
func (m *Model) HasNetwork() bool { return m.hasNet }

func (m *Model) seen(ts int64) {
	if ts <= 0 {
		return
	}
	if m.t0 == 0 || ts < m.t0 {
		m.t0 = ts
	}
	m.latest = max(m.latest, ts)
}

func (m *Model) grow(lane int) {
	if lane > m.N && lane <= 64 {
		m.N = lane
		for _, msg := range m.order {
			for len(msg.Copies) < m.N {
				msg.Copies = append(msg.Copies, Copy{Delay: -1})
			}
		}
	}
}

// message finds or creates the message named text (or, when text is "",
// by b: no string is made for a message already known).
func (m *Model) message(b []byte, text string, ts int64) *Message {
	var msg *Message
	if text != "" {
		msg = m.msgs[text]
	} else {
		msg = m.msgs[string(b)]
	}
	if msg == nil {
		if text == "" {
			text = string(b)
		}
		msg = &Message{Text: text, Sender: senderOf(text), Copies: make([]Copy, m.N), first: ts, last: ts}
		for i := range msg.Copies {
			msg.Copies[i].Delay = -1
		}
		m.msgs[text] = msg
		m.order = append(m.order, msg)
		m.grow(msg.Sender)
	}
	if ts > 0 {
		if msg.first == 0 || ts < msg.first {
			msg.first = ts
		}
		msg.last = max(msg.last, ts)
	}
	m.gen++
	msg.gen = m.gen
	m.seen(ts)
	return msg
}

// textOf is b as a string, the known message's own when there is one.
func (m *Model) textOf(b []byte) string {
	if msg := m.msgs[string(b)]; msg != nil {
		return msg.Text
	}
	return string(b)
}

// copyOf is message msg's copy at middleware mw (1-based), or nil.
func (m *Model) copyOf(msg *Message, mw int) *Copy {
	m.grow(mw)
	if mw < 1 || mw > len(msg.Copies) {
		return nil
	}
	return &msg.Copies[mw-1]
}

// Add takes one record of an events log; lane is the middleware whose
// log it is in (0 for the network program's), which the record's "mw"
// overrides. Records of several logs go in in time order (a Source sees to
// it): a control message's "in" matches an "out" added before it.
func (m *Model) Add(lane int, r *evlog.Record) { m.add(lane, r, "") }

// add is Add, with text, when not "", standing for r.Msg.
func (m *Model) add(lane int, r *evlog.Record, text string) {
	if r.MW > 0 {
		lane = r.MW
	}
	switch r.Event {
	case evlog.Sent, evlog.Received, evlog.Ready:
		if !r.Foreign { // not a lab message: no lab message's copy
			m.addEntry(lane, r, text)
		}
		return
	case evlog.Diverged:
		if text == "" {
			text = string(r.Msg)
		}
		m.addDiverged(lane, r.Run, r.Peer, r.Seq, text, r.There, r.TS)
		return
	}
	if r.TS <= 0 {
		return
	}
	switch r.Event {
	case evlog.Accepted:
		m.hasNet = true
		msg := m.message(r.Msg, text, r.TS)
		if msg.Accepted == 0 {
			msg.Accepted = r.TS
		}
	case evlog.Copy, evlog.Drop:
		m.hasNet = true
		msg := m.message(r.Msg, text, r.TS)
		if c := m.copyOf(msg, r.To); c != nil && c.NetOut == 0 {
			if r.Event == evlog.Drop {
				c.Dropped = true
				break
			}
			c.NetOut = r.TS
			c.Delay = r.DelayUS
		}
	case evlog.Control:
		m.addControl(lane, r)
	case evlog.Leader:
		if lane < 1 {
			return
		}
		m.grow(lane)
		mk := Mark{Lane: lane, TS: r.TS, Kind: MarkLeader, Leader: r.Leader, Term: r.Term}
		if prev, ok := m.leaders[lane]; ok && prev.Leader == mk.Leader && prev.Term == mk.Term {
			return
		}
		m.leaders[lane] = mk
		mk.Label = leaderLabel(mk.Leader, mk.Term)
		m.addMark(mk)
	case evlog.Mark:
		m.grow(lane)
		m.addMark(Mark{Lane: lane, TS: r.TS, Kind: MarkOther, Label: r.Label})
	}
}

// addEntry takes a change of middleware mw's lists. A new run id on its
// lane is a restart.
func (m *Model) addEntry(mw int, r *evlog.Record, text string) {
	m.grow(mw)
	if r.Run != "" {
		if prev, ok := m.runs[mw]; ok && prev != r.Run {
			m.addMark(Mark{Lane: mw, TS: r.TS, Kind: MarkRestart, Label: "restart"})
		}
		m.runs[mw] = r.Run
	}
	msg := m.message(r.Msg, text, r.TS)
	switch r.Event {
	case evlog.Sent:
		msg.Sent = r.TS
		if msg.Sender == 0 {
			msg.Sender = mw
		}
	case evlog.Received:
		if c := m.copyOf(msg, mw); c != nil && c.Recv == 0 {
			c.Recv, c.Recovered = r.TS, r.Recovered || r.Fetched
		}
	case evlog.Ready:
		if c := m.copyOf(msg, mw); c != nil && c.Ready == 0 {
			c.Ready, c.Seq = r.TS, r.Seq
		}
	}
}

// addDiverged marks the first divergence from a peer that middleware
// lane recorded (once per peer and incarnation, as the middleware records
// it; a line read twice is marked once): it differs from peer at seq,
// holding here where the peer holds there.
func (m *Model) addDiverged(lane int, run string, peer int, seq uint64, here, there string, ts int64) {
	if lane < 1 || peer < 1 || ts <= 0 {
		return
	}
	k := divKey{lane, peer, run}
	if m.diverged[k] {
		return
	}
	m.diverged[k] = true
	m.grow(max(lane, peer))
	m.addMark(Mark{Lane: lane, TS: ts, Kind: MarkDiverged, Label: "≠" + itoa(int64(peer)) + " at #" + itoa(int64(seq)),
		Peer: peer, Seq: seq, Here: here, There: there})
}

func leaderLabel(leader int, term uint64) string {
	var b strings.Builder
	if leader == 0 {
		b.WriteString("no leader")
	} else {
		b.WriteString("leader ")
		b.WriteString(itoa(int64(leader)))
	}
	if term > 0 {
		b.WriteString(" · term ")
		b.WriteString(itoa(int64(term)))
	}
	return b.String()
}

func (m *Model) addMark(mk Mark) {
	m.marks = append(m.marks, mk)
	m.seen(mk.TS)
	m.gen++
}

// addControl records an out (lane sent to r.Peer) or matches an in (lane
// received from r.Peer) with the oldest unmatched out of the same kind on
// that link: control links are FIFO, so that is the one, unless the out
// was lost (then it is too old and is skipped).
func (m *Model) addControl(lane int, r *evlog.Record) {
	if lane < 1 || r.Peer < 1 {
		return
	}
	m.grow(max(lane, r.Peer))
	m.seen(r.TS)
	m.gen++
	switch r.Dir {
	case "out":
		m.controls = append(m.controls, Control{From: lane, To: r.Peer, Kind: r.Kind, Out: r.TS})
		k := ctlKey{lane, r.Peer, r.Kind}
		m.ctlOpen[k] = append(m.ctlOpen[k], len(m.controls)-1)
	case "in":
		k := ctlKey{r.Peer, lane, r.Kind}
		open := m.ctlOpen[k]
		const lost = 5e6 // an out unanswered this long was lost
		for len(open) > 0 {
			c := &m.controls[open[0]]
			open = open[1:]
			if c.Out <= r.TS && r.TS-c.Out < lost {
				c.In = r.TS
				break
			}
		}
		if len(open) == 0 {
			delete(m.ctlOpen, k)
		} else {
			m.ctlOpen[k] = open
		}
	}
}

// senderOf reads the sender from "Msg #k from Middleware i", with or
// without a body (": Bid 130 on Lamp"), which may name middlewares too:
// the first " from Middleware " is the header's.
func senderOf(text string) int {
	const p = " from Middleware "
	i := strings.Index(text, p)
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range text[i+len(p):] {
		if c < '0' || c > '9' || n > 1000 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Trim forgets what Limits say is too old or too much. It is cheap when
// there is nothing to forget.
func (m *Model) Trim() {
	lim := m.Limits
	if lim.Span > 0 && len(m.order) > 0 {
		horizon := m.latest - lim.Span
		k := 0
		for k < len(m.order) && m.order[k].last < horizon {
			k++
		}
		m.forget(k)
	}
	if lim.Messages > 0 && len(m.order) > lim.Messages {
		m.forget(len(m.order) - lim.Messages)
	}
	if lim.Span > 0 {
		horizon := m.latest - lim.Span
		k := 0
		for k < len(m.controls) && m.controls[k].Out < horizon {
			k++
		}
		m.forgetControls(k)
		j := 0
		for j < len(m.marks) && m.marks[j].TS < horizon {
			j++
		}
		if j > 0 {
			m.marks = append(m.marks[:0], m.marks[j:]...)
		}
	}
	if lim.Controls > 0 && len(m.controls) > lim.Controls {
		m.forgetControls(len(m.controls) - lim.Controls)
	}
}

// forget drops the k oldest messages.
func (m *Model) forget(k int) {
	if k <= 0 {
		return
	}
	for _, msg := range m.order[:k] {
		delete(m.msgs, msg.Text)
	}
	m.dropped += k
	n := copy(m.order, m.order[k:])
	clear(m.order[n:])
	m.order = m.order[:n]
	m.gen++
}

func (m *Model) forgetControls(k int) {
	if k <= 0 {
		return
	}
	n := copy(m.controls, m.controls[k:])
	m.controls = m.controls[:n]
	for key, open := range m.ctlOpen {
		kept := open[:0]
		for _, i := range open {
			if i >= k {
				kept = append(kept, i-k)
			}
		}
		if len(kept) == 0 {
			delete(m.ctlOpen, key)
		} else {
			m.ctlOpen[key] = kept
		}
	}
	m.gen++
}

// sortByFirst orders messages by their first event (a past run read file
// by file sees them out of order).
func (m *Model) sortByFirst() {
	sort.SliceStable(m.order, func(i, j int) bool { return m.order[i].first < m.order[j].first })
	sort.SliceStable(m.marks, func(i, j int) bool { return m.marks[i].TS < m.marks[j].TS })
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
