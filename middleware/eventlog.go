package middleware

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"totalorder/middleware/core"
)

// eventLog writes one JSON line per list change (the -events file):
//
//	{"level":"info","event":"ready","msg":"Msg #3 from Middleware 2","ts_us":1700000000000000,"seq":7,"mw":1,"run":"1700000000000000","time":"…"}
//
// "seq" is on ready lines only; "recovered":true marks a received whose
// content came from the order (or an isis sender), not the network. Lines are buffered whole and written by the
// node's loop after every batch, so the file follows the run closely
// without a write per line. Only the node's loop uses it.
//
// A failed write (a full disk, say) never leaves half a line: the file is
// truncated back to its last whole line (or, if even that fails, the next
// write starts on a new line). The events of a failed write are lost and
// counted; writing is tried again at most every retryEvery, with new events
// kept meanwhile (up to maxPending bytes, beyond which they are lost too).
// The first write that succeeds starts with a marker line
//
//	{"level":"warn","event":"lost","count":N,"from_ts_us":…,"to_ts_us":…,"error":"no space left","mw":1,"run":"…","ts_us":…}
//
// naming how many events are missing and the time span they cover, so the
// order checker can report the log as incomplete rather than blame
// another middleware. The status line shows the failure (problem), and the
// operational log gets one line per distinct error.
//
// A disk that is still full when the middleware exits would leave no such
// line, and the log would just stop: the checker would blame the
// middleware for the deliveries it could not log. So close ends a log
// that is missing events with the same marker and "final":true, written
// in room kept for it: at open a file of reserveSize bytes is written
// beside the log (FILE.reserve), and close deletes it, first only if the
// last line does not fit without. A clean exit on a healthy disk writes
// nothing more, so logs read as before.
type eventLog struct {
	f    logFile
	path string
	buf  []byte // whole lines not yet written
	// pending counts the lines in buf; pendFrom/pendTo are their first
	// and last ts_us.
	pending          int
	pendFrom, pendTo int64
	enc              zerolog.Logger // encodes events into buf
	mw               int
	run              string
	text             []byte // scratch for the message text
	size             int64  // file size after the last whole line written
	partial          bool   // the file may end in a fragment

	oplog     zerolog.Logger // where failures are reported
	failing   error          // the last write's error; nil when healthy
	lost      int            // events lost since writing last succeeded
	lostFrom  int64          // ts_us span of the lost events
	lostTo    int64
	lostTotal int    // events lost in this run, for the status line
	lastErr   string // short text of the last failure
	nextTry   time.Time
	said      map[string]bool // distinct errors reported in this outage
	errLog    logLimiter
	// release frees the room kept for the final line (see reserveRoom);
	// nil when none is kept or it was freed.
	release func() error

	// Control, when set, logs every control message sent and received
	// and the leader as this middleware sees it (Config.EventsControl):
	// for the timeline's control layer and leader marks.
	Control    bool
	leaderSeen bool
	lastLeader int
	lastTerm   uint64
}

// logFile is what eventLog needs of its file (tests fail it on purpose).
type logFile interface {
	io.Writer
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

const (
	// maxPending bounds the events kept in memory while writing fails.
	maxPending = 4 << 20
	// retryEvery spaces the attempts to write while writing fails.
	retryEvery = 100 * time.Millisecond
	// reserveSize is the room kept on the log's disk for its final line:
	// a line needs a few hundred bytes, and perhaps a new block for them
	// and one for the file's block map.
	reserveSize = 64 << 10
)

// lineSink appends what zerolog encodes (one whole line per event) to buf.
type lineSink struct{ e *eventLog }

func (s lineSink) Write(p []byte) (int, error) {
	s.e.buf = append(s.e.buf, p...)
	return len(p), nil
}

// openEventLog opens path for appending, creating its directory if needed.
func openEventLog(path string, mw int, run string) (*eventLog, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("events log %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events log: %w", err)
	}
	e := newEventLog(f, path, mw, run)
	// A file left by a process killed mid-write may end in a fragment.
	if e.size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], e.size-1); err == nil && last[0] != '\n' {
			e.partial = true
		}
	}
	e.release = reserveRoom(path + ".reserve")
	return e, nil
}

// reserveRoom writes a file of reserveSize bytes at path, room on the
// events log's disk that deleting it gives back, and returns what deletes
// it; nil if it could not be written (a disk already full: the log then
// ends as it can). A file left by a killed process is written over. The
// bytes vary, so that no file system stores them as a hole or compresses
// them away.
func reserveRoom(path string) func() error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil
	}
	buf := make([]byte, reserveSize)
	x := uint32(2463534242)
	for i := range buf {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		buf[i] = byte(x)
	}
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil
	}
	return func() error { return os.Remove(path) }
}

