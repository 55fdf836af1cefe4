package middleware

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"totalorder/middleware/core"
)

// eventLog writes one JSON line per list change (the -events file):
//
//	{"level":"info","event":"ready","msg":"Msg #3 from Middleware 2","ts_us":1700000000000000,"seq":7,"mw":1,"run":"1700000000000000","time":"…"}
//
// "seq" is on ready lines only; "recovered":true marks a received whose
// content came from the order (or an isis sender), not the network. It is buffered and flushed by the node's loop
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
	if n.Recovered && n.Kind == core.NoteReceived {
		ev = ev.Bool("recovered", true)
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
