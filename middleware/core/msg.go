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

// Kind says what a control message is for. Each kind is registered once,
// with its name and the fields it carries (registerKind): the encoding,
// the decoder and the trace printing all follow that table, so a protocol
// that needs a new kind declares it in its own file and touches nothing
// here.
type Kind byte

// The kinds every protocol shares (the Core's), and the baselines'. Raft's,
// the sequencer's, isis's and lamport's own are registered in their files.
const (
	KindHeartbeat Kind = 'H' // I am alive (status lines); the sequencer adds its positions (Seq), lamport its last stamp (Hi)
	KindBody      Kind = 'B' // the body of my message ID (an application's message)
	KindDigest    Kind = 'D' // agreement: my Ready list through Seq hashes to Hash, ID is at Seq; I delivered Hi
	KindDigestAsk Kind = 'Q' // agreement: send me your digests of positions Seq..Hi

	// KindLinkClosed is never on the wire: the adapter reports that the
	// control connection from From (incarnation Run) closed.
	KindLinkClosed Kind = 0
)

func init() {
	registerKind(KindHeartbeat, "Heartbeat", fieldRun, fieldSeq, fieldHi)
	registerKind(KindBody, "Body", fieldID, fieldText)
	registerKind(KindDigest, "Digest", fieldSeq, fieldHash, fieldID, fieldHi)
	registerKind(KindDigestAsk, "DigestAsk", fieldSeq, fieldHi)
}

// field names one Msg field in the encoding table.
type field uint8

const (
	fieldRun    field = iota + 1 // Run, one token ("-" for none)
	fieldSeq                     // Seq, decimal
	fieldHi                      // Hi, decimal
	fieldID                      // ID: sender num
	fieldPrio                    // Prio: count node
	fieldHash                    // Hash, 16 hex digits
	fieldText                    // Text, Go-quoted; always last
	fieldRaft                    // Raft, standard base64 without padding
	fieldState                   // State, one token ("-" for none)
	fieldJoined                  // Joined, 0 or 1
)

type kindSpec struct {
	name   string
	fields []field
}

var kindSpecs = map[Kind]kindSpec{}

// registerKind declares a control-message kind: its letter on the wire,
// its name in traces and the fields it carries, in order.
func registerKind(k Kind, name string, fields ...field) {
	if _, dup := kindSpecs[k]; dup || k == KindLinkClosed {
		panic(fmt.Sprintf("core: control kind %q registered twice", byte(k)))
	}
	for i, f := range fields {
		if f == fieldText && i != len(fields)-1 {
			panic("core: a text field must come last")
		}
	}
	kindSpecs[k] = kindSpec{name: name, fields: fields}
}

func (k Kind) String() string {
	if k == KindLinkClosed {
		return "LinkClosed"
	}
	if s, ok := kindSpecs[k]; ok {
		return s.name
	}
	return fmt.Sprintf("Kind(%q)", byte(k))
}

// Msg is one control message. Each field keeps one meaning whatever the
// kind; which fields a kind carries is its registration (registerKind).
type Msg struct {
	Kind Kind
	From int    // sender's id, set by the receiving link, never encoded
	Run  string // the sender's incarnation (heartbeat)
	Seq  uint64 // a position in the order
	Hi   uint64 // the last position or number of a range; a count delivered (digest)
	ID   MsgID  // the message concerned
	Prio Prio   // a priority or timestamp (isis, lamport)
	Hash uint64 // a running hash of a Ready list (digest)
	Text string // content (a body, an isis push); a remembered state identity (hello)
	Raft []byte // one raft message in raft's protobuf encoding
	// State is the sender's state identity (hello).
	State string
	// Joined: the sender takes part in ordering or restored its state (hello).
	Joined bool
}