func newEventLog(f logFile, path string, mw int, run string) *eventLog {
	e := &eventLog{f: f, path: path, mw: mw, run: run, buf: make([]byte, 0, 256<<10), oplog: zerolog.Nop()}
	if fi, err := f.Stat(); err == nil {
		e.size = fi.Size()
	}
	e.enc = zerolog.New(lineSink{e})
	e.errLog.every = time.Second
	return e
}

// pastRun reads what earlier incarnations of middleware mw wrote to its
// events log: the highest message number it sent (numbering goes on after
// it) and the highest position it delivered (a member taken back after it
// lost its state goes on after it).
func pastRun(path string, mw int) (lastNum, lastSeq uint64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		sent := bytes.Contains(line, []byte(`"event":"sent"`))
		if !sent && !bytes.Contains(line, []byte(`"event":"ready"`)) {
			continue
		}
		var ev struct {
			Msg string
			Seq uint64
			MW  int
		}
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		if !sent {
			if ev.MW == mw || ev.MW == 0 {
				lastSeq = max(lastSeq, ev.Seq)
			}
		} else if id, ok := core.ParseText(ev.Msg); ok && id.Sender == mw && id.Num > lastNum {
			lastNum = id.Num
		}
	}
	return lastNum, lastSeq
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
	case core.NoteDiverged:
		kind = "diverged"
	default:
		return // not a list change
	}
	ts := n.At.UnixMicro()
	e.text = appendText(e.text[:0], core.Message{ID: n.ID, Body: n.Body})
	ev := e.enc.Info().Str("event", kind).Bytes("msg", e.text).Int64("ts_us", ts)
	if n.Kind == core.NoteReady || n.Kind == core.NoteDiverged {
		ev = ev.Uint64("seq", n.Seq)
	}
	if n.Kind == core.NoteDiverged {
		ev = ev.Int("peer", n.Peer).Str("there", n.There)
	}
	if n.Recovered && n.Kind == core.NoteReceived {
		ev = ev.Bool("recovered", true)
	}
	ev.Int("mw", e.mw).Str("run", e.run).Time("time", n.At).Send()
	if e.pending == 0 {
		e.pendFrom = ts
	}
	e.pending++
	e.pendTo = ts
}

// flush writes out buffered lines (and, after a failure, the marker of
// what was lost). While writing fails it tries at most every retryEvery;
// failures are counted and reported here, so the caller need not.
func (e *eventLog) flush(now time.Time) {
	e.flushAt(now, false)
}

func (e *eventLog) flushAt(now time.Time, force bool) {
	if e.pending == 0 && e.lost == 0 {
		return
	}
	if e.failing != nil && !force && now.Before(e.nextTry) {
		if len(e.buf) > maxPending {
			e.drop()
		}
		return
	}
	var head []byte
	if e.partial {
		head = append(head, '\n')
	}
	if e.lost > 0 {
		// At close (force) with nothing after it, the marker ends the log.
		head = e.appendLost(head, now, force && e.pending == 0)
	}
	data := e.buf
	if len(head) > 0 {
		data = append(head, e.buf...)
	}
	k, err := e.f.Write(data)
	if err == nil {
		e.size += int64(k)
		e.partial = false
		if e.lost > 0 {
			e.oplog.Warn().Msgf("events log %s: writing again; %d events were not written (a \"lost\" line marks the gap)", e.path, e.lost)
			e.lost = 0
		}
		e.failing, e.said = nil, nil
		e.buf, e.pending = e.buf[:0], 0
		return
	}
	// Never leave half a line: cut the file back to its last whole line.
	if k > 0 {
		if terr := e.f.Truncate(e.size); terr != nil {
			e.partial = true
			if fi, serr := e.f.Stat(); serr == nil {
				e.size = fi.Size()
			}
		}
	}
	e.failing = err
	e.lastErr = shortIOErr(err)
	e.nextTry = now.Add(retryEvery)
	e.drop()
	if e.said == nil {
		e.said = map[string]bool{}
	}
	if !e.said[e.lastErr] {
		if ok, n := e.errLog.allow(now); ok {
			e.said[e.lastErr] = true
			e.oplog.Error().Int("suppressed", n).Msgf("events log %s: write failed (%s): events are not being written; retrying", e.path, e.lastErr)
		}
	}
}

// appendLost appends the marker of the events lost so far (see eventLog);
// final says the log ends with it.
func (e *eventLog) appendLost(dst []byte, now time.Time, final bool) []byte {
	marker := zerolog.New(&byteSink{&dst})
	ev := marker.Warn().Str("event", "lost").Int("count", e.lost).
		Int64("from_ts_us", e.lostFrom).Int64("to_ts_us", e.lostTo).Str("error", e.lastErr)
	if final {
		ev = ev.Bool("final", true)
	}
	ev.Int("mw", e.mw).Str("run", e.run).Int64("ts_us", now.UnixMicro()).Time("time", now).Send()
	return dst
}

