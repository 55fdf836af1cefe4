package netsim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// eventsLog is the network program's events log (Config.EventsPath), one
// JSON object a line, for the timeline:
//
//	{"event":"accepted","id":7,"msg":"Msg #1 from Middleware 2","ts_us":1700000000000000}
//	{"event":"copy","id":7,"msg":"Msg #1 from Middleware 2","to":3,"delay_us":812000,"ts_us":…}
//	{"event":"drop","id":7,"msg":"Msg #1 from Middleware 2","to":4,"ts_us":…}
//
// "msg" is the human part of the message (what the middlewares log), "to"
// the destination's number (1 for the first, i.e. Middleware 1 in the
// lab's layout), "delay_us" the random delay drawn for that copy; a copy
// line is written when the copy was handed to its destination. Sender
// handlers and destination workers write it concurrently, under mu; it is
// flushed every flushEvery and when the server stops.
type eventsLog struct {
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	line  []byte
	dirty bool
	err   error // the first write error; later writes are skipped
}

const eventsFlushEvery = 50 * time.Millisecond

func openEventsLog(path string) (*eventsLog, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("events log %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("events log: %w", err)
	}
	return &eventsLog{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// write appends one line: event, id, msg, then to and delay when to > 0.
func (e *eventsLog) write(event string, id uint64, content []byte, to int, delay time.Duration, withDelay bool) {
	now := time.Now().UnixMicro()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	b := append(e.line[:0], `{"event":"`...)
	b = append(b, event...)
	b = append(b, `","id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, humanPart(content))
	if to > 0 {
		b = append(b, `,"to":`...)
		b = strconv.AppendInt(b, int64(to), 10)
	}
	if withDelay {
		b = append(b, `,"delay_us":`...)
		b = strconv.AppendInt(b, delay.Microseconds(), 10)
	}
	b = append(b, `,"ts_us":`...)
	b = strconv.AppendInt(b, now, 10)
	b = append(b, "}\n"...)
	e.line = b
	if _, err := e.w.Write(b); err != nil {
		e.err = err
	}
	e.dirty = true
}

func (e *eventsLog) flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.dirty || e.err != nil {
		return e.err
	}
	e.dirty = false
	if err := e.w.Flush(); err != nil {
		e.err = err
	}
	return e.err
}

func (e *eventsLog) close() error {
	err := e.flush()
	if cerr := e.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// humanPart is "Msg #k from Middleware i" at the start of content, without
// any metadata after it; other content is kept whole (at most 200 bytes).
func humanPart(content []byte) []byte {
	const p1, p2 = "Msg #", " from Middleware "
	s := content
	if len(s) > len(p1) && string(s[:len(p1)]) == p1 {
		i := len(p1)
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i+len(p2) < len(s) && string(s[i:i+len(p2)]) == p2 {
			j := i + len(p2)
			k := j
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k > j {
				return s[:k]
			}
		}
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for len(s) > 0 {
		c := s[0]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			s = s[1:]
			continue
		}
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[:size]...)
		}
		s = s[size:]
	}
	return append(b, '"')
}

// EventsPath is the events log's path ("" without one).
func (s *Server) EventsPath() string { return s.cfg.EventsPath }
