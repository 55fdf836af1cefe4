package sender

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"

	"totalorder/internal/netutil"
)

const (
	writeBufSize = 64 << 10
	jobsBuffer   = 256
)

// Run sends until stop is done, then drains: what is queued is still sent
// (see DrainWhileDown) until the queue is empty or abort is done. Whatever
// is left is reported Abandoned, and so is anything Put afterwards. Every
// goroutine Run starts has ended when it returns.
func (s *Sender[T]) Run(stop, abort context.Context) {
	abort, cancel := context.WithCancel(abort)
	// Deferred first so it runs last: by then abort is done, so the
	// connection-per-item senders abandon what they still hold.
	defer s.finish()
	defer cancel()
	if s.cfg.DrainFor > 0 {
		// A timer started at stop ends the drain; the AfterFunc hook and
		// the timer are both undone before Run returns.
		var mu sync.Mutex
		var drainOver *time.Timer
		returned := false
		unhook := context.AfterFunc(stop, func() {
			mu.Lock()
			defer mu.Unlock()
			if !returned {
				drainOver = time.AfterFunc(s.cfg.DrainFor, cancel)
			}
		})
		defer func() {
			unhook()
			mu.Lock()
			defer mu.Unlock()
			returned = true
			if drainOver != nil {
				drainOver.Stop()
			}
		}()
	}
	if !s.cfg.Reuse {
		s.jobs = make(chan T, jobsBuffer)
		for range s.cfg.Conns {
			s.senders.Go(func() { s.sendJobs(abort) })
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	draining := false
	for {
		if abort.Err() != nil {
			return
		}
		if !draining && stop.Err() != nil {
			draining = true
		}
		if s.conn != nil && s.conn.Closed() {
			if len(s.unflushed) > 0 {
				// What the buffer holds cannot go on another connection.
				s.writeFailed(abort, ErrClosedByPeer, 0, false)
			} else {
				s.disconnect(ErrClosedByPeer) // reconnect at the next item (or now, ConnectEarly)
			}
		}
		s.take()
		if draining && s.down && !s.cfg.DrainWhileDown {
			return
		}
		early := s.cfg.Reuse && s.cfg.ConnectEarly && s.conn == nil && !draining
		if s.readyToTry(early) {
			if s.cfg.Reuse {
				s.writeKept(abort)
			} else {
				s.handOut(abort)
			}
		}
		if len(s.unflushed) > 0 {
			if s.waiting() && (s.cfg.Batch <= 0 || len(s.unflushed) < s.cfg.Batch) {
				continue // batch it with what is already queued
			}
			if err := s.flush(); err != nil {
				s.writeFailed(abort, err, 0, false)
			}
		}
		if draining && s.idle() {
			return
		}
		if s.waiting() && !s.down {
			continue
		}

		var retry <-chan time.Time
		if s.down && (len(s.pending) > 0 || s.waiting() || early) {
			wait := time.Until(s.retryAt)
			if wait <= 0 {
				continue
			}
			timer.Reset(wait)
			retry = timer.C
		}
		var gone <-chan struct{}
		if s.conn != nil {
			gone = s.conn.Gone()
		}
		var stopped <-chan struct{}
		if !draining {
			stopped = stop.Done()
		}
		select {
		case <-s.signal:
		case <-retry:
		case <-gone:
		case <-stopped:
		case <-abort.Done():
		}
		timer.Stop()
	}
}

// take moves what was given back, then the queue (up to Batch), into
// pending.
func (s *Sender[T]) take() {
	s.mu.Lock()
	retErr := s.returnErr
	s.returnErr = nil
	if len(s.returned) > 0 {
		// Given back items go first: with one sender that keeps the order.
		s.pending = append(s.returned, s.pending...)
		s.returned = nil
	}
	k := len(s.queue)
	if s.cfg.Batch > 0 {
		k = min(k, max(0, s.cfg.Batch-len(s.pending)))
	}
	if k > 0 {
		s.pending = append(s.pending, s.queue[:k]...)
		clear(s.queue[:k])
		if k == len(s.queue) {
			s.queue = s.queue[:0]
		} else {
			s.queue = s.queue[k:]
		}
		if s.cfg.WhenFull == Block && s.cfg.Limit > 0 {
			select {
			case s.room <- struct{}{}:
			default:
			}
		}
	}
	s.mu.Unlock()
	if retErr != nil && !s.down {
		s.markDown(retErr)
	}
}

// waiting reports whether items wait in the queue or were given back.
func (s *Sender[T]) waiting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0 || len(s.returned) > 0
}

func (s *Sender[T]) idle() bool {
	return len(s.pending) == 0 && len(s.unflushed) == 0 && s.outstanding.Load() == 0 && !s.waiting()
}

// readyToTry says whether an attempt is due: something to send (or a
// connection to open early) and, while the far end is down, the backoff
// over. While down it also gives up on what GiveUp says to.
func (s *Sender[T]) readyToTry(early bool) bool {
	if !s.down {
		return len(s.pending) > 0 || early
	}
	if s.cfg.GiveUp != nil {
		kept := s.pending[:0]
		var gaveUp []T
		for _, it := range s.pending {
			if s.cfg.GiveUp(it) {
				gaveUp = append(gaveUp, it)
			} else {
				kept = append(kept, it)
			}
		}
		clear(s.pending[len(kept):])
		s.pending = kept
		s.drop(gaveUp, GaveUp, true)
	}
	return (len(s.pending) > 0 || early) && !time.Now().Before(s.retryAt)
}

// markDown starts an outage or pushes the next attempt back.
func (s *Sender[T]) markDown(err error) {
	outage := !s.down
	if outage {
		s.down = true
		s.downSince = time.Now()
		s.backoff = s.cfg.RetryMin
	} else {
		s.backoff = min(2*s.backoff, s.cfg.RetryMax)
	}
	s.up.Store(false)
	s.downHint.Store(true)
	s.retryAt = time.Now().Add(s.backoff)
	if s.cfg.Hooks.Failed != nil {
		s.cfg.Hooks.Failed(err, outage, s.backoff)
	}
}

// markUp ends an outage, if there was one.
func (s *Sender[T]) markUp() {
	s.up.Store(true)
	s.downHint.Store(false)
	if !s.down {
		return
	}
	s.down, s.backoff = false, s.cfg.RetryMin
	if s.cfg.Hooks.Up != nil {
		s.cfg.Hooks.Up(time.Since(s.downSince))
	}
}

// finish runs as Run ends: the senders stop, the connection closes, and
// whatever is left is abandoned.
func (s *Sender[T]) finish() {
	if s.jobs != nil {
		close(s.jobs)
		s.senders.Wait()
	}
	s.disconnect(nil)
	s.mu.Lock()
	s.ended = true
	left := append(append(append(append([]T(nil), s.returned...), s.pending...), s.unflushed...), s.queue...)
	s.returned, s.queue = nil, nil
	s.mu.Unlock()
	close(s.endedCh)
	s.pending, s.unflushed = nil, nil
	s.drop(left, Abandoned, true)
}

// --- a connection per item ---

// handOut gives pending items to the senders or, while the far end is
// down, probes it with the first one.
func (s *Sender[T]) handOut(abort context.Context) {
	if len(s.pending) == 0 {
		return
	}
	if s.down {
		it := s.pending[0]
		if err := s.sendOne(abort, it, &s.frame); err != nil {
			if abort.Err() == nil {
				s.markDown(err)
			}
			return
		}
		s.sent(s.pending[:1])
		s.dropPending(1)
		s.markUp()
	}
	n := 0
	for _, it := range s.pending {
		if s.downHint.Load() {
			break // a sender just failed: wait for Run's verdict
		}
		s.outstanding.Add(1)
		select {
		case s.jobs <- it:
			n++
		case <-abort.Done():
			s.outstanding.Add(-1)
			s.dropPending(n)
			return
		}
	}
	s.dropPending(n)
}

func (s *Sender[T]) dropPending(k int) {
	n := copy(s.pending, s.pending[k:])
	clear(s.pending[n:])
	s.pending = s.pending[:n]
}

// sendJobs is one connection-per-item sender, owned by Run (finish closes
// jobs and waits).
func (s *Sender[T]) sendJobs(abort context.Context) {
	var frame []byte
	one := make([]T, 1)
	for it := range s.jobs {
		one[0] = it
		switch {
		case abort.Err() != nil:
			s.drop(one, Abandoned, true)
		case s.downHint.Load():
			s.giveBack(it, nil)
		default:
			switch err := s.sendOne(abort, it, &frame); {
			case err == nil:
				s.sent(one)
			case abort.Err() != nil:
				s.drop(one, Abandoned, true)
			default:
				s.downHint.Store(true)
				s.giveBack(it, err)
			}
		}
		var zero T
		one[0] = zero
		if s.outstanding.Add(-1) == 0 {
			s.nudge() // a draining Run waits for this
		}
	}
}

func (s *Sender[T]) giveBack(it T, err error) {
	s.mu.Lock()
	s.returned = append(s.returned, it)
	if err != nil && s.returnErr == nil {
		s.returnErr = err
	}
	s.mu.Unlock()
	s.nudge()
}

// sendOne writes one item on a connection of its own.
func (s *Sender[T]) sendOne(abort context.Context, it T, frame *[]byte) error {
	conn, err := s.cfg.Dial(abort)
	if err != nil {
		return err
	}
	if s.cfg.Hooks.Connected != nil {
		s.cfg.Hooks.Connected()
	}
	unwatch := context.AfterFunc(abort, func() { _ = conn.Close() })
	defer unwatch()
	if err := conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
		_ = conn.Close()
		return err
	}
	*frame = s.cfg.Append((*frame)[:0], it)
	_, err = conn.Write(*frame)
	if cerr := conn.Close(); err == nil && cerr != nil && abort.Err() == nil {
		err = cerr
	}
	return err
}

