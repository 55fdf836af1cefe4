package evlog

// This file is the events log's format: the record, its events, and how
// each field is written and read. A new field is a struct field below
// (its tag is its name in the log), a line in AppendJSON and a case in
// decodeField, all in this file: TestEveryFieldRoundTrips fails until
// the three agree, and FuzzDecodeLikeEncodingJSON holds decodeField to
// what encoding/json reads under the tag's name.

// Event says what a record is about.
type Event uint8

const (
	// Unknown is a record without an event, or with one this package does
	// not know (readers skip it; the checker counts it).
	Unknown Event = iota

	// A middleware's lists (see the Record fields each carries).
	Sent     // the application sent Msg
	Received // Msg's content arrived (Recovered: from the order, not the network)
	Ready    // Msg delivered at position Seq
	// Diverged: the live agreement check found this middleware's Ready
	// list first differs from Peer's at Seq (Msg here, There there).
	Diverged
	// Lost: Count events in [FromTS, ToTS] could not be written (Error);
	// Final when the log ends with them.
	Lost
	// Control: a control message of Kind to or from Peer (Dir "out" or
	// "in"); written with the middleware's -events-control.
	Control
	// Leader: this middleware's view of the leader changed (Leader 0:
	// none known; Term).
	Leader
	// Mark: a moment worth a mark on the middleware's lane (Label: "cut
	// off", "reconnected", "paused", "resumed").
	Mark

	// The network program's log.
	Accepted // message ID (Msg) came in
	Copy     // its copy was handed to middleware To after DelayUS
	Drop     // its copy to middleware To was dropped (fault injection)

	numEvents
)

var eventNames = [numEvents]string{
	Sent: "sent", Received: "received", Ready: "ready", Diverged: "diverged", Lost: "lost",
	Control: "control", Leader: "leader", Mark: "mark",
	Accepted: "accepted", Copy: "copy", Drop: "drop",
}

// String is the event's name in the log ("" for Unknown).
func (e Event) String() string {
	if e < numEvents {
		return eventNames[e]
	}
	return ""
}

// ParseEvent is the event named name, or Unknown.
func ParseEvent(name []byte) Event {
	for e := Sent; e < numEvents; e++ {
		if string(name) == eventNames[e] {
			return e
		}
	}
	return Unknown
}

// List reports whether e is a change of a middleware's lists.
func (e Event) List() bool { return e == Sent || e == Received || e == Ready }

// Record is one line of an events log. Each field's tag is its name in
// the log. A zero field is not written and reads back as zero (an absent
// "mw" is 0, an absent "msg" nil).
//
// Msg is bytes, so that writers need not make a string of each message
// and readers need not either: a Record a Reader returns is valid until
// its next call (copy Msg, string(r.Msg), to keep it).
type Record struct {
	Event Event  `evlog:"event"`
	ID    uint64 `evlog:"id"`    // the network program's number for the message
	Msg   []byte `evlog:"msg"`   // the human part, "Msg #3 from Middleware 2"
	TS    int64  `evlog:"ts_us"` // when, unix µs
	Seq   uint64 `evlog:"seq"`   // Ready, Diverged: the position
	To    int    `evlog:"to"`    // Copy, Drop: the destination, 1-based
	// DelayUS is a Copy's random delay, µs (always written on a copy,
	// even 0).
	DelayUS int64 `evlog:"delay_us"`
	// Recovered marks a Received whose content came from the order (or
	// an isis sender), not the network.
	Recovered bool `evlog:"recovered"`
	Fetched   bool `evlog:"fetched"` // older logs' Recovered (content from a peer)
	// Foreign marks a Received of content that is not a lab message (a
	// student's middleware's, the skeleton's): Msg is the whole text; it
	// is never delivered, and the checker leaves it out.
	Foreign bool   `evlog:"foreign"`
	Peer    int    `evlog:"peer"`       // Diverged, Control: the other middleware
	There   string `evlog:"there"`      // Diverged: the message at Seq at Peer
	Dir     string `evlog:"dir"`        // Control: "out" or "in"
	Kind    string `evlog:"kind"`       // Control: the message's kind ("MsgApp", "order"…)
	Leader  int    `evlog:"leader"`     // Leader (always written; 0: none known)
	Term    uint64 `evlog:"term"`       // Leader
	Label   string `evlog:"label"`      // Mark
	Count   int    `evlog:"count"`      // Lost: how many events
	FromTS  int64  `evlog:"from_ts_us"` // Lost: the first one's TS
	ToTS    int64  `evlog:"to_ts_us"`   // Lost: the last one's
	Error   string `evlog:"error"`      // Lost: why ("no space left")
	Final   bool   `evlog:"final"`      // Lost: the log ends with them
	MW      int    `evlog:"mw"`         // the middleware that wrote it (every middleware record)
	// Run is the middleware's incarnation (every middleware record); read
	// from a string, or from any other value as its JSON text (a number
	// in some logs).
	Run string `evlog:"run,text"`
}

