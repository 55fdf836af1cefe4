package netsim

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"totalorder/internal/evlog"
	"totalorder/internal/netutil"
)

const (
	minBackoff   = 20 * time.Millisecond
	maxBackoff   = time.Second
	writeBufSize = 64 << 10
	jobsBuffer   = 256
	lateLogged   = 50 * time.Millisecond // delivered copies later than this say so
)

// dest is one destination: a queue of copies served by one worker
// goroutine. Senders' handlers only append under mu and nudge wake; all
// I/O and retry state belong to the worker (and, in connection-per-copy
// mode, its small pool of dialers).
type dest struct {
	s     *Server
	index int
	addr  string
	// alts are where else the destination may listen (this host's own
	// addresses, for middlewares written for the original program);
	// current is the index, in addr then alts, of the one that last
	// answered.
	alts    []string
	current atomic.Int32
	cands   []string // addr, then alts
	label   string   // its name on the original's console: the port, or addr

	mu        sync.Mutex
	ready     []copyItem // due now, in acceptance order (the no-delay fast path)
	delayed   delayHeap  // waiting out their delay
	returned  []copyItem // handed back by dialers after a failed delivery
	returnErr error      // why the first of them failed

	wake chan struct{} // capacity 1: "look at the queue again"

	inFlight   atomic.Int64
	delivered  atomic.Uint64
	failed     atomic.Uint64
	abandoned  atomic.Uint64
	up         atomic.Bool
	connected  atomic.Bool   // reuse: a connection is open
	connects   atomic.Uint64 // connections opened
	downHint   atomic.Bool   // a delivery failed: dialers stop trying until the worker probes
	fullLogged atomic.Bool   // "queue full" said for this episode

	// Owned by the worker goroutine.
	pending      []copyItem // due, not yet handed to delivery
	down         bool
	downSince    int64
	nextAttempt  int64
	backoff      time.Duration
	lostInOutage int

	// Connection per copy: the worker feeds jobs to a pool of dialers.
	jobs        chan copyItem
	outstanding atomic.Int64 // jobs handed out and not finished
	dialers     sync.WaitGroup

	// Reuse: one connection written through a buffer.
	out        net.Conn
	bw         *bufio.Writer
	peerGone   <-chan struct{} // closed when the destination closes its end
	stopOnHard func() bool
	unflushed  []copyItem // written to bw, not yet flushed
}

func newDest(s *Server, index int, addr string, alts []string) *dest {
	d := &dest{s: s, index: index, addr: addr, alts: alts, wake: make(chan struct{}, 1)}
	d.cands = append([]string{addr}, alts...)
	d.label = addr
	if len(s.cfg.Dests) == 0 {
		d.label = portOf(addr)
	}
	d.up.Store(true)
	return d
}

// at is where the destination's copies go: where it answered last (its
// configured address until it answers elsewhere).
func (d *dest) at() string { return d.cands[d.current.Load()] }

func (d *dest) start() {
	if !d.s.cfg.Reuse {
		d.jobs = make(chan copyItem, jobsBuffer)
		for range d.s.cfg.Dialers {
			d.dialers.Add(1)
			go d.dialLoop()
		}
	}
	d.s.workers.Add(1)
	go d.run()
}

func (d *dest) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
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
	d.mu.Lock()
	var nudge bool
	if c.delay <= 0 {
		// The worker takes the whole slice each time, so only the first
		// copy after a take needs to wake it.
		nudge = len(d.ready) == 0
		d.ready = append(d.ready, c)
	} else {
		d.delayed.push(c)
		nudge = d.delayed.peekDue() == c.due // new earliest: the timer must move
	}
	d.mu.Unlock()
	if nudge {
		d.signal()
	}
}