// writeFinal ends a log whose last events could not be written with their
// "lost" line ("final":true), freeing the room kept for it if the line
// does not fit without. It reports whether the line was written.
func (e *eventLog) writeFinal(now time.Time) bool {
	for {
		var line []byte
		if e.partial {
			line = append(line, '\n')
		}
		line = e.appendLost(line, now, true)
		k, err := e.f.Write(line)
		if err == nil {
			e.size += int64(k)
			e.partial = false
			return true
		}
		if k > 0 {
			if terr := e.f.Truncate(e.size); terr != nil {
				e.partial = true
				if fi, serr := e.f.Stat(); serr == nil {
					e.size = fi.Size()
				}
			}
		}
		if e.release == nil {
			return false
		}
		e.release()
		e.release = nil
	}
}

// drop counts the buffered events as lost.
func (e *eventLog) drop() {
	if e.pending == 0 {
		return
	}
	if e.lost == 0 {
		e.lostFrom = e.pendFrom
	}
	e.lost += e.pending
	e.lostTotal += e.pending
	e.lostTo = e.pendTo
	e.buf, e.pending = e.buf[:0], 0
}

// problem describes a failure to write for the status line, or is empty.
func (e *eventLog) problem() string {
	switch {
	case e.failing != nil:
		return fmt.Sprintf("events log: write failed (%s), %d events not written", e.lastErr, e.lostTotal+e.pending)
	case e.lostTotal > 0:
		return fmt.Sprintf("events log: %d events lost earlier (%s), writing again", e.lostTotal, e.lastErr)
	}
	return ""
}

// close writes what it can and closes the file. Events it could not
// write are named by a final "lost" line (see eventLog) and reported.
func (e *eventLog) close() error {
	now := time.Now()
	e.flushAt(now, true)
	final := false
	if e.failing != nil {
		e.drop()
		final = e.writeFinal(now)
	}
	if e.release != nil {
		e.release()
		e.release = nil
	}
	err := e.f.Close()
	if e.failing != nil {
		if final {
			return fmt.Errorf("%d events not written (%s); the log ends with a \"lost\" line that says so", e.lost, e.lastErr)
		}
		return fmt.Errorf("%d events not written (%s), nor the line that would say so", e.lost, e.lastErr)
	}
	return err
}

// byteSink appends to a byte slice.
type byteSink struct{ b *[]byte }

func (s *byteSink) Write(p []byte) (int, error) {
	*s.b = append(*s.b, p...)
	return len(p), nil
}

// shortIOErr names a write error briefly: "no space left", "read-only
// file system"…
func shortIOErr(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "no space left"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// controlOut logs control messages sent, one line each (only with
// Control): {"event":"control","dir":"out","peer":3,"kind":"MsgApp",…}.
// The timeline pairs each with the peer's "in" line.
func (e *eventLog) controlOut(envs []core.Envelope, at time.Time) {
	if !e.Control {
		return
	}
	for i := range envs {
		e.controlLine("out", envs[i].To, controlKindName(&envs[i].Msg), at)
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
		e.controlLine("in", msgs[i].From, controlKindName(&msgs[i]), at)
	}
}

func (e *eventLog) controlLine(dir string, peer int, kind string, at time.Time) {
	ts := at.UnixMicro()
	e.enc.Info().Str("event", "control").Str("dir", dir).Int("peer", peer).Str("kind", kind).
		Int64("ts_us", ts).Int("mw", e.mw).Str("run", e.run).Send()
	e.counted(ts)
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
	ts := at.UnixMicro()
	e.enc.Info().Str("event", "leader").Int("leader", leader).Uint64("term", term).
		Int64("ts_us", ts).Int("mw", e.mw).Str("run", e.run).Send()
	e.counted(ts)
}

// mark logs a moment worth drawing on this middleware's lane (the
// timeline shows it): {"event":"mark","label":"cut off",…}. Written with
// or without Control: marks are rare.
func (e *eventLog) mark(label string, at time.Time) {
	ts := at.UnixMicro()
	e.enc.Info().Str("event", "mark").Str("label", label).
		Int64("ts_us", ts).Int("mw", e.mw).Str("run", e.run).Send()
	e.counted(ts)
}

// counted counts a line written to buf (see pending).
func (e *eventLog) counted(ts int64) {
	if e.pending == 0 {
		e.pendFrom = ts
	}
	e.pending++
	e.pendTo = ts
}

// controlKindName names a control message for the events log: a raft
// message by its raft type (MsgApp, MsgAppResp, MsgHeartbeat…), the
// others by their kind in lower case (order, propose, final…).
func controlKindName(m *core.Msg) string {
	if m.Kind == core.KindRaft {
		pm := &pb.Message{}
		if proto.Unmarshal(m.Raft, pm) == nil {
			return pm.GetType().String()
		}
		return "raft"
	}
	return strings.ToLower(m.Kind.String())
}

// EventsPath is the events log's path ("" without one).
func (n *Node) EventsPath() string { return n.cfg.EventsPath }
