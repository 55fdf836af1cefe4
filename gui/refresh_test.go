package gui

import (
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// The test driver runs fyne.Do at once on the calling goroutine, so in
// these tests a round's show runs on the loop's goroutine, before the
// loop receives its next wake.

// counts counts a refresher's prepares and shows; every prepare is also
// reported on signal, if there is room.
type counts struct {
	prepared, shown atomic.Int64
	signal          chan int64 // the prepare's number, if there is room
}

func (c *counts) prepare(time.Time) func() {
	n := c.prepared.Add(1)
	select {
	case c.signal <- n:
	default:
	}
	return func() { c.shown.Add(1) }
}

func newCounts() *counts { return &counts{signal: make(chan int64, 100)} }

func waitPrepared(t *testing.T, c *counts, atLeast int64) {
	t.Helper()
	deadline := time.After(10 * time.Second) // a deadline, not a synchronisation
	for {
		select {
		case n := <-c.signal:
			if n >= atLeast {
				return
			}
		case <-deadline:
			t.Fatalf("%d rounds, want at least %d", c.prepared.Load(), atLeast)
		}
	}
}

// Wakes within the gap after a woken round make no round of their own:
// they wait for the gap's end.
func TestRefresherCoalescesWakesWithinTheGap(t *testing.T) {
	test.NewTempApp(t)
	c := newCounts()
	wake, stop := make(chan struct{}), make(chan struct{})
	r := newRefresher(refreshPlan{Wake: wake, Gap: time.Hour, Prepare: c.prepare}, stop, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run()
	}()
	// Unbuffered: each send returns once the loop took the wake, and it
	// has finished with the one before.
	for range 100 {
		wake <- struct{}{}
	}
	close(stop)
	<-done
	if p, s := c.prepared.Load(), c.shown.Load(); p != 1 || s != 1 {
		t.Errorf("100 wakes within the gap: %d rounds prepared, %d shown; want 1 and 1", p, s)
	}
}

// A wake within the gap is not lost: one round follows at the gap's end,
// and the rounds stay at least a gap apart however many wakes come.
func TestRefresherRoundAfterTheGap(t *testing.T) {
	test.NewTempApp(t)
	c := newCounts()
	const gap = 20 * time.Millisecond
	wake, stop := make(chan struct{}), make(chan struct{})
	var sent atomic.Int64
	seen := make(chan struct{}, 1)
	var last atomic.Int64 // the wakes sent when the last round was prepared
	r := newRefresher(refreshPlan{Wake: wake, Gap: gap, Prepare: func(now time.Time) func() {
		n := sent.Load()
		last.Store(n)
		if n == 1000 {
			select {
			case seen <- struct{}{}:
			default:
			}
		}
		return c.prepare(now)
	}}, stop, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.run()
	}()
	start := time.Now()
	for range 1000 {
		sent.Add(1)
		wake <- struct{}{}
	}
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Fatalf("no round after the last wake (the last round saw %d of 1000)", last.Load())
	}
	elapsed := time.Since(start)
	close(stop)
	<-done
	rounds := c.prepared.Load()
	if most := 2 + int64(elapsed/gap); rounds > most {
		t.Errorf("%d rounds in %v for 1000 wakes, want at most %d (one per %v)", rounds, elapsed, most, gap)
	}
	if rounds < 2 {
		t.Errorf("%d rounds: the wakes after the first round made none", rounds)
	}
}

// While a show waits for the UI thread, rounds prepare nothing: a busy UI
// thread gets one refresh, not a backlog.
func TestRefresherOneShowQueued(t *testing.T) {
	test.NewTempApp(t)
	c := newCounts()
	r := newRefresher(refreshPlan{Prepare: c.prepare}, make(chan struct{}), nil)
	r.queued.Store(true) // as if fyne.Do had not run the last show yet
	r.round(time.Now())
	r.round(time.Now())
	if n := c.prepared.Load(); n != 0 {
		t.Fatalf("%d rounds prepared while a show was queued", n)
	}
	r.queued.Store(false) // the UI thread ran it
	r.round(time.Now())
	if p, s := c.prepared.Load(), c.shown.Load(); p != 1 || s != 1 {
		t.Errorf("after the queued show ran: %d prepared, %d shown; want 1 and 1", p, s)
	}
	// A round with nothing to show queues nothing and blocks none.
	empty := newRefresher(refreshPlan{Prepare: func(time.Time) func() { return nil }}, make(chan struct{}), nil)
	empty.round(time.Now())
	if empty.queued.Load() {
		t.Error("a round with nothing to show left a show queued")
	}
}

// Ticks with a round at the start; Close stops the loop and waits for it,
// and no round runs after.
func TestRefresherTicksAndStopsWithTheWindow(t *testing.T) {
	a := test.NewTempApp(t)
	var l windowLife
	l.initLife(a.NewWindow("refresh"), nil, nil)
	c := newCounts()
	r := l.refresher(refreshPlan{Every: time.Millisecond, AtStart: true, Prepare: c.prepare})
	l.goRefresh(r)
	waitPrepared(t, c, 3)
	l.Close() // stops the loop and waits for it
	p, s := c.prepared.Load(), c.shown.Load()
	if s != p {
		t.Errorf("%d rounds prepared, %d shown", p, s)
	}
	r.round(time.Now()) // as a tick that raced with the stop would
	if n := c.prepared.Load(); n != p {
		t.Errorf("a round after Close prepared (%d, was %d)", n, p)
	}
}

// After the app's loop has ended (AppStopped) a show already queued does
// not run: it would touch widgets off the UI thread. The loop is told to
// stop without being waited for.
func TestRefresherShowsNothingOnceTheAppStopped(t *testing.T) {
	a := test.NewTempApp(t)
	var l windowLife
	l.initLife(a.NewWindow("refresh"), nil, nil)
	var shown atomic.Bool
	r := l.refresher(refreshPlan{Prepare: func(time.Time) func() {
		l.AppStopped() // the app ends between the prepare and its show
		return func() { shown.Store(true) }
	}})
	r.round(time.Now())
	if shown.Load() {
		t.Error("a show ran after AppStopped")
	}
	if r.queued.Load() {
		t.Error("the skipped show stays queued")
	}
	select {
	case <-l.stopLoop:
	default:
		t.Error("AppStopped did not stop the loops")
	}
	l.Close()
}