// run is the worker: it moves due copies to delivery, keeps a single
// timer on the earliest due copy or retry, and ends once draining is done
// or the grace period is over.
func (d *dest) run() {
	defer d.s.workers.Done()
	defer d.finish()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	hurry := d.s.hurry
	hurrying := false
	hard := d.s.hardCtx.Done()
	for {
		if d.s.hardCtx.Err() != nil {
			return // grace over; also ends a failed attempt that left a retry due
		}
		if d.out != nil && d.closedByPeer() {
			d.disconnect() // reconnect on the next copy
		}
		now := d.s.now()
		d.take(now, hurrying)
		if len(d.pending) > 0 {
			if d.s.cfg.Reuse {
				d.writeReuse(now)
			} else {
				d.handOut(now)
			}
		}
		if len(d.unflushed) > 0 {
			if d.moreDue(d.s.now()) {
				continue // batch it with what is already due
			}
			if err := d.flush(); err != nil {
				d.writeFailed(err, 0)
			}
		}
		if hurrying && d.idle() {
			return
		}
		if d.fullLogged.Load() && d.inFlight.Load() < int64(d.s.cfg.MaxQueue/2) {
			d.fullLogged.Store(false)
		}

		next := int64(-1)
		if !hurrying {
			d.mu.Lock()
			if len(d.delayed) > 0 {
				next = d.delayed.peekDue()
			}
			d.mu.Unlock()
		}
		if d.down && len(d.pending) > 0 && (next < 0 || d.nextAttempt < next) {
			next = d.nextAttempt
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
		case <-hard:
			return
		}
		timer.Stop()
	}
}

// take moves every due copy (all of them once hurrying) into pending.
func (d *dest) take(now int64, hurrying bool) {
	d.mu.Lock()
	retErr := d.returnErr
	d.returnErr = nil
	d.pending = append(d.pending, d.returned...)
	clear(d.returned)
	d.returned = d.returned[:0]
	for len(d.delayed) > 0 && (hurrying || d.delayed.peekDue() <= now) {
		d.pending = append(d.pending, d.delayed.pop())
	}
	d.pending = append(d.pending, d.ready...)
	clear(d.ready)
	d.ready = d.ready[:0]
	d.mu.Unlock()
	if retErr != nil && !d.down && d.s.hardCtx.Err() == nil {
		d.markDown(retErr)
	}
}

func (d *dest) moreDue(now int64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ready) > 0 || len(d.returned) > 0 || (len(d.delayed) > 0 && d.delayed.peekDue() <= now)
}

func (d *dest) idle() bool {
	if len(d.pending) > 0 || len(d.unflushed) > 0 || d.outstanding.Load() > 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ready) == 0 && len(d.delayed) == 0 && len(d.returned) == 0
}

// dropPending removes the first k pending copies.
func (d *dest) dropPending(k int) {
	n := copy(d.pending, d.pending[k:])
	clear(d.pending[n:])
	d.pending = d.pending[:n]
}

// readyToTry says whether pending copies may be delivered now; while the
// destination is down it also gives up on copies older than RetryFor.
func (d *dest) readyToTry(now int64) bool {
	if !d.down {
		return true
	}
	d.expire(now)
	return len(d.pending) > 0 && now >= d.nextAttempt
}

func (d *dest) expire(now int64) {
	limit := int64(d.s.cfg.RetryFor)
	kept := d.pending[:0]
	for _, c := range d.pending {
		if now-c.due > limit {
			d.fail(c)
		} else {
			kept = append(kept, c)
		}
	}
	clear(d.pending[len(kept):])
	d.pending = kept
}

// markDown starts an outage (logged once) or pushes the next attempt back.
func (d *dest) markDown(err error) {
	now := d.s.now()
	if !d.down {
		d.down = true
		d.downSince = now
		d.backoff = minBackoff
		d.lostInOutage = 0
		d.up.Store(false)
		what := "destination " + d.at() + " unreachable"
		if isConnRefused(err) {
			what = "nothing listens at " + d.at() + " (middleware not started, or stopped?)"
			if len(d.alts) > 0 {
				what = "nothing listens at " + strings.Join(d.cands, " or ") + " (middleware not started, or stopped?)"
			}
		}
		e := d.s.log.Warn()
		if d.s.shuttingDown() {
			e = d.s.log.Debug() // middlewares often stop first: the summary counts what is left
		}
		e.Str("dest", d.at()).Err(err).Stringer("retry_for", d.s.cfg.RetryFor).
			Msgf("%s: holding its copies and retrying for up to %v", what, d.s.cfg.RetryFor)
	} else {
		d.backoff = min(2*d.backoff, maxBackoff)
	}
	d.downHint.Store(true)
	d.nextAttempt = now + int64(d.backoff)
}