// String prints a message by name, as a trace shows it: "Order seq=3
// id=2:5"; a raft message as raft describes it.
func (m Msg) String() string {
	spec, ok := kindSpecs[m.Kind]
	if !ok {
		return m.Kind.String()
	}
	var b strings.Builder
	b.WriteString(spec.name)
	for _, f := range spec.fields {
		switch f {
		case fieldRun:
			fmt.Fprintf(&b, " run=%s", RunToken(m.Run))
		case fieldSeq:
			fmt.Fprintf(&b, " seq=%d", m.Seq)
		case fieldHi:
			fmt.Fprintf(&b, " hi=%d", m.Hi)
		case fieldID:
			fmt.Fprintf(&b, " id=%d:%d", m.ID.Sender, m.ID.Num)
		case fieldPrio:
			fmt.Fprintf(&b, " prio=%d.%d", m.Prio.Count, m.Prio.Node)
		case fieldHash:
			fmt.Fprintf(&b, " hash=%016x", m.Hash)
		case fieldText:
			fmt.Fprintf(&b, " %q", m.Text)
		case fieldState:
			fmt.Fprintf(&b, " state=%s", RunToken(m.State))
		case fieldJoined:
			fmt.Fprintf(&b, " joined=%v", m.Joined)
		case fieldRaft:
			pm := &pb.Message{}
			if err := proto.Unmarshal(m.Raft, pm); err != nil {
				return spec.name + " <undecodable>"
			}
			return spec.name + " " + raft.DescribeMessage(pm, nil)
		}
	}
	return b.String()
}

// Prio is an ISIS priority or a Lamport timestamp; ties between equal
// counters break on the node's id, so priorities are unique.
type Prio struct {
	Count uint64
	Node  int
}

// Less orders priorities.
func (p Prio) Less(q Prio) bool {
	return p.Count < q.Count || (p.Count == q.Count && p.Node < q.Node)
}

// The control encoding: one message per line, the kind letter first, then
// the kind's registered fields, each after one space: numbers in canonical
// decimal (ids: int up to 2^20), a hash in 16 lower-case hex digits, a run
// as one token, text Go-quoted (last), raft messages in base64. For
// example "O 7 2 5" is an order: position 7 holds message 5 of
// middleware 2.

// AppendMsg appends m's encoding and a newline to dst.
func AppendMsg(dst []byte, m *Msg) []byte {
	dst = append(dst, byte(m.Kind))
	u := func(v uint64) { dst = append(dst, ' '); dst = strconv.AppendUint(dst, v, 10) }
	for _, f := range kindSpecs[m.Kind].fields {
		switch f {
		case fieldRun:
			dst = append(dst, ' ')
			dst = append(dst, RunToken(m.Run)...)
		case fieldSeq:
			u(m.Seq)
		case fieldHi:
			u(m.Hi)
		case fieldID:
			u(uint64(m.ID.Sender))
			u(m.ID.Num)
		case fieldPrio:
			u(m.Prio.Count)
			u(uint64(m.Prio.Node))
		case fieldHash:
			dst = append(dst, ' ')
			dst = fmt.Appendf(dst, "%016x", m.Hash)
		case fieldText:
			dst = append(dst, ' ')
			dst = strconv.AppendQuote(dst, m.Text)
		case fieldRaft:
			dst = append(dst, ' ')
			dst = base64.RawStdEncoding.AppendEncode(dst, m.Raft)
		case fieldState:
			dst = append(dst, ' ')
			dst = append(dst, RunToken(m.State)...)
		case fieldJoined:
			if m.Joined {
				u(1)
			} else {
				u(0)
			}
		}
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
	spec, ok := kindSpecs[m.Kind]
	if !ok {
		return Msg{}, fmt.Errorf("%w: unknown kind %q", ErrBadMsg, line[0])
	}
	d := decoder{rest: line[1:]}
	for _, f := range spec.fields {
		switch f {
		case fieldRun:
			if m.Run = d.word(); m.Run == "-" {
				m.Run = ""
			}
		case fieldSeq:
			m.Seq = d.u()
		case fieldHi:
			m.Hi = d.u()
		case fieldID:
			m.ID = d.id()
		case fieldPrio:
			m.Prio.Count, m.Prio.Node = d.u(), d.i()
		case fieldHash:
			w := d.word()
			v, err := strconv.ParseUint(w, 16, 64)
			if err != nil || len(w) != 16 || strings.ToLower(w) != w {
				d.fail()
			}
			m.Hash = v
		case fieldText:
			if d.err != nil || len(d.rest) < 2 || d.rest[0] != ' ' {
				d.fail()
				break
			}
			t, err := strconv.Unquote(string(d.rest[1:]))
			if err != nil || strconv.Quote(t) != string(d.rest[1:]) {
				d.fail()
			}
			m.Text, d.rest = t, nil
		case fieldRaft:
			b, err := base64.RawStdEncoding.Strict().DecodeString(d.word())
			if err != nil || len(b) == 0 {
				d.fail()
			}
			m.Raft = b
		case fieldState:
			if m.State = d.word(); m.State == "-" {
				m.State = ""
			}
		case fieldJoined:
			switch d.u() {
			case 0:
			case 1:
				m.Joined = true
			default:
				d.fail()
			}
		}
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
