package gui

import (
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
)

// refreshPlan says when a refresher runs its rounds and what a round does.
type refreshPlan struct {
	// Every runs a round every Every; 0: no ticks.
	Every time.Duration
	// Wake runs a round when it receives; nil: none. The sender does not
	// block on it (a channel of capacity 1, sent to with a default case).
	Wake <-chan struct{}
	// Gap spaces the rounds Wake starts: a wake less than Gap after the
	// last woken round waits for the end of the Gap, and any number of
	// them makes one round there. 0: a wake starts a round at once.
	Gap time.Duration
	// AtStart runs a round as the loop starts.
	AtStart bool
	// Prepare is a round's work on the loop's goroutine: reading what
	// changed, laying out, painting; never a widget. It returns the part
	// for the UI thread, or nil when there is nothing to show.
	Prepare func(now time.Time) (show func())
}

// refresher is the lab's one refresh loop. Its rounds run on its own
// goroutine; each calls Prepare there and hands what it returns to the
// UI thread with fyne.Do. At most one hand-over waits for the UI thread:
// while one is queued a round is skipped (what it would have shown waits
// for the next one, which sees it), so a busy UI thread never piles up
// refreshes, and with Every or Gap at 40 ms the refresh is at most 25 a
// second however fast things change. Nothing queued touches a widget
// once the app's loop has ended (gone), and no round starts once stop is
// closed.
type refresher struct {
	refreshPlan
	stop   <-chan struct{}
	gone   *atomic.Bool // nil: never gone
	queued atomic.Bool  // a show is queued with fyne.Do and has not started
}

func newRefresher(p refreshPlan, stop <-chan struct{}, gone *atomic.Bool) *refresher {
	return &refresher{refreshPlan: p, stop: stop, gone: gone}
}

// refresher is a refresher tied to the window: it stops with its other
// goroutines (Close, AppStopped) and shows nothing once the app's loop
// has ended. Start it with goRefresh; tests may call round themselves.
func (l *windowLife) refresher(p refreshPlan) *refresher {
	return newRefresher(p, l.stopLoop, &l.uiGone)
}

// goRefresh runs r on a goroutine of the window's, which Close waits for.
func (l *windowLife) goRefresh(r *refresher) {
	l.loopDone.Add(1)
	go func() {
		defer l.loopDone.Done()
		r.run()
	}()
}

// run runs rounds until stop is closed.
func (r *refresher) run() {
	var tick <-chan time.Time
	if r.Every > 0 {
		t := time.NewTicker(r.Every)
		defer t.Stop()
		tick = t.C
	}
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	defer gap.Stop()
	var gapC <-chan time.Time // non-nil while a woken round was less than Gap ago
	wokenMeanwhile := false
	woken := func() {
		r.round(time.Now())
		if r.Gap > 0 {
			gap.Reset(r.Gap)
			gapC = gap.C
		}
	}
	if r.AtStart {
		r.round(time.Now())
	}
	for {
		select {
		case <-r.stop:
			return
		case now := <-tick:
			r.round(now)
		case <-r.Wake:
			if gapC != nil {
				wokenMeanwhile = true
				continue
			}
			woken()
		case <-gapC:
			gapC = nil
			if wokenMeanwhile {
				wokenMeanwhile = false
				woken()
			}
		}
	}
}

// round prepares and queues one refresh, unless the last one has not
// started on the UI thread yet or the loop was told to stop.
func (r *refresher) round(now time.Time) {
	select {
	case <-r.stop:
		return
	default:
	}
	if !r.queued.CompareAndSwap(false, true) {
		return // the UI thread has not shown the last one yet
	}
	show := r.Prepare(now)
	if show == nil {
		r.queued.Store(false)
		return
	}
	fyne.Do(func() {
		r.queued.Store(false) // what changes from now on gets another round
		if r.gone == nil || !r.gone.Load() {
			show()
		}
	})
}