func (d *dest) markUp() {
	if d.down {
		d.down = false
		d.up.Store(true)
		e := d.s.log.Info()
		if d.lostInOutage > 0 {
			e = d.s.log.Warn()
		}
		e.Str("dest", d.at()).Stringer("after", time.Duration(d.s.now()-d.downSince).Round(time.Millisecond)).
			Int("failed", d.lostInOutage).Msg("destination reachable again")
	}
	d.downHint.Store(false)
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

// finish runs when the worker ends: whatever is still queued is abandoned.
func (d *dest) finish() {
	if d.jobs != nil {
		close(d.jobs)
		d.dialers.Wait()
	}
	d.disconnect()
	for _, c := range d.pending {
		d.abandon(c)
	}
	for _, c := range d.unflushed {
		d.abandon(c)
	}
	d.pending, d.unflushed = nil, nil
	d.mu.Lock()
	for _, q := range [][]copyItem{d.ready, d.delayed, d.returned} {
		for _, c := range q {
			d.abandon(c)
		}
	}
	d.ready, d.delayed, d.returned = nil, nil, nil
	d.mu.Unlock()
	if n := d.abandoned.Load(); n > 0 {
		// (the summary that follows counts them)
		d.s.log.Debug().Str("dest", d.at()).Uint64("copies", n).Msg("shutdown grace over: copies abandoned")
	}
}

// --- connection per copy ---

// handOut gives due copies to the dialers, or, while the destination is
// down, probes it with the first one.
func (d *dest) handOut(now int64) {
	if !d.readyToTry(now) {
		return
	}
	if d.down {
		c := d.pending[0]
		if err := d.sendOne(c); err != nil {
			if d.s.hardCtx.Err() == nil {
				d.markDown(err)
			}
			return
		}
		d.onDelivered(c)
		d.dropPending(1)
		d.markUp()
	}
	sent := 0
	for _, c := range d.pending {
		if d.downHint.Load() {
			break // a dialer just failed: wait for the worker's verdict
		}
		d.outstanding.Add(1)
		select {
		case d.jobs <- c:
			sent++
		case <-d.s.hardCtx.Done():
			d.outstanding.Add(-1)
			d.dropPending(sent)
			return
		}
	}
	d.dropPending(sent)
}

func (d *dest) dialLoop() {
	defer d.dialers.Done()
	for c := range d.jobs {
		switch {
		case d.s.hardCtx.Err() != nil:
			d.abandon(c)
		case d.downHint.Load():
			d.giveBack(c, nil)
		default:
			err := d.sendOne(c)
			switch {
			case err == nil:
				d.onDelivered(c)
			case d.s.hardCtx.Err() != nil:
				d.abandon(c)
			default:
				d.downHint.Store(true)
				d.giveBack(c, err)
			}
		}
		if d.outstanding.Add(-1) == 0 {
			d.signal() // a draining worker waits for this
		}
	}
}

func (d *dest) giveBack(c copyItem, err error) {
	d.mu.Lock()
	d.returned = append(d.returned, c)
	if err != nil && d.returnErr == nil {
		d.returnErr = err
	}
	d.mu.Unlock()
	d.signal()
}

// dial connects to the destination: where it answered last, then at its
// other addresses in turn.
func (d *dest) dial() (net.Conn, error) {
	dialer := net.Dialer{Timeout: d.s.cfg.DialTimeout}
	cands := d.cands
	first := int(d.current.Load())
	var firstErr error
	for k := range cands {
		i := (first + k) % len(cands)
		conn, err := dialer.DialContext(d.s.hardCtx, "tcp", cands[i])
		if err == nil {
			if d.current.Swap(int32(i)) != int32(i) && k > 0 {
				d.s.log.Info().Str("dest", d.addr).Str("at", cands[i]).Msg("destination found at another address of this host")
			}
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if d.s.hardCtx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// sendOne delivers one copy on a connection of its own.
func (d *dest) sendOne(c copyItem) error {
	conn, err := d.dial()
	if err != nil {
		return err
	}
	d.connects.Add(1)
	stop := context.AfterFunc(d.s.hardCtx, func() { _ = conn.Close() })
	defer stop()
	if err := conn.SetWriteDeadline(time.Now().Add(d.s.cfg.WriteTimeout)); err != nil {
		_ = conn.Close()
		return err
	}
	_, err = conn.Write(c.msg.frame)
	if cerr := conn.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// --- reuse ---

// writeReuse writes due copies on the destination's connection,
// (re)connecting first if needed. Flushing is left to run, so a burst
// goes out in few writes.
func (d *dest) writeReuse(now int64) {
	if !d.readyToTry(now) {
		return
	}
	if d.out == nil {
		if err := d.connect(); err != nil {
			if d.s.hardCtx.Err() == nil {
				d.markDown(err)
			}
			return
		}
	}
	d.markUp()
	if err := d.out.SetWriteDeadline(time.Now().Add(d.s.cfg.WriteTimeout)); err != nil {
		d.writeFailed(err, 0)
		return
	}
	for i, c := range d.pending {
		frame := c.msg.frame
		if d.bw.Buffered() > 0 && d.bw.Available() < len(frame) {
			if err := d.flush(); err != nil {
				d.writeFailed(err, i)
				return
			}
		}
		if _, err := d.bw.Write(frame); err != nil {
			d.writeFailed(err, i)
			return
		}
		d.unflushed = append(d.unflushed, c)
	}
	d.dropPending(len(d.pending))
}

func (d *dest) connect() error {
	conn, err := d.dial()
	if err != nil {
		return err
	}
	d.connects.Add(1)
	d.connected.Store(true)
	d.stopOnHard = context.AfterFunc(d.s.hardCtx, func() { _ = conn.Close() })
	if d.bw == nil {
		d.bw = bufio.NewWriterSize(conn, writeBufSize)
	} else {
		d.bw.Reset(conn)
	}
	// A destination closing its end (a restarted middleware) is noticed,
	// and the connection replaced, before the next batch is written into
	// a dead socket. The watcher is counted, so Wait has not returned.
	d.s.workers.Add(1)
	watched := netutil.Watch(conn, func() { d.signal(); d.s.workers.Done() })
	d.out, d.peerGone = watched, watched.Gone()
	return nil
}

func (d *dest) closedByPeer() bool {
	select {
	case <-d.peerGone:
		return true
	default:
		return false
	}
}

func (d *dest) disconnect() {
	if d.out == nil {
		return
	}
	d.stopOnHard()
	_ = d.out.Close()
	d.out, d.peerGone, d.stopOnHard = nil, nil, nil
	d.connected.Store(false)
}

// flush sends the buffered copies and counts them delivered.
func (d *dest) flush() error {
	if err := d.bw.Flush(); err != nil {
		return err
	}
	for _, c := range d.unflushed {
		d.onDelivered(c)
	}
	clear(d.unflushed)
	d.unflushed = d.unflushed[:0]
	return nil
}

// writeFailed puts the unflushed copies and pending[from:] back at the
// head of pending and treats the destination as down (the first retry is
// quick, so a restarted destination is back within milliseconds).
func (d *dest) writeFailed(err error, from int) {
	requeue := make([]copyItem, 0, len(d.unflushed)+len(d.pending)-from)
	requeue = append(requeue, d.unflushed...)
	requeue = append(requeue, d.pending[from:]...)
	clear(d.unflushed)
	d.unflushed = d.unflushed[:0]
	d.pending = requeue
	d.disconnect()
	if d.s.hardCtx.Err() == nil {
		d.markDown(err)
	}
}
