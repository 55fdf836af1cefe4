package evlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Writer writes records to an events log, one JSON line each. Lines are
// kept in memory, whole, until Flush writes them at once, so the file
// follows the run closely without a write per line. It is not safe for
// concurrent use.
//
// A failed write (a full disk, say) never leaves half a line: the file is
// truncated back to its last whole line (or, if even that fails, the next
// write starts on a new line). The records of a failed write are lost
// and counted; writing is tried again at most every RetryEvery, with new
// records kept meanwhile (up to MaxPending bytes, beyond which they are
// lost too). The first write that succeeds starts with a Lost record
//
//	{"event":"lost","ts_us":…,"count":N,"from_ts_us":…,"to_ts_us":…,"error":"no space left","mw":1,"run":"…"}
//
// naming how many records are missing and the time span they cover, so
// that the order checker can report the log as incomplete rather than
// blame another middleware.
//
// A disk that is still full at Close would leave no such line, and the
// log would just stop. So Close ends a log that is missing records with
// the same Lost record and "final":true, written in room kept for it
// (Options.KeepRoom): Open writes a file of ReserveSize bytes beside the
// log (FILE.reserve), and Close deletes it, first only if the last line
// does not fit without.
// A clean Close on a healthy disk writes nothing more.
type Writer struct {
	// Notify, if set, is told how writing goes (from Flush and Close).
	Notify func(Notice)

	f    File
	path string
	mw   int
	run  string
	buf  []byte // whole lines not yet written
	// pending counts the records in buf; pendFrom and pendTo are their
	// first and last TS.
	pending          int
	pendFrom, pendTo int64
	size             int64 // the file's size after the last whole line written
	partial          bool  // the file may end in a fragment
	rec              Record

	failing   error // the last write's error; nil when healthy
	lost      int   // records lost since writing last succeeded
	lostFrom  int64 // TS span of the lost records
	lostTo    int64
	lostTotal int    // records lost since Open, for Problem
	lastErr   string // short text of the last failure
	nextTry   time.Time
	// release frees the room kept for the final line; nil when none is
	// kept or it was freed.
	release func() error
}

// Notice says how writing goes: a write failed (Err), or it works again
// after failures (Resumed; Lost records were not written, and a Lost
// record in the log marks the gap).
type Notice struct {
	At      time.Time
	Err     string // a write failed: why, briefly ("no space left")
	Resumed bool
	Lost    int
}

// File is what a Writer needs of its file.
type File interface {
	io.Writer
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// Options say who writes a log: every record of a middleware carries its
// id and run id (the writer sets them); the network program's carry
// neither.
type Options struct {
	MW  int
	Run string
	// KeepRoom keeps room for the final Lost line beside the log (Open:
	// FILE.reserve, see Writer): for logs whose gaps the order checker
	// must know of, the middlewares'.
	KeepRoom bool
}

const (
	// MaxPending bounds the records kept in memory while writing fails.
	MaxPending = 4 << 20
	// RetryEvery spaces the attempts to write while writing fails.
	RetryEvery = 100 * time.Millisecond
	// ReserveSize is the room kept on the log's disk for its final line:
	// a line needs a few hundred bytes, and perhaps a new block for them
	// and one for the file's block map.
	ReserveSize = 64 << 10
)

// Open opens the events log at path for appending, creating it and its
// folder if needed, and keeps room for its final line if asked (see
// Writer and Options).
func Open(path string, opt Options) (*Writer, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("events log %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events log: %w", err)
	}
	w := NewWriter(f, path, opt)
	// A file left by a process killed mid-write may end in a fragment.
	if w.size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], w.size-1); err == nil && last[0] != '\n' {
			w.partial = true
		}
	}
	if opt.KeepRoom {
		w.release = reserveRoom(path + ".reserve")
	}
	return w, nil
}

// NewWriter writes to f, a log at path (for messages) that ends in a
// whole line; it keeps no room for the final line.
func NewWriter(f File, path string, opt Options) *Writer {
	w := &Writer{f: f, path: path, mw: opt.MW, run: opt.Run, buf: make([]byte, 0, 256<<10)}
	if fi, err := f.Stat(); err == nil {
		w.size = fi.Size()
	}
	return w
}

// reserveRoom writes a file of ReserveSize bytes at path, room on the
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
	buf := make([]byte, ReserveSize)
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

// Path is the log's path.
func (w *Writer) Path() string { return w.path }

// Write adds r as a line, written by the next Flush. The writer's MW and
// Run replace r's when it has them; r is not kept.
func (w *Writer) Write(r *Record) {
	if w.mw != 0 || w.run != "" {
		w.rec = *r
		w.rec.MW, w.rec.Run = w.mw, w.run
		r = &w.rec
	}
	w.buf = r.AppendJSON(w.buf)
	w.buf = append(w.buf, '\n')
	if w.pending == 0 {
		w.pendFrom = r.TS
	}
	w.pending++
	w.pendTo = r.TS
}

