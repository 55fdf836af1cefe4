package middleware

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/core"
)

// eventLog writes one JSON line per list change (the -events file):
//
//	{"level":"info","event":"ready","msg":"Msg #3 from Middleware 2","ts_us":1700000000000000,"seq":7,"mw":1,"run":"1700000000000000","time":"…"}
//
// "seq" is on ready lines only; "fetched":true marks a received whose
// content came from a peer. It is buffered and flushed by the node's loop
// after every batch, so the file follows the run closely without a write
// per line. Only the node's loop uses it.
type eventLog struct {
	f     *os.File
	w     *bufio.Writer
	log   zerolog.Logger
	mw    int
	run   string
	text  []byte // scratch for the message text
	dirty bool

	// Control, when set, logs every control message sent and received
	// and the leader as this middleware sees it (Config.EventsControl):
	// for the timeline's control layer and leader marks.
	Control    bool
	leaderSeen bool
	lastLeader int
	lastTerm   uint64
}

// openEventLog opens path for appending, creating its directory if needed.
func openEventLog(path string, mw int, run string) (*eventLog, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("events log %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events log: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	return &eventLog{f: f, w: w, log: zerolog.New(w), mw: mw, run: run}, nil
}

// lastSentNum reads an existing events log for the highest message number
// middleware mw sent in an earlier run, so that a restart never numbers a
// message the way its predecessor did (even one nobody else saw yet). A
// missing or unreadable file is no history.
func lastSentNum(path string, mw int) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var last uint64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"event":"sent"`)) {
			continue
		}
		var ev struct{ Msg string }
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		if id, ok := core.ParseText(ev.Msg); ok && id.Sender == mw && id.Num > last {
			last = id.Num
		}
	}
	return last
}

func (e *eventLog) write(n *core.Note) {
	var kind string
	switch n.Kind {
	case core.NoteSent:
		kind = "sent"
	case core.NoteReceived:
		kind = "received"
	case core.NoteReady:
		kind = "ready"
	default:
		return // not a list change
	}
	e.text = appendText(e.text[:0], n.ID)
	ev := e.log.Info().Str("event", kind).Bytes("msg", e.text).Int64("ts_us", n.At.UnixMicro())
	if n.Kind == core.NoteReady {
		ev = ev.Uint64("seq", n.Seq)
	}
	if n.Fetched && n.Kind == core.NoteReceived {
		ev = ev.Bool("fetched", true)
	}
	ev.Int("mw", e.mw).Str("run", e.run).Time("time", n.At).Send()
	e.dirty = true
}

// flush writes out buffered lines.
func (e *eventLog) flush() error {
	if !e.dirty {
		return nil
	}
	e.dirty = false
	return e.w.Flush()
}

// close flushes and closes the file.
func (e *eventLog) close() error {
	e.dirty = true
	err := e.flush()
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// controlOut logs control messages sent, one line each (only with
// Control): {"event":"control","dir":"out","peer":3,"kind":"order",…}.
// The timeline pairs each with the peer's "in" line.
func (e *eventLog) controlOut(envs []core.Envelope, at time.Time) {
	if !e.Control {
		return
	}
	for i := range envs {
		e.controlLine("out", envs[i].To, controlKindName(envs[i].Msg.Kind), at)
	}
}

// controlIn logs control messages received (only with Control).
func (e *eventLog) controlIn(msgs []core.Msg, at time.Time) {
	if !e.Control {
		return
	}
	for i := range msgs {
		if msgs[i].Kind == core.KindLinkClosed {
			continue
		}
		e.controlLine("in", msgs[i].From, controlKindName(msgs[i].Kind), at)
	}
}

func (e *eventLog) controlLine(dir string, peer int, kind string, at time.Time) {
	e.log.Info().Str("event", "control").Str("dir", dir).Int("peer", peer).Str("kind", kind).
		Int64("ts_us", at.UnixMicro()).Int("mw", e.mw).Str("run", e.run).Send()
	e.dirty = true
}

// leader logs this middleware's view of the leader when it changes (only
// with Control): {"event":"leader","leader":3,"term":2,…} (leader 0: none
// known).
func (e *eventLog) leader(leader int, term uint64, at time.Time) {
	if !e.Control {
		return
	}
	if leader == e.lastLeader && term == e.lastTerm && (e.leaderSeen || leader == 0) {
		return
	}
	e.leaderSeen, e.lastLeader, e.lastTerm = true, leader, term
	e.log.Info().Str("event", "leader").Int("leader", leader).Uint64("term", term).
		Int64("ts_us", at.UnixMicro()).Int("mw", e.mw).Str("run", e.run).Send()
	e.dirty = true
}

// controlKindName names a control message kind for the events log.
func controlKindName(k core.Kind) string {
	switch k {
	case core.KindHeartbeat:
		return "heartbeat"
	case core.KindRequest:
		return "request"
	case core.KindOrder:
		return "order"
	case core.KindGap:
		return "gap"
	case core.KindTakeover:
		return "takeover"
	case core.KindState:
		return "state"
	case core.KindReject:
		return "reject"
	case core.KindNewEpoch:
		return "new-epoch"
	case core.KindJoin:
		return "join"
	case core.KindWelcome:
		return "welcome"
	case core.KindFetch:
		return "fetch"
	case core.KindContent:
		return "content"
	case core.KindPropose:
		return "propose"
	case core.KindFinal:
		return "final"
	}
	return string(rune(k))
}

// EventsPath is the events log's path ("" without one).
func (n *Node) EventsPath() string { return n.cfg.EventsPath }
