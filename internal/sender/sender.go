// Package sender is the one outgoing link of the lab: a queue of items for
// one far end, served by one goroutine that dials, writes and reconnects.
// The middleware's client for the network program, its control link to
// each peer and the network program's link to each destination are all a
// Sender; each keeps only what is its own (the handshake in its Dial, the
// per-copy delays before Put, its counting and logging in Hooks).
//
// What a Sender does for all of them:
//
//   - a queue with a bound and a policy for when it is full (Block,
//     DropOldest, Refuse), or no bound;
//   - a connection per item (the original network program's way, several
//     at once if Conns says so) or one kept-open connection, watched so
//     that the far end closing it is noticed before the next write;
//   - after a failure, a retry with backoff (RetryMin doubling up to
//     RetryMax), the outage reported once through Hooks.Failed;
//   - at stop, a drain: what is queued is still sent until the abort
//     context ends it, and whatever is left is reported Abandoned.
package sender

import (
	"bufio"
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"totalorder/internal/netutil"
)

// WhenFull says what Put does with items beyond Config.Limit.
type WhenFull int

const (
	// Block makes Put wait for room (or for the Sender to end).
	Block WhenFull = iota
	// DropOldest keeps the newest items: the oldest queued go (Overflow).
	DropOldest
	// Refuse keeps what is queued: the new items go (Overflow).
	Refuse
)

// Reason says why items were dropped instead of sent.
type Reason int

const (
	// Overflow: the queue was full (DropOldest or Refuse).
	Overflow Reason = iota
	// Lost: they were in a write on a kept-open connection that failed,
	// and Resend is off, so they may or may not have arrived.
	Lost
	// GaveUp: Config.GiveUp said so while the far end was down.
	GaveUp
	// Abandoned: still queued when the Sender ended.
	Abandoned
)

func (r Reason) String() string {
	switch r {
	case Overflow:
		return "overflow"
	case Lost:
		return "lost"
	case GaveUp:
		return "gave up"
	case Abandoned:
		return "abandoned"
	}
	return "unknown"
}

// ErrClosedByPeer is what Hooks.Closed gets when the far end closed the
// kept-open connection.
var ErrClosedByPeer = errors.New("closed by peer")

// Config describes one Sender. Dial and Append are required.
type Config[T any] struct {
	// Dial opens a connection ready for items: choosing the address and
	// any handshake are the caller's. ctx ends when the Sender is aborted;
	// Dial bounds its own time.
	Dial func(ctx context.Context) (net.Conn, error)
	// Append appends item as it goes on the wire.
	Append func(dst []byte, item T) []byte

	// Reuse keeps one connection open for every item; otherwise each item
	// goes on a connection of its own, closed after it.
	Reuse bool
	// Conns is how many connection-per-item sends may run at once
	// (default 1, which keeps the queue's order).
	Conns int
	// ConnectEarly (Reuse) connects before the first item, so that Up
	// says whether the far end is there before anything is sent.
	ConnectEarly bool
	// UpAtStart is Up's value before the first attempt.
	UpAtStart bool

	// Limit bounds the queue (0: no bound); WhenFull says what happens
	// beyond it.
	Limit    int
	WhenFull WhenFull
	// Batch bounds the items taken from the queue at once (0: all).
	Batch int

	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one write (default 10 s).
	WriteTimeout time.Duration
	// Resend puts what a failed write on a kept-open connection held back
	// at the head of the queue (at least once); otherwise it is Lost (at
	// most once).
	Resend bool
	// DrainFor, when set, bounds the drain after stop as the abort
	// context does.
	DrainFor time.Duration
	// DrainWhileDown keeps retrying during the drain; otherwise the drain
	// ends at the first failure, or at once if the far end is down.
	DrainWhileDown bool
	// GiveUp, when set, is asked about each queued item while the far end
	// is down; items it says yes to are dropped (GaveUp).
	GiveUp func(item T) bool

	Hooks Hooks[T]
}

// Hooks are what a user counts and logs. Each is optional. Sent may run on
// the Sender's goroutine or on one of its connection-per-item senders;
// Dropped also on the goroutine that called Put (Overflow); the others on
// the Sender's goroutine. The slices are valid during the call only.
type Hooks[T any] struct {
	// Sent: written, on a connection of their own or flushed on the
	// kept-open one.
	Sent func(items []T)
	// Dropped: not sent, and never will be.
	Dropped func(items []T, why Reason)
	// Failed: an attempt (dial, handshake, write) failed. outage is true
	// for the first failure after the far end was up (or never was);
	// retry is the wait before the next attempt.
	Failed func(err error, outage bool, retry time.Duration)
	// Up: the far end answered after an outage that lasted down.
	Up func(down time.Duration)
	// Connected: a connection was opened (every one, in both modes).
	Connected func()
	// Closed (Reuse): the kept-open connection ended, because of err.
	Closed func(err error)
}