// --- one kept-open connection ---

// writeKept writes pending items into the kept-open connection's buffer,
// connecting first if needed. Flushing is left to Run, so that a burst
// goes out in few writes.
func (s *Sender[T]) writeKept(abort context.Context) {
	if s.conn == nil {
		conn, err := s.cfg.Dial(abort)
		if err != nil {
			if abort.Err() == nil {
				s.markDown(err)
			}
			return
		}
		s.connect(abort, conn)
		s.markUp()
	}
	if len(s.pending) == 0 {
		return
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout)); err != nil {
		s.writeFailed(abort, err, 0, false)
		return
	}
	for i, it := range s.pending {
		// Framed straight into the buffer when it fits.
		frame := s.cfg.Append(s.bw.AvailableBuffer(), it)
		if s.bw.Buffered() > 0 && s.bw.Available() < len(frame) {
			// (frame did not fit, so append moved it out of the buffer.)
			if err := s.flush(); err != nil {
				s.writeFailed(abort, err, i, false)
				return
			}
		}
		if _, err := s.bw.Write(frame); err != nil {
			s.writeFailed(abort, err, i, true)
			return
		}
		s.unflushed = append(s.unflushed, it)
	}
	s.dropPending(len(s.pending))
}

func (s *Sender[T]) connect(abort context.Context, conn net.Conn) {
	if s.cfg.Hooks.Connected != nil {
		s.cfg.Hooks.Connected()
	}
	s.unwatch = context.AfterFunc(abort, func() { _ = conn.Close() })
	if s.bw == nil {
		s.bw = bufio.NewWriterSize(conn, writeBufSize)
	} else {
		s.bw.Reset(conn)
	}
	// The far end never writes on this connection: watching it tells
	// exactly when it closes it, before the next batch is written into a
	// dead socket and lost. Run's select wakes on Gone.
	s.conn = netutil.Watch(conn, nil)
	s.connected.Store(true)
}

