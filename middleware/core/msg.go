package core

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Kind says what a control message is for.
type Kind byte

const (
	KindHeartbeat Kind = 'H' // I am alive (status lines); the sequencer adds its positions
	KindRaft      Kind = 'Y' // raft: one raft message
	KindRequest   Kind = 'R' // sequencer: please order my message ID
	KindOrder     Kind = 'O' // sequencer: position Seq holds ID
	KindGap       Kind = 'G' // sequencer: please send orders Seq..Hi again
	KindAnnounce  Kind = 'N' // isis: I sent my messages ID.Num..Hi
	KindPropose   Kind = 'P' // isis: my proposed priority for ID
	KindFinal     Kind = 'A' // isis: the agreed priority for ID
	KindContent   Kind = 'C' // isis: the content of ID, pushed by its sender

	// KindLinkClosed is never on the wire: the adapter reports that the
	// control connection from From (incarnation Run) closed.
	KindLinkClosed Kind = 0
)

var kindNames = map[Kind]string{
	KindHeartbeat: "Heartbeat", KindRaft: "Raft", KindRequest: "Request", KindOrder: "Order",
	KindGap: "Gap", KindAnnounce: "Announce", KindPropose: "Propose", KindFinal: "Final", KindContent: "Content",
	KindLinkClosed: "LinkClosed",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%q)", byte(k))
}

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

// Msg is one control message. Each field keeps one meaning whatever the
// kind; which fields a kind carries is in the encoding table below.
type Msg struct {
	Kind Kind
	From int    // sender's id, set by the receiving link, never encoded
	Run  string // the sender's incarnation (heartbeat)
	Seq  uint64 // a position in the order (order, gap: first; heartbeat: positions known)
	Hi   uint64 // the last position asked for (gap); the last number announced
	ID   MsgID  // the message concerned
	Prio Prio   // a priority (isis)
	Text string // content (isis push)
	Raft []byte // one raft message in raft's protobuf encoding
}

// String prints a message by name, as a trace shows it.
func (m Msg) String() string {
	switch m.Kind {
	case KindRaft:
		pm := &pb.Message{}
		if err := proto.Unmarshal(m.Raft, pm); err != nil {
			return "Raft <undecodable>"
		}
		return "Raft " + raft.DescribeMessage(pm, nil)
	case KindHeartbeat:
		return fmt.Sprintf("Heartbeat run=%s seq=%d", RunToken(m.Run), m.Seq)
	case KindRequest:
		return fmt.Sprintf("Request %d:%d", m.ID.Sender, m.ID.Num)
	case KindOrder:
		return fmt.Sprintf("Order seq=%d id=%d:%d", m.Seq, m.ID.Sender, m.ID.Num)
	case KindGap:
		return fmt.Sprintf("Gap %d..%d", m.Seq, m.Hi)
	case KindAnnounce:
		return fmt.Sprintf("Announce %d:%d..%d", m.ID.Sender, m.ID.Num, m.Hi)
	case KindPropose, KindFinal:
		return fmt.Sprintf("%v %d:%d prio=%d.%d", m.Kind, m.ID.Sender, m.ID.Num, m.Prio.Count, m.Prio.Node)
	case KindContent:
		return fmt.Sprintf("Content %d:%d %q", m.ID.Sender, m.ID.Num, m.Text)
	}
	return m.Kind.String()
}

// The control encoding: one message per line, space-separated fields, the
// kind letter first. Numbers are decimal uint64 (ids: int up to 2^20).
//
//	H run seq                     heartbeat (seq: positions the sequencer gave)
//	Y base64                      raft message (protobuf, standard base64, no padding)
//	R sender num                  order request
//	O seq sender num              order
//	G seq hi                      resend orders seq..hi
//	N sender num hi               ISIS announcement of messages num..hi
//	P sender num count node       ISIS proposal
//	A sender num count node       ISIS final priority
//	C sender num "text"           ISIS content push (Go-quoted)

