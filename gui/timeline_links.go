package gui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"totalorder/timeline"
)

// The timeline runs in the network program's process (or its own), the
// middleware windows in theirs. A message selected in the timeline reaches
// them through a small file in the logs folder (timeline.SelectionFile),
// replaced atomically on every selection; each middleware window checks
// its modification time a few times a second and selects the message in
// its lists. Nothing is sent to the middlewares themselves.

// selectionPoll is how often a middleware window looks at the file.
const selectionPoll = 250 * time.Millisecond

// FollowSelection makes the window select, in its lists, the message
// selected in a timeline, as written to path. Only selections made after
// this call count. Call it once, before the window closes; the watcher
// stops with the window.
func (w *MiddlewareWindow) FollowSelection(path string) {
	var last time.Time
	if st, err := os.Stat(path); err == nil {
		last = st.ModTime()
	}
	w.goRefresh(w.refresher(refreshPlan{Every: selectionPoll, Prepare: func(time.Time) func() {
		msg, at, ok := readSelection(path, last)
		if !ok {
			return nil
		}
		last = at
		return func() { w.selectMessage(msg) }
	}}))
}

// readSelection reads the selection if the file changed after since.
func readSelection(path string, since time.Time) (msg string, at time.Time, ok bool) {
	st, err := os.Stat(path)
	if err != nil || !st.ModTime().After(since) {
		return "", since, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", since, false
	}
	var sel Selection
	if json.Unmarshal(data, &sel) != nil {
		return "", since, false
	}
	return sel.Msg, st.ModTime(), true
}

// selectMessage selects msg in the lists, as a click on it in the list
// that has it would (Ready first, then Received, then Sent). UI thread.
func (w *MiddlewareWindow) selectMessage(msg string) {
	if msg == "" {
		return
	}
	for _, col := range []int{colReady, colReceived, colSent} {
		c := w.cols[col]
		if row, ok := c.model.find(msg); ok {
			c.list.Select(row) // OnSelected selects it in the other lists
			c.list.ScrollTo(row)
			return
		}
	}
	w.selectionInfo.SetText(msg + " (selected in the timeline) is in none of this window's lists yet")
}

// timelineOpener is the Network window's "Timeline" button: it opens one
// live timeline over a logs folder (again after it was closed).
type timelineOpener struct {
	dir       string
	button    *widget.Button
	open      atomic.Pointer[TimelineWindow] // set and cleared on the UI thread; AppStopped reads it from any
	newWindow func(fyne.App, *timeline.Source, TimelineOptions) *TimelineWindow
}

// EnableTimeline shows the "Timeline" button, which opens a live timeline
// of the lab whose events logs are in dir (middleware-I.jsonl and
// netsim.jsonl); opt.Live and opt.SelectionFile are set here. It makes
// the Network window the app's master (closing it quits the app). Call it
// before the window is shown.
func (w *NetworkWindow) EnableTimeline(a fyne.App, dir string, opt TimelineOptions) {
	t := w.timeline
	t.dir = dir
	t.button.OnTapped = func() {
		if open := t.open.Load(); open != nil {
			open.Window().RequestFocus()
			return
		}
		opt.Live = true
		opt.SelectionFile = filepath.Join(dir, timeline.SelectionFile)
		tw := t.newWindow(a, timeline.NewDirSource(dir), opt)
		tw.SetOnClosed(func() { t.open.Store(nil) })
		t.open.Store(tw)
		tw.Window().Show()
	}
	t.button.Show()
	w.fit()
	// The Network window is the app's master: closing it ends the app,
	// and with it the network program, whatever else is open (an open
	// Timeline would otherwise keep both alive until it is closed too).
	w.Window().SetMaster()
}

// newTimelineOpener is the hidden button; EnableTimeline shows it.
func newTimelineOpener() *timelineOpener {
	t := &timelineOpener{button: widget.NewButtonWithIcon("Timeline", theme.HistoryIcon(), nil), newWindow: NewTimelineWindow}
	t.button.Hide()
	return t
}

// appStopped tells an open timeline that the app's loop is ending (see
// AppStopped).
func (t *timelineOpener) appStopped() {
	if t == nil {
		return
	}
	if open := t.open.Load(); open != nil {
		open.AppStopped()
	}
}

// close stops the timeline's goroutine when the Network window goes.
func (t *timelineOpener) close() {
	if t == nil {
		return
	}
	if open := t.open.Load(); open != nil {
		open.Close()
	}
}
