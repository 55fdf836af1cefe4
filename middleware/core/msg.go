package core

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a control message is for.
type Kind byte

const (
	KindHeartbeat Kind = 'H' // I am alive; my epoch, leader, progress
	KindRequest   Kind = 'R' // sequencer, please order this id
	KindOrder     Kind = 'O' // id is at position Seq (epoch Epoch)
	KindGap       Kind = 'G' // please resend orders Seq..Hi
	KindTakeover  Kind = 'T' // I take over as sequencer for Epoch
	KindState     Kind = 'S' // what I know, for the new sequencer
	KindReject    Kind = 'X' // no: I follow Leader in a later Epoch
	KindNewEpoch  Kind = 'N' // Epoch starts; orders after Seq are void; you deliver from Start
	KindJoin      Kind = 'J' // a (re)started middleware asks to join
	KindWelcome   Kind = 'W' // joined: deliver from Seq, number your messages from Num
	KindFetch     Kind = 'F' // send me the content of ID
	KindContent   Kind = 'C' // the content of ID
	KindPropose   Kind = 'P' // ISIS: my proposed priority for ID
	KindFinal     Kind = 'A' // ISIS: the agreed priority for ID

	// KindLinkClosed is never on the wire: the adapter reports that the
	// control connection from From (incarnation Run) closed.
	KindLinkClosed Kind = 0
)

// Prio is an ISIS priority; ties between equal counters break on the
// proposer's id, so priorities are unique.
type Prio struct {
	Count uint64
	Node  int
}

// Less orders priorities.
func (p Prio) Less(q Prio) bool {
	return p.Count < q.Count || (p.Count == q.Count && p.Node < q.Node)
}

// Assign is one order assignment.
type Assign struct {
	Seq uint64
	ID  MsgID
}

// Range says that messages Lo..Hi of Sender were all given an order.
type Range struct {
	Sender int
	Lo, Hi uint64
}

// Msg is one control message. Which fields mean something depends on Kind
// (see the encoding below).
type Msg struct {
	Kind      Kind
	From      int // sender's id, set by the receiving link
	Epoch     uint64
	Leader    int
	Seq       uint64
	Hi        uint64
	Start     uint64
	Delivered uint64
	Num       uint64
	ID        MsgID
	Prio      Prio
	Joined    bool
	Run       string
	Text      string
	Assigns   []Assign
	IDs       []MsgID // state: ids held without an order
	MaxNums   []MsgID // state: highest message number seen per sender
	Ranges    []Range
}

// The control encoding: one message per line, space-separated fields, the
// kind letter first. A link starts with "HELLO <id> <run>" from the dialer.
//
//	H epoch leader assigned delivered joined run num   heartbeat (assigned in Seq;
//	                                               num: the highest message number
//	                                               of the recipient seen here)
//	R sender num                                   order request
//	O epoch seq sender num                         order assignment
//	G epoch lo hi                                  resend orders lo..hi
//	T epoch delivered                              take-over
//	S epoch delivered joined [a seq:s:n]… [u s:n]… [m s:n]…   state
//	X epoch leader                                 reject
//	N epoch prefixEnd start                        new epoch
//	J run                                          join
//	W epoch joinSeq voidsBefore nextNum run [s:lo-hi]…  welcome (run: the joiner's)
//	F sender num                                   fetch content
//	C sender num "text"                            content (Go-quoted; "" = not here)
//	P sender num count node                        ISIS proposal
//	A sender num count node                        ISIS final priority (0 0: abandoned,
//	                                               from the sender's next incarnation)