// Buffered is the bytes written and not yet flushed.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush writes the buffered lines (and, after a failure, the Lost record
// of what was lost). While writing fails it tries at most every
// RetryEvery; failures are counted, and told to Notify.
func (w *Writer) Flush(now time.Time) { w.flush(now, false) }

func (w *Writer) flush(now time.Time, force bool) {
	if w.pending == 0 && w.lost == 0 {
		return
	}
	if w.failing != nil && !force && now.Before(w.nextTry) {
		if len(w.buf) > MaxPending {
			w.drop()
		}
		return
	}
	var head []byte
	if w.partial {
		head = append(head, '\n')
	}
	if w.lost > 0 {
		// At Close (force) with nothing after it, the marker ends the log.
		head = w.appendLost(head, now, force && w.pending == 0)
	}
	data := w.buf
	if len(head) > 0 {
		data = append(head, w.buf...)
	}
	k, err := w.f.Write(data)
	if err == nil {
		w.size += int64(k)
		w.partial = false
		lost := w.lost
		w.lost, w.failing = 0, nil
		w.buf, w.pending = w.buf[:0], 0
		if lost > 0 {
			w.notify(Notice{At: now, Resumed: true, Lost: lost})
		}
		return
	}
	w.cutBack(k)
	w.failing = err
	w.lastErr = shortIOErr(err)
	w.nextTry = now.Add(RetryEvery)
	w.drop()
	w.notify(Notice{At: now, Err: w.lastErr})
}

func (w *Writer) notify(n Notice) {
	if w.Notify != nil {
		w.Notify(n)
	}
}

// cutBack undoes a write that wrote k bytes and failed: never leave half
// a line, cut the file back to its last whole line.
func (w *Writer) cutBack(k int) {
	if k <= 0 {
		return
	}
	if err := w.f.Truncate(w.size); err != nil {
		w.partial = true
		if fi, serr := w.f.Stat(); serr == nil {
			w.size = fi.Size()
		}
	}
}

// appendLost appends the line of the records lost so far; final says the
// log ends with it.
func (w *Writer) appendLost(dst []byte, now time.Time, final bool) []byte {
	r := Record{Event: Lost, TS: now.UnixMicro(), Count: w.lost, FromTS: w.lostFrom, ToTS: w.lostTo,
		Error: w.lastErr, Final: final, MW: w.mw, Run: w.run}
	return append(r.AppendJSON(dst), '\n')
}

// writeFinal ends a log whose last records could not be written with
// their Lost line ("final":true), freeing the room kept for it if the
// line does not fit without. It reports whether the line was written.
func (w *Writer) writeFinal(now time.Time) bool {
	for {
		var line []byte
		if w.partial {
			line = append(line, '\n')
		}
		line = w.appendLost(line, now, true)
		k, err := w.f.Write(line)
		if err == nil {
			w.size += int64(k)
			w.partial = false
			return true
		}
		w.cutBack(k)
		if w.release == nil {
			return false
		}
		w.release()
		w.release = nil
	}
}

// drop counts the buffered records as lost.
func (w *Writer) drop() {
	if w.pending == 0 {
		return
	}
	if w.lost == 0 {
		w.lostFrom = w.pendFrom
	}
	w.lost += w.pending
	w.lostTotal += w.pending
	w.lostTo = w.pendTo
	w.buf, w.pending = w.buf[:0], 0
}

// Problem describes a failure to write for a status line, or is empty.
func (w *Writer) Problem() string {
	switch {
	case w.failing != nil:
		return fmt.Sprintf("events log: write failed (%s), %d events not written", w.lastErr, w.lostTotal+w.pending)
	case w.lostTotal > 0:
		return fmt.Sprintf("events log: %d events lost earlier (%s), writing again", w.lostTotal, w.lastErr)
	}
	return ""
}

// Close writes what it can and closes the file. Records it could not
// write are named by a final Lost line (see Writer), and the error says
// how many.
func (w *Writer) Close() error {
	now := time.Now()
	w.flush(now, true)
	final := false
	if w.failing != nil {
		w.drop()
		final = w.writeFinal(now)
	}
	if w.release != nil {
		w.release()
		w.release = nil
	}
	err := w.f.Close()
	if w.failing != nil {
		if final {
			return fmt.Errorf("%d events not written (%s); the log ends with a \"lost\" line that says so", w.lost, w.lastErr)
		}
		return fmt.Errorf("%d events not written (%s), nor the line that would say so", w.lost, w.lastErr)
	}
	return err
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