// disconnect closes the kept-open connection (waiting for its watcher);
// why, when set, is reported to Hooks.Closed.
func (s *Sender[T]) disconnect(why error) {
	if s.conn == nil {
		return
	}
	s.unwatch()
	_ = s.conn.Close()
	s.conn, s.unwatch = nil, nil
	s.connected.Store(false)
	if why != nil && s.cfg.Hooks.Closed != nil {
		s.cfg.Hooks.Closed(why)
	}
}

// flush sends the buffered items and reports them sent.
func (s *Sender[T]) flush() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	s.sent(s.unflushed)
	clear(s.unflushed)
	s.unflushed = s.unflushed[:0]
	return nil
}

// writeFailed handles a failed write on the kept-open connection: the
// unflushed items may have arrived, and so may pending[next] in part if
// partial. With Resend they go back to the head of pending; otherwise they
// are Lost. The items after them were not written and stay.
func (s *Sender[T]) writeFailed(abort context.Context, err error, next int, partial bool) {
	stopping := abort.Err() != nil // then it is all abandoned, not lost
	if s.cfg.Resend || stopping {
		back := make([]T, 0, len(s.unflushed)+len(s.pending)-next)
		back = append(back, s.unflushed...)
		back = append(back, s.pending[next:]...)
		s.pending = back
	} else {
		// pending[:next] were written, so they are in unflushed already.
		lost := s.unflushed
		if partial {
			lost = append(lost, s.pending[next])
			next++
		}
		s.drop(lost, Lost, true)
		s.dropPending(next)
	}
	clear(s.unflushed)
	s.unflushed = s.unflushed[:0]
	if stopping {
		s.disconnect(nil) // not a failure to report
		return
	}
	s.disconnect(err)
	s.markDown(err)
}
