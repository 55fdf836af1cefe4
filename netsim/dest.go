package netsim

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"totalorder/internal/evlog"
	"totalorder/internal/sender"
)

const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = time.Second
	lateLogged = 50 * time.Millisecond // delivered copies later than this say so
)

// dest is one destination: a timer that holds each copy for its own
// random delay, and a sender.Sender that delivers the copies as they come
// due (a connection per copy from a few dialers at once, like the
// original's thread per copy, or one kept-open connection with -reuse),
// retrying for RetryFor while the destination is down. What is the
// destination's own is the timing and the counting: the hooks count and
// log every copy delivered, failed or abandoned.
type dest struct {
	s     *Server
	index int
	addr  string
	// alts are where else the destination may listen (this host's own
	// addresses, for middlewares written for the original program).
	alts  []string
	addrs *sender.Addrs // addr, then alts
	label string        // its name on the original's console: the port, or addr

	mu      sync.Mutex
	delayed delayHeap     // waiting out their delay
	wake    chan struct{} // capacity 1: "the earliest due copy changed"
	out     *sender.Sender[copyItem]

	inFlight   atomic.Int64
	delivered  atomic.Uint64
	failed     atomic.Uint64
	abandoned  atomic.Uint64
	connects   atomic.Uint64 // connections opened
	fullLogged atomic.Bool   // "queue full" said for this episode

	// Owned by the sender's goroutine (its hooks).
	lostInOutage int
}

func newDest(s *Server, index int, addr string, alts []string) *dest {
	d := &dest{s: s, index: index, addr: addr, alts: alts, wake: make(chan struct{}, 1)}
	d.addrs = sender.NewAddrs(addr, alts...)
	d.addrs.Moved = func(at string) {
		d.s.log.Info().Str("dest", d.addr).Str("at", at).Msg("destination found at another address of this host")
	}
	d.label = addr
	if len(s.cfg.Dests) == 0 {
		d.label = portOf(addr)
	}
	d.out = sender.New(sender.Config[copyItem]{
		Dial:      func(ctx context.Context) (net.Conn, error) { return d.addrs.Dial(ctx, s.cfg.DialTimeout) },
		Append:    func(dst []byte, c copyItem) []byte { return append(dst, c.msg.frame...) },
		Reuse:     s.cfg.Reuse,
		Conns:     s.cfg.Dialers,
		UpAtStart: true,
		RetryMin:  minBackoff,
		RetryMax:  maxBackoff,
		// A copy that may not have arrived is sent again: the middlewares
		// ignore duplicates, a lost copy they would wait for.
		Resend:         true,
		WriteTimeout:   s.cfg.WriteTimeout,
		DrainWhileDown: true,
		GiveUp:         func(c copyItem) bool { return d.s.now()-c.due > int64(d.s.cfg.RetryFor) },
		Hooks: sender.Hooks[copyItem]{
			Sent:      d.sent,
			Dropped:   d.dropped,
			Failed:    d.deliveryFailed,
			Up:        d.backUp,
			Connected: func() { d.connects.Add(1) },
		},
	})
	return d
}

// at is where the destination's copies go: where it answered last (its
// configured address until it answers elsewhere).
func (d *dest) at() string { return d.addrs.Current() }

// start starts the timer and the sender; s.workers waits for both. The
// sender drains once the timer has handed over every copy (at shutdown),
// and gives up on the rest when the grace period is over.
func (d *dest) start() {
	drain, startDrain := context.WithCancel(context.Background())
	d.s.workers.Add(2)
	go func() {
		defer d.s.workers.Done()
		defer startDrain()
		d.runTimer()
	}()
	go func() {
		defer d.s.workers.Done()
		defer startDrain()
		d.out.Run(drain, d.s.hardCtx)
		if n := d.abandoned.Load(); n > 0 {
			// (the summary that follows counts them)
			d.s.log.Debug().Str("dest", d.at()).Uint64("copies", n).Msg("shutdown grace over: copies abandoned")
		}
	}()
}

