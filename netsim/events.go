package netsim

import (
	"sync"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/evlog"
)

// eventsLog is the network program's events log (Config.EventsPath), one
// JSON object a line, for the timeline (the format and the writing are
// the events log package's, internal/evlog, as for the middlewares):
//
//	{"event":"accepted","id":7,"msg":"Msg #1 from Middleware 2","ts_us":1700000000000000}
//	{"event":"copy","id":7,"msg":"Msg #1 from Middleware 2","ts_us":…,"to":3,"delay_us":812000}
//	{"event":"drop","id":7,"msg":"Msg #1 from Middleware 2","ts_us":…,"to":4}
//
// "msg" is the human part of the message (what the middlewares log), "to"
// the destination's number (1 for the first, i.e. Middleware 1 in the
// lab's layout), "delay_us" the random delay drawn for that copy; a copy
// line is written when the copy was handed to its destination. Sender
// handlers and destination workers write it concurrently, under mu; it is
// flushed every eventsFlushEvery, when eventsFlushAt bytes are waiting,
// and when the server stops. A write that fails (a full disk) is tried
// again, and a "lost" line then says what is missing.
type eventsLog struct {
	mu   sync.Mutex
	w    *evlog.Writer
	rec  evlog.Record
	log  zerolog.Logger
	said bool // a failure of this outage was logged
}

const (
	eventsFlushEvery = 50 * time.Millisecond
	eventsFlushAt    = 256 << 10
)

func openEventsLog(path string, log zerolog.Logger) (*eventsLog, error) {
	w, err := evlog.Open(path, evlog.Options{})
	if err != nil {
		return nil, err
	}
	e := &eventsLog{w: w, log: log}
	w.Notify = e.notify
	return e, nil
}

// notify logs the first failure of an outage and its end (under mu).
func (e *eventsLog) notify(n evlog.Notice) {
	switch {
	case n.Resumed:
		e.said = false
		e.log.Warn().Str("file", e.w.Path()).Int("lost", n.Lost).Msg("events log: writing again; a \"lost\" line marks the gap")
	case !e.said:
		e.said = true
		e.log.Error().Str("file", e.w.Path()).Str("error", n.Err).Msg("events log: write failed; events are not being written; retrying")
	}
}

// write appends one line: event, id, msg, then to and delay for a copy.
func (e *eventsLog) write(event evlog.Event, id uint64, content []byte, to int, delay time.Duration) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	r := &e.rec // (only these fields are ever set)
	r.Event, r.ID, r.Msg, r.To, r.TS, r.DelayUS = event, id, humanPart(content), to, now.UnixMicro(), 0
	if event == evlog.Copy {
		r.DelayUS = delay.Microseconds()
	}
	e.w.Write(r)
	r.Msg = nil // (not kept)
	if e.w.Buffered() >= eventsFlushAt {
		e.w.Flush(now)
	}
}

// flush writes what is waiting, or tries again after a failure (cheap
// when there is nothing to do).
func (e *eventsLog) flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Flush(time.Now())
}

func (e *eventsLog) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.w.Close()
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

// EventsPath is the events log's path ("" without one).
func (s *Server) EventsPath() string { return s.cfg.EventsPath }