// Sender is a queue for one far end and what serves it. Put may be called
// from any goroutine; Run from one, once.
type Sender[T any] struct {
	cfg Config[T]

	mu        sync.Mutex
	queue     []T
	returned  []T   // given back by connection-per-item senders
	returnErr error // why the first of them failed
	ended     bool
	signal    chan struct{} // capacity 1: "look at the queue again"
	room      chan struct{} // capacity 1 (Block): "the queue shrank"
	endedCh   chan struct{}

	count     atomic.Int64 // put and neither sent nor dropped
	up        atomic.Bool
	connected atomic.Bool

	// Owned by Run.
	pending   []T // taken, not yet written
	unflushed []T // Reuse: written to bw, not yet flushed
	down      bool
	downSince time.Time
	backoff   time.Duration
	retryAt   time.Time
	conn      *netutil.Watched
	bw        *bufio.Writer
	unwatch   func() bool // ends the abort hook on conn
	frame     []byte

	// Connection per item: Run feeds jobs to Conns senders.
	jobs        chan T
	outstanding atomic.Int64
	downHint    atomic.Bool // a send failed: the others stop trying until Run probes
	senders     sync.WaitGroup
}

// New makes a Sender; Run serves it.
func New[T any](cfg Config[T]) *Sender[T] {
	if cfg.Conns < 1 {
		cfg.Conns = 1
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Second
	}
	if cfg.RetryMin <= 0 || cfg.RetryMin > cfg.RetryMax {
		cfg.RetryMin = min(50*time.Millisecond, cfg.RetryMax)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	s := &Sender[T]{
		cfg:     cfg,
		signal:  make(chan struct{}, 1),
		room:    make(chan struct{}, 1),
		endedCh: make(chan struct{}),
		backoff: cfg.RetryMin,
	}
	s.up.Store(cfg.UpAtStart)
	return s
}

// Up reports whether the far end answered the last attempt. A kept-open
// connection that the far end closed does not change it: the next attempt
// says (at once with ConnectEarly).
func (s *Sender[T]) Up() bool { return s.up.Load() }

// Connected reports whether a kept-open connection is open.
func (s *Sender[T]) Connected() bool { return s.connected.Load() }

// Queued is how many items were put and are neither sent nor dropped.
func (s *Sender[T]) Queued() int { return int(s.count.Load()) }

func (s *Sender[T]) nudge() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Put queues items, applying the full policy, and returns how many were
// queued. It blocks only under Block, while the queue is full.
func (s *Sender[T]) Put(items ...T) int {
	if len(items) == 0 {
		return 0
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		s.drop(slices.Clone(items), Abandoned, false)
		return 0
	}
	var dropped []T
	var why Reason
	put := len(items)
	switch limit := s.cfg.Limit; {
	case limit <= 0:
	case s.cfg.WhenFull == Refuse:
		put = max(0, min(put, limit-len(s.queue)))
		dropped, why = slices.Clone(items[put:]), Overflow
		items = items[:put]
	case s.cfg.WhenFull == Block:
		for len(items) > 0 {
			k := min(len(items), limit-len(s.queue))
			if k > 0 {
				s.appendQueue(items[:k])
				items = items[k:]
				continue
			}
			s.mu.Unlock()
			select {
			case <-s.room:
			case <-s.endedCh:
			}
			s.mu.Lock()
			if s.ended {
				s.mu.Unlock()
				s.drop(slices.Clone(items), Abandoned, false)
				return put - len(items)
			}
		}
		if len(s.queue) < limit {
			select { // pass the room on to the next waiter
			case s.room <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
		return put
	}
	s.appendQueue(items)
	if limit := s.cfg.Limit; limit > 0 && s.cfg.WhenFull == DropOldest && len(s.queue) > limit {
		k := len(s.queue) - limit
		if s.cfg.Hooks.Dropped != nil {
			dropped = append([]T(nil), s.queue[:k]...)
		}
		why = Overflow
		s.count.Add(-int64(k)) // counted by appendQueue just now
		clear(s.queue[:k])
		s.queue = s.queue[k:] // append reallocates later and reclaims the front
	}
	s.mu.Unlock()
	if len(dropped) > 0 {
		s.drop(dropped, why, false)
	}
	return put
}

// appendQueue needs s.mu.
func (s *Sender[T]) appendQueue(items []T) {
	wasEmpty := len(s.queue) == 0
	s.queue = append(s.queue, items...)
	s.count.Add(int64(len(items)))
	// Run takes the queue whole (or a Batch and then looks again), so only
	// the first item after a take needs to wake it.
	if wasEmpty {
		s.nudge()
	}
}

// drop reports items as dropped; counted says they were in s.count (the
// overflow of Put never was).
func (s *Sender[T]) drop(items []T, why Reason, counted bool) {
	if len(items) == 0 {
		return
	}
	if counted {
		s.count.Add(-int64(len(items)))
	}
	if s.cfg.Hooks.Dropped != nil {
		s.cfg.Hooks.Dropped(items, why)
	}
}

func (s *Sender[T]) sent(items []T) {
	s.count.Add(-int64(len(items)))
	if s.cfg.Hooks.Sent != nil {
		s.cfg.Hooks.Sent(items)
	}
}