// enqueue adds one copy; called by sender handlers.
func (d *dest) enqueue(c copyItem) {
	s := d.s
	if d.inFlight.Load() >= int64(s.cfg.MaxQueue) {
		d.failed.Add(1)
		s.failed.Add(1)
		if d.fullLogged.CompareAndSwap(false, true) {
			s.log.Error().Str("dest", d.addr).Int("limit", s.cfg.MaxQueue).
				Msg("too many copies queued for destination: new copies to it count as failed")
		}
		return
	}
	d.inFlight.Add(1)
	s.inFlight.Add(1)
	if c.delay <= 0 {
		d.out.Put(c) // the no-delay fast path
		return
	}
	d.mu.Lock()
	d.delayed.push(c)
	nudge := d.delayed.peekDue() == c.due // new earliest: the timer must move
	d.mu.Unlock()
	if nudge {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// runTimer hands each delayed copy to the sender when it comes due, with
// one timer on the earliest; at shutdown every copy is due at once. It
// ends once it has handed over everything (or the grace period is over).
func (d *dest) runTimer() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	hurry := d.s.hurry
	hurrying := false
	var due []copyItem
	for {
		now := d.s.now()
		d.mu.Lock()
		for len(d.delayed) > 0 && (hurrying || d.delayed.peekDue() <= now) {
			due = append(due, d.delayed.pop())
		}
		next := int64(-1)
		if len(d.delayed) > 0 {
			next = d.delayed.peekDue()
		}
		d.mu.Unlock()
		if len(due) > 0 {
			d.out.Put(due...)
			clear(due)
			due = due[:0]
		}
		if hurrying {
			return
		}
		var fire <-chan time.Time
		if next >= 0 {
			wait := time.Duration(next - d.s.now())
			if wait <= 0 {
				continue
			}
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-d.wake:
		case <-fire:
		case <-hurry:
			hurrying, hurry = true, nil
		case <-d.s.hardCtx.Done():
			d.mu.Lock()
			left := d.delayed
			d.delayed = nil
			d.mu.Unlock()
			for _, c := range left {
				d.abandon(c)
			}
			return
		}
		timer.Stop()
	}
}

// deliveryFailed: the start of an outage is logged once.
func (d *dest) deliveryFailed(err error, outage bool, _ time.Duration) {
	if !outage {
		return
	}
	d.lostInOutage = 0
	what := "destination " + d.at() + " unreachable"
	if isConnRefused(err) {
		what = "nothing listens at " + d.addrs.String() + " (middleware not started, or stopped?)"
	}
	e := d.s.log.Warn()
	if d.s.shuttingDown() {
		e = d.s.log.Debug() // middlewares often stop first: the summary counts what is left
	}
	e.Str("dest", d.at()).Err(err).Stringer("retry_for", d.s.cfg.RetryFor).
		Msgf("%s: holding its copies and retrying for up to %v", what, d.s.cfg.RetryFor)
}

func (d *dest) backUp(after time.Duration) {
	e := d.s.log.Info()
	if d.lostInOutage > 0 {
		e = d.s.log.Warn()
	}
	e.Str("dest", d.at()).Stringer("after", after.Round(time.Millisecond)).
		Int("failed", d.lostInOutage).Msg("destination reachable again")
}

func (d *dest) sent(cs []copyItem) {
	for _, c := range cs {
		d.onDelivered(c)
	}
	if d.fullLogged.Load() && d.inFlight.Load() < int64(d.s.cfg.MaxQueue/2) {
		d.fullLogged.Store(false)
	}
}

func (d *dest) onDelivered(c copyItem) {
	s := d.s
	d.delivered.Add(1)
	s.delivered.Add(1)
	d.inFlight.Add(-1)
	s.inFlight.Add(-1)
	if s.events != nil {
		s.events.write(evlog.Copy, c.msg.id, c.msg.text(), d.index+1, c.delay)
	}
	if e := s.msgLog.Info(); e != nil {
		e.Uint64("id", c.msg.id).Str("to", d.at()).Stringer("delay", c.delay.Round(time.Millisecond))
		if late := time.Duration(s.now() - c.due); late > lateLogged {
			e.Stringer("late", late.Round(time.Millisecond))
		}
		e.Bytes("msg", preview(c.msg.text())).Msg("delivered")
	}
}

// dropped counts copies the sender will not deliver: given up after
// RetryFor (failed), or left at the end of the grace period (abandoned).
// It sends again what a failed write held, and has no bound, so nothing
// else comes here.
func (d *dest) dropped(cs []copyItem, why sender.Reason) {
	for _, c := range cs {
		if why == sender.GaveUp {
			d.fail(c)
		} else {
			d.abandon(c)
		}
	}
}

func (d *dest) fail(c copyItem) {
	d.failed.Add(1)
	d.s.failed.Add(1)
	d.inFlight.Add(-1)
	d.s.inFlight.Add(-1)
	d.lostInOutage++
	if d.lostInOutage == 1 {
		d.s.log.Warn().Str("dest", d.at()).Stringer("after", d.s.cfg.RetryFor).
			Msg("giving up on copies to an unreachable destination: counted as failed")
	}
}

func (d *dest) abandon(c copyItem) {
	d.abandoned.Add(1)
	d.s.abandoned.Add(1)
	d.inFlight.Add(-1)
	d.s.inFlight.Add(-1)
}