// AppendMsg appends m's encoding and a newline to dst.
func AppendMsg(dst []byte, m *Msg) []byte {
	dst = append(dst, byte(m.Kind))
	u := func(v uint64) { dst = append(dst, ' '); dst = strconv.AppendUint(dst, v, 10) }
	i := func(v int) { dst = append(dst, ' '); dst = strconv.AppendInt(dst, int64(v), 10) }
	id := func(x MsgID) { i(x.Sender); u(x.Num) }
	b := func(v bool) {
		if v {
			u(1)
		} else {
			u(0)
		}
	}
	switch m.Kind {
	case KindHeartbeat:
		u(m.Epoch)
		i(m.Leader)
		u(m.Seq)
		u(m.Delivered)
		b(m.Joined)
		dst = append(dst, ' ')
		dst = append(dst, RunToken(m.Run)...)
		u(m.Num)
	case KindRequest, KindFetch:
		id(m.ID)
	case KindOrder:
		u(m.Epoch)
		u(m.Seq)
		id(m.ID)
	case KindGap:
		u(m.Epoch)
		u(m.Seq)
		u(m.Hi)
	case KindTakeover:
		u(m.Epoch)
		u(m.Delivered)
	case KindState:
		u(m.Epoch)
		u(m.Delivered)
		b(m.Joined)
		for _, a := range m.Assigns {
			dst = append(dst, " a "...)
			dst = strconv.AppendUint(dst, a.Seq, 10)
			dst = append(dst, ':')
			dst = appendID(dst, a.ID)
		}
		for _, x := range m.IDs {
			dst = append(dst, " u "...)
			dst = appendID(dst, x)
		}
		for _, x := range m.MaxNums {
			dst = append(dst, " m "...)
			dst = appendID(dst, x)
		}
	case KindReject:
		u(m.Epoch)
		i(m.Leader)
	case KindNewEpoch:
		u(m.Epoch)
		u(m.Seq)
		u(m.Start)
	case KindJoin:
		dst = append(dst, ' ')
		dst = append(dst, RunToken(m.Run)...)
	case KindWelcome:
		u(m.Epoch)
		u(m.Seq)
		u(m.Hi)
		u(m.Num)
		dst = append(dst, ' ')
		dst = append(dst, RunToken(m.Run)...)
		for _, r := range m.Ranges {
			dst = append(dst, ' ')
			dst = strconv.AppendInt(dst, int64(r.Sender), 10)
			dst = append(dst, ':')
			dst = strconv.AppendUint(dst, r.Lo, 10)
			dst = append(dst, '-')
			dst = strconv.AppendUint(dst, r.Hi, 10)
		}
	case KindContent:
		id(m.ID)
		dst = append(dst, ' ')
		dst = strconv.AppendQuote(dst, m.Text)
	case KindPropose, KindFinal:
		id(m.ID)
		u(m.Prio.Count)
		i(m.Prio.Node)
	}
	return append(dst, '\n')
}

func appendID(dst []byte, x MsgID) []byte {
	dst = strconv.AppendInt(dst, int64(x.Sender), 10)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, x.Num, 10)
}

// RunToken is an incarnation id as one token of the control encoding
// ("-" for none or one that would not fit in a token); run reads it back.
func RunToken(run string) string {
	if run == "" || strings.ContainsAny(run, " \n\r\t") {
		return "-"
	}
	return run
}

func (d *decoder) run() string {
	if w := d.word(); w != "-" {
		return w
	}
	return ""
}

// ErrBadMsg reports a control line that does not decode.
var ErrBadMsg = errors.New("bad control message")