// AppendMsg appends m's encoding and a newline to dst.
func AppendMsg(dst []byte, m *Msg) []byte {
	dst = append(dst, byte(m.Kind))
	u := func(v uint64) { dst = append(dst, ' '); dst = strconv.AppendUint(dst, v, 10) }
	i := func(v int) { dst = append(dst, ' '); dst = strconv.AppendInt(dst, int64(v), 10) }
	id := func(x MsgID) { i(x.Sender); u(x.Num) }
	switch m.Kind {
	case KindHeartbeat:
		dst = append(dst, ' ')
		dst = append(dst, RunToken(m.Run)...)
		u(m.Seq)
	case KindRaft:
		dst = append(dst, ' ')
		dst = base64.RawStdEncoding.AppendEncode(dst, m.Raft)
	case KindRequest:
		id(m.ID)
	case KindOrder:
		u(m.Seq)
		id(m.ID)
	case KindGap:
		u(m.Seq)
		u(m.Hi)
	case KindAnnounce:
		id(m.ID)
		u(m.Hi)
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

// RunToken is an incarnation id as one token of the control encoding
// ("-" for none or one that would not fit in a token).
func RunToken(run string) string {
	if run == "" || run == "-" || strings.ContainsFunc(run, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "-"
	}
	return run
}

// ErrBadMsg reports a control line that does not decode.
var ErrBadMsg = errors.New("bad control message")

// maxNode bounds ids in the encoding.
const maxNode = 1 << 20

// DecodeMsg parses one line (without its newline). It accepts exactly what
// AppendMsg produces.
func DecodeMsg(line []byte) (Msg, error) {
	var m Msg
	if len(line) == 0 {
		return m, ErrBadMsg
	}
	m.Kind = Kind(line[0])
	d := decoder{rest: line[1:]}
	switch m.Kind {
	case KindHeartbeat:
		if m.Run = d.word(); m.Run == "-" {
			m.Run = ""
		}
		m.Seq = d.u()
	case KindRaft:
		w := d.word()
		b, err := base64.RawStdEncoding.Strict().DecodeString(w)
		if err != nil || len(b) == 0 {
			d.fail()
		}
		m.Raft = b
	case KindRequest:
		m.ID = d.id()
	case KindOrder:
		m.Seq = d.u()
		m.ID = d.id()
	case KindGap:
		m.Seq, m.Hi = d.u(), d.u()
	case KindAnnounce:
		m.ID = d.id()
		m.Hi = d.u()
	case KindContent:
		m.ID = d.id()
		if d.err == nil {
			if len(d.rest) < 2 || d.rest[0] != ' ' {
				d.fail()
				break
			}
			t, err := strconv.Unquote(string(d.rest[1:]))
			if err != nil || strconv.Quote(t) != string(d.rest[1:]) {
				d.fail()
			}
			m.Text, d.rest = t, nil
		}
	case KindPropose, KindFinal:
		m.ID = d.id()
		m.Prio.Count, m.Prio.Node = d.u(), d.i()
	default:
		return Msg{}, fmt.Errorf("%w: unknown kind %q", ErrBadMsg, line[0])
	}
	if d.err == nil && len(d.rest) > 0 {
		d.fail()
	}
	if d.err != nil {
		return Msg{}, fmt.Errorf("%w: %.60q", ErrBadMsg, line)
	}
	return m, nil
}

// decoder reads single-space-separated fields, as AppendMsg writes them.
type decoder struct {
	rest []byte
	err  error
}

func (d *decoder) fail() { d.err = ErrBadMsg }

// word reads " <token>".
func (d *decoder) word() string {
	if d.err != nil || len(d.rest) < 2 || d.rest[0] != ' ' {
		d.fail()
		return ""
	}
	k := 1
	for k < len(d.rest) && d.rest[k] != ' ' {
		k++
	}
	w := string(d.rest[1:k])
	d.rest = d.rest[k:]
	if w == "" {
		d.fail()
	}
	return w
}

// u reads a canonical decimal uint64: no sign, no leading zeros.
func (d *decoder) u() uint64 {
	w := d.word()
	if d.err != nil {
		return 0
	}
	v, err := strconv.ParseUint(w, 10, 64)
	if err != nil || w[0] == '+' || (len(w) > 1 && w[0] == '0') {
		d.fail()
		return 0
	}
	return v
}

func (d *decoder) i() int {
	v := d.u()
	if v > maxNode {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) id() MsgID { return MsgID{Sender: d.i(), Num: d.u()} }
