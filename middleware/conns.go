package middleware

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/core"
)

// logLimiter lets one line through per interval and counts the rest, so a
// flood of bad input costs one log line a second, not one per message.
type logLimiter struct {
	mu         sync.Mutex
	every      time.Duration
	next       time.Time
	suppressed int
}

// allow reports whether to log now and how many lines were held back since
// the last one that was let through.
func (l *logLimiter) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	suppressed, l.suppressed = l.suppressed, 0
	every := l.every
	if every <= 0 {
		every = time.Second
	}
	l.next = now.Add(every)
	return true, suppressed
}

// connSet tracks a listener's open connections so that stopping can close
// them and so end their goroutines.
type connSet struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// add registers c; it reports false (and the caller must close c) once the
// set is closed.
func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// closeAll closes every connection and refuses new ones.
func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

// acceptLoop accepts connections on ln until ctx is done or ln is closed,
// serving each on its own goroutine (one per connection, tracked by wg and
// conns). At most maxConns are served at once; further clients wait in the
// kernel's backlog until a slot frees up.
func acceptLoop(ctx context.Context, ln net.Listener, what string, maxConns int, conns *connSet,
	wg *sync.WaitGroup, log zerolog.Logger, serve func(net.Conn)) {
	slots := make(chan struct{}, maxConns)
	var errLimit, capLimit logLimiter
	capLimit.every = time.Minute
	for {
		select {
		case slots <- struct{}{}:
		default:
			if ok, n := capLimit.allow(time.Now()); ok {
				log.Warn().Int("suppressed", n).Msgf("%s: %d connections open, the limit; new connections wait until one closes", what, maxConns)
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		conn, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Typically out of file descriptors: wait a little rather than spin.
			if ok, n := errLimit.allow(time.Now()); ok {
				log.Error().Int("suppressed", n).Msgf("%s: accept failed: %v; retrying", what, err)
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return
			}
			continue
		}
		if !conns.add(conn) {
			<-slots
			conn.Close()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer conns.remove(conn)
			defer conn.Close()
			serve(conn)
		}()
	}
}

// idleReader sets a read deadline before every read, so a connection that
// sends nothing for the idle time fails its read. It is set per read of the
// underlying connection (per buffer fill), not per message. If until is
// set and not zero, reads also fail at that time (a handshake's deadline).
type idleReader struct {
	conn  net.Conn
	idle  time.Duration
	until *time.Time
}

func (r idleReader) Read(p []byte) (int, error) {
	var d time.Time
	if r.idle > 0 {
		d = time.Now().Add(r.idle)
	}
	if r.until != nil && !r.until.IsZero() && (d.IsZero() || r.until.Before(d)) {
		d = *r.until
	}
	if !d.IsZero() {
		if err := r.conn.SetReadDeadline(d); err != nil {
			return 0, err
		}
	}
	return r.conn.Read(p)
}

// sleepCtx waits d or until ctx is done; it reports whether the full wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isTimeout reports a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// batch carries inputs from a connection's reader to the node's loop; the
// loop gives it back to its pool, so steady traffic allocates no batches.
type batch[T any] struct{ items []T }

type batchPool[T any] struct{ p sync.Pool }

func (bp *batchPool[T]) get() *batch[T] {
	if b, ok := bp.p.Get().(*batch[T]); ok {
		return b
	}
	return &batch[T]{items: make([]T, 0, readBatch)}
}

// put recycles b; its items are cleared so that the pool holds no garbage.
func (bp *batchPool[T]) put(b *batch[T]) {
	clear(b.items)
	b.items = b.items[:0]
	bp.p.Put(b)
}

var (
	dataBatches    batchPool[string]
	controlBatches batchPool[core.Msg]
)