// DecodeMsg parses one line (without its newline).
func DecodeMsg(line []byte) (Msg, error) {
	var m Msg
	if len(line) == 0 {
		return m, ErrBadMsg
	}
	m.Kind = Kind(line[0])
	d := decoder{rest: line[1:]}
	switch m.Kind {
	case KindHeartbeat:
		m.Epoch, m.Leader, m.Seq, m.Delivered = d.u(), d.i(), d.u(), d.u()
		m.Joined = d.u() == 1
		m.Run = d.run()
		m.Num = d.u()
	case KindRequest, KindFetch:
		m.ID = d.id()
	case KindOrder:
		m.Epoch, m.Seq = d.u(), d.u()
		m.ID = d.id()
	case KindGap:
		m.Epoch, m.Seq, m.Hi = d.u(), d.u(), d.u()
	case KindTakeover:
		m.Epoch, m.Delivered = d.u(), d.u()
	case KindState:
		m.Epoch, m.Delivered = d.u(), d.u()
		m.Joined = d.u() == 1
		for d.err == nil && d.more() {
			switch d.word() {
			case "a":
				w := d.word()
				k := strings.IndexByte(w, ':')
				if k < 0 {
					d.fail()
					break
				}
				seq, err := strconv.ParseUint(w[:k], 10, 64)
				x, ok := parseID(w[k+1:])
				if err != nil || !ok {
					d.fail()
					break
				}
				m.Assigns = append(m.Assigns, Assign{Seq: seq, ID: x})
			case "u":
				m.IDs = append(m.IDs, d.idToken())
			case "m":
				m.MaxNums = append(m.MaxNums, d.idToken())
			default:
				d.fail()
			}
		}
	case KindReject:
		m.Epoch, m.Leader = d.u(), d.i()
	case KindNewEpoch:
		m.Epoch, m.Seq, m.Start = d.u(), d.u(), d.u()
	case KindJoin:
		m.Run = d.run()
	case KindWelcome:
		m.Epoch, m.Seq, m.Hi, m.Num = d.u(), d.u(), d.u(), d.u()
		m.Run = d.run()
		for d.err == nil && d.more() {
			w := d.word()
			c, h := strings.IndexByte(w, ':'), strings.IndexByte(w, '-')
			if c < 0 || h < c {
				d.fail()
				break
			}
			s, e1 := strconv.Atoi(w[:c])
			lo, e2 := strconv.ParseUint(w[c+1:h], 10, 64)
			hi, e3 := strconv.ParseUint(w[h+1:], 10, 64)
			if e1 != nil || e2 != nil || e3 != nil {
				d.fail()
				break
			}
			m.Ranges = append(m.Ranges, Range{Sender: s, Lo: lo, Hi: hi})
		}
	case KindContent:
		m.ID = d.id()
		if d.err == nil {
			t, err := strconv.Unquote(strings.TrimSpace(string(d.rest)))
			if err != nil {
				d.fail()
			}
			m.Text, d.rest = t, nil
		}
	case KindPropose, KindFinal:
		m.ID = d.id()
		m.Prio.Count, m.Prio.Node = d.u(), d.i()
	default:
		return m, fmt.Errorf("%w: unknown kind %q", ErrBadMsg, line[0])
	}
	if d.err == nil && d.more() {
		d.fail()
	}
	if d.err != nil {
		return m, fmt.Errorf("%w: %.60q", ErrBadMsg, line)
	}
	return m, nil
}

type decoder struct {
	rest []byte
	err  error
}

func (d *decoder) fail() { d.err = ErrBadMsg }

func (d *decoder) more() bool {
	for len(d.rest) > 0 && d.rest[0] == ' ' {
		d.rest = d.rest[1:]
	}
	return len(d.rest) > 0
}

func (d *decoder) word() string {
	if !d.more() {
		d.fail()
		return ""
	}
	k := 0
	for k < len(d.rest) && d.rest[k] != ' ' {
		k++
	}
	w := string(d.rest[:k])
	d.rest = d.rest[k:]
	return w
}

func (d *decoder) u() uint64 {
	if !d.more() {
		d.fail()
		return 0
	}
	var v uint64
	k := 0
	for ; k < len(d.rest) && d.rest[k] != ' '; k++ {
		c := d.rest[k]
		if c < '0' || c > '9' || v > (1<<63)/10 {
			d.fail()
			return 0
		}
		v = v*10 + uint64(c-'0')
	}
	d.rest = d.rest[k:]
	return v
}

func (d *decoder) i() int {
	v := d.u()
	if v > 1<<20 {
		d.fail()
	}
	return int(v)
}

func (d *decoder) id() MsgID { return MsgID{Sender: d.i(), Num: d.u()} }

func (d *decoder) idToken() MsgID {
	x, ok := parseID(d.word())
	if !ok {
		d.fail()
	}
	return x
}

func parseID(w string) (MsgID, bool) {
	k := strings.IndexByte(w, ':')
	if k < 0 {
		return MsgID{}, false
	}
	s, e1 := strconv.Atoi(w[:k])
	n, e2 := strconv.ParseUint(w[k+1:], 10, 64)
	return MsgID{Sender: s, Num: n}, e1 == nil && e2 == nil
}
