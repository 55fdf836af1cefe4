package evlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// DefaultMaxLine bounds one line: messages are limited to 64 KiB on the
// data path, so a line near this is corrupt.
const DefaultMaxLine = 16 << 20

// ErrTooLong is a line longer than the reader's MaxLine. The reader
// skips it and goes on.
var ErrTooLong = errors.New("line too long")

// LineError is a line that is not a record: not JSON, a field of the
// wrong type, without what its event needs (ErrIncomplete), or too long
// (ErrTooLong). The reader goes on after it.
type LineError struct {
	Line int // 1-based, counting the lines this reader saw
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads records from an events log incrementally, a chunk at a
// time, holding no more than a chunk and the line being read. Blank lines
// are skipped.
//
// It reads an input to its end (NewReader: a last line without a newline
// is read too) or follows one that grows (Follow: a last line without a
// newline may be one still being written, and waits for the rest, which
// Reset brings).
type Reader struct {
	// MaxLine bounds a line (DefaultMaxLine if 0).
	MaxLine int

	src    io.Reader
	buf    []byte
	r, w   int // buf[r:w]: read from src, not yet decoded
	srcEOF bool
	follow bool
	skip   bool // drop bytes up to the next newline (see Tail.From, ErrTooLong)
	line   int
	n      int64 // bytes read from src since the last Reset
	rec    Record
	d      decoder
}

// NewReader reads src to its end.
func NewReader(src io.Reader) *Reader { return &Reader{src: src} }

// Follow reads src, which may grow: an unterminated last line waits for
// its end (see Reset).
func Follow(src io.Reader) *Reader { return &Reader{src: src, follow: true} }

// Reset makes the reader go on with src, the rest of the same log: a line
// begun in the last input is completed by the new one. Line numbers go on.
func (r *Reader) Reset(src io.Reader) {
	r.src, r.srcEOF, r.n = src, false, 0
}

// restart forgets everything read (a log started again from its start).
func (r *Reader) restart(src io.Reader) {
	r.Reset(src)
	r.r, r.w, r.line, r.skip = 0, 0, 0, false
}

// Line is the number of the line of the last record or error returned.
func (r *Reader) Line() int { return r.line }

// Held is the bytes of a line begun and not yet ended.
func (r *Reader) Held() int { return r.w - r.r }

// read is the bytes read from the source since the last Reset.
func (r *Reader) read() int64 { return r.n }

const readChunk = 64 << 10

// Next returns the next record: valid until the next call (Record says
// what to copy to keep it). At the end of the input it returns io.EOF; a
// line that is not a record is a *LineError, after which Next goes on;
// any other error is the source's.
func (r *Reader) Next() (*Record, error) {
	max := r.MaxLine
	if max <= 0 {
		max = DefaultMaxLine
	}
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			line := r.buf[r.r : r.r+i]
			r.r += i + 1
			if r.skip {
				r.skip = false
				continue
			}
			if len(line) > max {
				r.line++
				return nil, &LineError{Line: r.line, Err: ErrTooLong}
			}
			if rec, err := r.decode(line); rec != nil || err != nil {
				return rec, err
			}
			continue
		}
		if r.w-r.r > max {
			// Drop what there is of the line, and the rest up to its end.
			r.r, r.w = 0, 0
			if r.skip {
				continue
			}
			r.skip = true
			r.line++
			return nil, &LineError{Line: r.line, Err: ErrTooLong}
		}
		if r.srcEOF || r.src == nil {
			if r.r == r.w || r.follow {
				return nil, io.EOF
			}
			line := r.buf[r.r:r.w]
			r.r = r.w
			if r.skip {
				r.skip = false
				continue
			}
			if rec, err := r.decode(line); rec != nil || err != nil {
				return rec, err
			}
			continue
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// decode decodes a line; nil and nil for a blank one.
func (r *Reader) decode(line []byte) (*Record, error) {
	line = bytes.TrimRight(line, " \t\r")
	if len(bytes.TrimLeft(line, " \t")) == 0 {
		// A blank line counts for the line numbers, like any other.
		r.line++
		return nil, nil
	}
	r.line++
	if err := r.d.decode(line, &r.rec); err != nil {
		return nil, &LineError{Line: r.line, Err: err}
	}
	return &r.rec, nil
}

// fill reads more of the source into buf, making room as needed.
func (r *Reader) fill() error {
	if r.r > 0 {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.r, r.w = 0, n
	}
	if len(r.buf)-r.w < readChunk/2 {
		nb := make([]byte, max(2*len(r.buf), r.w+readChunk))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	k, err := r.src.Read(r.buf[r.w:])
	r.w += k
	r.n += int64(k)
	switch {
	case errors.Is(err, io.EOF):
		r.srcEOF = true
	case err != nil:
		return err
	}
	return nil
}

// Tail follows an events log file as it is written (a live view, a
// harness waiting for deliveries). Each Poll reads what was appended
// since the last one; a line still being written waits for its end. A
// file that shrank was started again (a new run) and is read from its
// start; a file not there yet is not an error.
type Tail struct {
	Path string
	// From, when positive, makes the first Poll start this many bytes
	// before the end of the file, at the next whole line (a live view
	// needs only the recent past, whatever the size of the log).
	From int64
	// MaxRead bounds the bytes one Poll reads (0: no bound), so that a
	// burst is spread over several polls.
	MaxRead int64
	// MaxLine bounds a line (DefaultMaxLine if 0); longer ones are
	// skipped and counted in Bad.
	MaxLine int
	// Bad counts the lines that were not records.
	Bad int

	rd      Reader
	off     int64 // next byte to read
	started bool
}

// Poll reads the records appended since the last call and gives each to
// fn (a record is valid during the call only). It returns the bytes read.
// It stops at the first error other than a bad line.
func (t *Tail) Poll(fn func(*Record)) (int64, error) {
	f, err := os.Open(t.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil // not written yet, or removed between runs
		}
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	t.rd.follow = true
	t.rd.MaxLine = t.MaxLine
	switch {
	case !t.started:
		t.started = true
		if t.From > 0 && size > t.From {
			t.off = size - t.From
			t.rd.skip = true
		}
	case size < t.off:
		t.off = 0 // truncated or replaced: a new run
		t.rd.restart(nil)
	}
	want := size - t.off
	if t.MaxRead > 0 && want > t.MaxRead {
		want = t.MaxRead
	}
	if want <= 0 {
		return 0, nil
	}
	t.rd.Reset(io.NewSectionReader(f, t.off, want))
	defer func() { t.off += t.rd.read() }()
	for {
		rec, err := t.rd.Next()
		switch {
		case err == nil:
			fn(rec)
		case errors.Is(err, io.EOF):
			return t.rd.read(), nil
		default:
			var le *LineError
			if !errors.As(err, &le) {
				return t.rd.read(), err
			}
			t.Bad++
		}
	}
}

// Offset is the position in the file up to which the tail has read.
func (t *Tail) Offset() int64 { return t.off }

var fileMW = regexp.MustCompile(`(?i)^(?:middleware|mw)[-_]?(\d+)(?:\..*)?$`)

// FileMW is the middleware a log's file name says wrote it
// (middleware-3.jsonl, mw-3.jsonl, MW_3.log…), or 0.
func FileMW(path string) int {
	m := fileMW.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return n
}

// Line is the number of the line of the last record or bad line read,
// counting from where the tail started.
func (t *Tail) Line() int { return t.rd.Line() }