// AppendJSON appends r as one JSON object, without a newline:
//
//	{"event":"ready","msg":"Msg #3 from Middleware 2","ts_us":1700000000000000,"seq":7,"mw":1,"run":"1700000000000000"}
//
// "event" comes first, so a line's kind shows at its start.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	if r.Event != Unknown {
		b = append(b, `"event":"`...)
		b = append(b, r.Event.String()...)
		b = append(b, '"')
	}
	b = appendUint(b, "id", r.ID)
	if r.Msg != nil {
		b = appendString(appendKey(b, "msg"), r.Msg)
	}
	b = appendInt(b, "ts_us", r.TS)
	b = appendUint(b, "seq", r.Seq)
	b = appendInt(b, "to", int64(r.To))
	if r.DelayUS != 0 || r.Event == Copy {
		b = appendInt64(appendKey(b, "delay_us"), r.DelayUS)
	}
	b = appendBool(b, "recovered", r.Recovered)
	b = appendBool(b, "fetched", r.Fetched)
	b = appendBool(b, "foreign", r.Foreign)
	b = appendInt(b, "peer", int64(r.Peer))
	b = appendStr(b, "there", r.There)
	b = appendStr(b, "dir", r.Dir)
	b = appendStr(b, "kind", r.Kind)
	if r.Leader != 0 || r.Event == Leader {
		b = appendInt64(appendKey(b, "leader"), int64(r.Leader))
	}
	b = appendUint(b, "term", r.Term)
	b = appendStr(b, "label", r.Label)
	b = appendInt(b, "count", int64(r.Count))
	b = appendInt(b, "from_ts_us", r.FromTS)
	b = appendInt(b, "to_ts_us", r.ToTS)
	b = appendStr(b, "error", r.Error)
	b = appendBool(b, "final", r.Final)
	b = appendInt(b, "mw", int64(r.MW))
	b = appendStr(b, "run", r.Run)
	return append(b, '}')
}

// decodeField reads the value of key into r. Keys match exactly; others
// (a logging library's "level" and "time" in older logs) are skipped.
func (r *Record) decodeField(key []byte, v *value) (err error) {
	switch string(key) {
	case "event":
		r.Event, err = v.event()
	case "id":
		r.ID, err = v.uint()
	case "msg":
		r.Msg, err = v.bytes()
	case "ts_us":
		v.d.hasTS = v.peek() != 'n' // null is absent
		r.TS, err = v.int()
	case "seq":
		r.Seq, err = v.uint()
	case "to":
		r.To, err = v.intN()
	case "delay_us":
		r.DelayUS, err = v.int()
	case "recovered":
		r.Recovered, err = v.bool()
	case "fetched":
		r.Fetched, err = v.bool()
	case "foreign":
		r.Foreign, err = v.bool()
	case "peer":
		r.Peer, err = v.intN()
	case "there":
		r.There, err = v.string(false)
	case "dir":
		r.Dir, err = v.string(true)
	case "kind":
		r.Kind, err = v.string(true)
	case "leader":
		r.Leader, err = v.intN()
	case "term":
		r.Term, err = v.uint()
	case "label":
		r.Label, err = v.string(true)
	case "count":
		r.Count, err = v.intN()
	case "from_ts_us":
		r.FromTS, err = v.int()
	case "to_ts_us":
		r.ToTS, err = v.int()
	case "error":
		r.Error, err = v.string(true)
	case "final":
		r.Final, err = v.bool()
	case "mw":
		r.MW, err = v.intN()
	case "run":
		r.Run, err = v.text()
	default:
		err = v.skip()
	}
	return err
}

// complete reports whether r has what its event needs to be used: a
// time, and a message for the events about one. A line without is not a
// record (ErrIncomplete).
func (r *Record) complete(hasTS bool) bool {
	switch r.Event {
	case Unknown:
		return true
	case Sent, Received, Ready, Diverged, Accepted, Copy, Drop:
		return hasTS && r.Msg != nil
	}
	return hasTS
}
