package core

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func sampleMsgs() []Msg {
	raftMsg, _ := proto.Marshal(&pb.Message{Type: pb.MessageType_MsgApp.Enum(), To: proto.Uint64(2), From: proto.Uint64(1),
		Term: proto.Uint64(3), Entries: []*pb.Entry{{Index: proto.Uint64(7), Term: proto.Uint64(3), Data: encodeProposal(1, []MsgID{{1, 1}, {1, 2}})}}})
	id := MsgID{Sender: 3, Num: 999_999_999_999_999_999}
	return []Msg{
		{Kind: KindHeartbeat, Run: "1700000000000000", Seq: 12, Hi: 3},
		{Kind: KindBody, ID: id, Text: "Bid 130 on Lamp"},
		{Kind: KindDigest, Seq: 7, Hash: 0xfedcba9876543210, ID: id, Hi: 9},
		{Kind: KindDigestAsk, Seq: 1, Hi: 256},
		{Kind: KindStamp, ID: id, Hi: 1 << 40, Prio: Prio{Count: 17, Node: 3}},
		{Kind: KindLamportAck, ID: id, Hi: 4, Prio: Prio{Count: 1 << 60, Node: 3}},
		{Kind: KindStampAsk, ID: id, Hi: 2},
		{Kind: KindHeartbeat},
		{Kind: KindRaft, Raft: raftMsg},
		{Kind: KindRequest, ID: id},
		{Kind: KindOrder, Seq: 1 << 63, ID: id},
		{Kind: KindGap, Seq: 5, Hi: 9},
		{Kind: KindAnnounce, ID: id, Hi: 1 << 62},
		{Kind: KindPropose, ID: id, Prio: Prio{Count: 4, Node: 2}},
		{Kind: KindFinal, ID: id, Prio: Prio{Count: ^uint64(0), Node: 5}},
		{Kind: KindContent, ID: id, Text: id.Text()},
		{Kind: KindContent, ID: id, Text: "quotes \" and \n newlines"},
	}
}

func TestMsgRoundTrip(t *testing.T) {
	for _, m := range sampleMsgs() {
		line := AppendMsg(nil, &m)
		got, err := DecodeMsg(line[:len(line)-1])
		if err != nil {
			t.Fatalf("%v: decode %q: %v", m, line, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", line, got, m)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, line := range []string{
		"", "Z 1", "H", "H run", "H run 1", "H run 1 2 3", "H run -1 2", "H run 01 2", "H run +1 2", "H  run 1 2",
		"R 1", "R 1 2 3", "R 2000000 1", "O 1 2 18446744073709551616", "G 1", "P 1 2 3",
		"C 1 2 unquoted", `C 1 2 "a" extra`, `C 1 2 "\x61"`, "Y", "Y !!!", "Y QUJD=",
		"H run 1 2 ", "D 1 00000000000000zz 1 2 3", "D 1 00000000000000AB 1 2 3", "D 1 0ab 1 2 3", "Q 1",
	} {
		if m, err := DecodeMsg([]byte(line)); err == nil {
			t.Errorf("DecodeMsg(%q) accepted %+v", line, m)
		}
	}
}

// A data message whose number the control encoding could not carry is
// refused where it comes in.
func TestParseTextBounds(t *testing.T) {
	if _, ok := ParseText("Msg #" + strings.Repeat("9", 18) + " from Middleware 2"); !ok {
		t.Error("an 18-digit number was refused")
	}
	if m, ok := ParseMessage("Msg #4 from Middleware 3: Bid 130 on Lamp"); !ok || m.Body != "Bid 130 on Lamp" {
		t.Errorf("a message with a body: %+v %v", m, ok)
	}
	for _, s := range []string{
		"Msg #9999999999999999999 from Middleware 2", // 19 digits: once made heartbeats undecodable
		"Msg #0 from Middleware 2", "Msg #1 from Middleware 0", "Msg #1 from Middleware 99999",
		"Msg #1 from Middleware 2x", "Msg #-1 from Middleware 2", "msg #1 from Middleware 2",
		"Msg #1 from Middleware 2 12:00:01.123", // a student's middleware's timestamp: not ours
		"Msg #1 from Middleware 2:", "Msg #1 from Middleware 2: ", "From 8083: This is a test",
	} {
		if id, ok := ParseText(s); ok {
			t.Errorf("ParseText(%q) accepted %+v", s, id)
		}
	}
}

// FuzzDecodeMsg: decoding never panics and accepts only what the encoder
// produces (every accepted line encodes back to itself).
func FuzzDecodeMsg(f *testing.F) {
	for _, m := range sampleMsgs() {
		line := AppendMsg(nil, &m)
		f.Add(line[:len(line)-1])
	}
	for _, s := range []string{"H - 0", "Y AA", "C 1 2 \"\"", "O 0 0 0", "A 1 1 1 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := DecodeMsg(line)
		if err != nil {
			return
		}
		again := AppendMsg(nil, &m)
		if !bytes.Equal(again[:len(again)-1], line) {
			t.Fatalf("DecodeMsg accepted %q, which encodes as %q", line, again)
		}
	})
}

// FuzzMsgRoundTrip: decode(encode(m)) == m for every registered kind and
// any values its fields can carry (a kind added anywhere is covered).
func FuzzMsgRoundTrip(f *testing.F) {
	for _, m := range sampleMsgs() {
		f.Add(byte(m.Kind), m.Run, m.Seq, m.Hi, m.ID.Sender, m.ID.Num, m.Prio.Count, m.Prio.Node, m.Hash, m.Text, m.Raft)
	}
	var kinds []Kind
	for k := range kindSpecs {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	f.Fuzz(func(t *testing.T, kind byte, run string, seq, hi uint64, sender int, num, count uint64, node int, hash uint64, text string, raft []byte) {
		m := Msg{Kind: kinds[int(kind)%len(kinds)]}
		sender, node = abs(sender)%(maxNode+1), abs(node)%(maxNode+1)
		for _, fl := range kindSpecs[m.Kind].fields {
			switch fl {
			case fieldRun:
				if m.Run = RunToken(run); m.Run == "-" {
					m.Run = ""
				}
			case fieldSeq:
				m.Seq = seq
			case fieldHi:
				m.Hi = hi
			case fieldID:
				m.ID = MsgID{sender, num}
			case fieldPrio:
				m.Prio = Prio{count, node}
			case fieldHash:
				m.Hash = hash
			case fieldText:
				m.Text = strings.ToValidUTF8(text, "?")
			case fieldRaft:
				if len(raft) == 0 {
					raft = []byte{0}
				}
				m.Raft = raft
			}
		}
		line := AppendMsg(nil, &m)
		got, err := DecodeMsg(line[:len(line)-1])
		if err != nil {
			t.Fatalf("%+v encodes as %q, which does not decode: %v", m, line, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", line, got, m)
		}
	})
}

func abs(v int) int {
	if v < 0 {
		if v = -v; v < 0 {
			return 0
		}
	}
	return v
}
