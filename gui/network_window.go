package gui

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// NetworkStats are the network program's counters.
type NetworkStats struct {
	Accepted, Delivered, InFlight, Failed, Dropped, Duplicated uint64
}

// Network is what the network window shows and adjusts. Its methods are
// called from the UI thread and (Stats) from the window's own goroutine.
type Network interface {
	MaxSleep() time.Duration
	SetMaxSleep(time.Duration)
	Drop() float64 // probability that a copy is dropped, 0–1
	SetDrop(float64)
	Dup() float64 // probability that a copy is sent twice, 0–1
	SetDup(float64)
	Stats() NetworkStats
}

// maxSleepSliderMax is the slider's range; the entry accepts more.
const maxSleepSliderMax = 10 * time.Second

// NetworkWindow is the window "Network": maxSleepTime, fault injection and
// counters. It runs until its window closes or Close is called.
type NetworkWindow struct {
	n     Network
	parse func(string) (time.Duration, error)
	windowLife

	identity       *widget.Label // "Network", large, at the top
	content        *fyne.Container
	maxSleepSlider *widget.Slider // milliseconds
	maxSleepEntry  *widget.Entry
	maxSleepError  *widget.Label
	dropSlider     *widget.Slider // percent
	dropValue      *digitsLabel
	dupSlider      *widget.Slider // percent
	dupValue       *digitsLabel
	counters       [numCounters]*digitsLabel
	deliveryRate   *digitsLabel

	// UI thread only.
	syncing       bool // set while one maxSleep control updates the other
	lastDelivered uint64
	lastStatsAt   time.Time

	stats    *refresher      // reads Stats and shows them, every statusInterval
	timeline *timelineOpener // the Timeline button (see EnableTimeline)
}

// Counter rows, in display order.
const (
	cntAccepted = iota
	cntInFlight
	cntDelivered
	cntFailed
	cntDropped
	cntDuplicated
	numCounters
)

var counterNames = [numCounters]string{
	cntAccepted:   "Accepted",
	cntInFlight:   "In flight",
	cntDelivered:  "Delivered",
	cntFailed:     "Failed",
	cntDropped:    "Dropped",
	cntDuplicated: "Duplicated",
}

// NewNetworkWindow creates the window "Network" over n; parseDuration reads
// the maxSleepTime entry (the network program's -max-sleep syntax). It does
// not show the window.
func NewNetworkWindow(a fyne.App, n Network, parseDuration func(string) (time.Duration, error)) *NetworkWindow {
	w := newNetworkWindow(a, n, parseDuration)
	w.start(statusInterval)
	return w
}

// newNetworkWindow builds the window without starting the counters' loop;
// tests call showStats themselves.
func newNetworkWindow(a fyne.App, n Network, parseDuration func(string) (time.Duration, error)) *NetworkWindow {
	w := &NetworkWindow{
		n:        n,
		parse:    parseDuration,
		identity: identityHeading("Network"),
		timeline: newTimelineOpener(),
	}
	// An open timeline closes with this window.
	w.initLife(a.NewWindow("Network"), nil, w.timeline.close)
	w.stats = w.refresher(refreshPlan{Every: statusInterval, Prepare: func(now time.Time) func() {
		s := w.n.Stats()
		return func() { w.showStats(s, now) }
	}})
	w.build()
	return w
}

// AppStopped is for the end of the app's loop (gui.RunWhile's uiDone): no
// update touches a widget any more and the loops (this window's and an
// open timeline's) are told to stop, without waiting for them.
func (w *NetworkWindow) AppStopped() {
	w.windowLife.AppStopped()
	w.timeline.appStopped()
}

func (w *NetworkWindow) build() {
	w.maxSleepSlider = widget.NewSlider(0, float64(maxSleepSliderMax/time.Millisecond))
	w.maxSleepSlider.Step = 10
	w.maxSleepEntry = widget.NewEntry()
	w.maxSleepEntry.SetPlaceHolder("500ms, 2s or milliseconds")
	// Always present, empty when the entry is fine: showing and hiding it
	// would make the window jump.
	w.maxSleepError = newInfoLabel("")
	w.maxSleepError.Importance = widget.DangerImportance
	w.showMaxSleep(w.n.MaxSleep())
	w.maxSleepSlider.OnChanged = w.maxSleepSlid
	w.maxSleepEntry.OnChanged = w.maxSleepTyped
	w.maxSleepEntry.OnSubmitted = func(string) {
		// Rewrite what was typed ("2000") in its unit ("2s").
		if d, err := w.parseMaxSleep(w.maxSleepEntry.Text); err == nil {
			w.showMaxSleep(d)
		}
	}

	w.dropSlider, w.dropValue = newPercentSlider(w.n.Drop(), w.n.SetDrop)
	w.dupSlider, w.dupValue = newPercentSlider(w.n.Dup(), w.n.SetDup)

	entryBox := container.NewGridWrap(fyne.NewSize(140, w.maxSleepEntry.MinSize().Height), w.maxSleepEntry)
	delay := container.NewVBox(
		heading("maxSleepTime", "each copy waits a random time in [0, maxSleepTime]"),
		container.NewBorder(nil, nil, nil, entryBox, w.maxSleepSlider),
		newCompact(w.maxSleepError),
	)
	faults := container.NewVBox(
		heading("Fault injection", "probability for each copy sent to a middleware"),
		container.New(layout.NewFormLayout(),
			widget.NewLabel("Drop"), container.NewBorder(nil, nil, nil, w.dropValue, w.dropSlider),
			widget.NewLabel("Duplicate"), container.NewBorder(nil, nil, nil, w.dupValue, w.dupSlider),
		),
	)

	counterForm := func(rows ...fyne.CanvasObject) *fyne.Container {
		return container.New(layout.NewFormLayout(), rows...)
	}
	for i := range w.counters {
		w.counters[i] = newDigitsLabel("0")
	}
	w.deliveryRate = newDigitsLabel("–")
	name := func(i int) fyne.CanvasObject { return widget.NewLabel(counterNames[i]) }
	counters := container.NewVBox(
		heading("Messages", "copies to middlewares, refreshed 4 times a second"),
		container.NewGridWithColumns(2,
			counterForm(
				name(cntAccepted), w.counters[cntAccepted],
				name(cntInFlight), w.counters[cntInFlight],
				name(cntDelivered), w.counters[cntDelivered],
				widget.NewLabel("Delivered/s"), w.deliveryRate,
			),
			counterForm(
				name(cntFailed), w.counters[cntFailed],
				name(cntDropped), w.counters[cntDropped],
				name(cntDuplicated), w.counters[cntDuplicated],
			),
		),
	)

	content := container.NewVBox(w.identity, delay, widget.NewSeparator(), faults, widget.NewSeparator(), counters,
		container.NewHBox(w.timeline.button))
	// Scrollable for small screens, but sized to show everything.
	w.win.SetContent(container.NewVScroll(content))
	w.content = content
	w.fit()
}

// fit sizes the window to show all its content (again once the Timeline
// button shows).
func (w *NetworkWindow) fit() {
	size := w.content.MinSize()
	w.win.Resize(fyne.NewSize(max(480, size.Width), size.Height+4*theme.Padding()))
}

// heading is a section title with an explanatory caption under it.
func heading(title, caption string) fyne.CanvasObject {
	return newCompact(
		widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		newCaption(caption),
	)
}

// newPercentSlider is a 0–100 % slider with its value label, calling set
// with a probability (0–1) as it moves. Whole percents keep values exact.
func newPercentSlider(initial float64, set func(float64)) (*widget.Slider, *digitsLabel) {
	s := widget.NewSlider(0, 100)
	s.Step = 1
	value := newDigitsLabel("")
	show := func(pct float64) { value.SetText(fmt.Sprintf("%3.0f %%", pct)) }
	s.SetValue(math.Round(initial * 100))
	show(s.Value)
	s.OnChanged = func(pct float64) {
		set(pct / 100)
		show(pct)
	}
	return s, value
}

// maxSleepSlid applies a slider move and mirrors it in the entry.
func (w *NetworkWindow) maxSleepSlid(ms float64) {
	if w.syncing {
		return
	}
	d := time.Duration(math.Round(ms)) * time.Millisecond
	w.n.SetMaxSleep(d)
	w.showMaxSleep(d)
}

// maxSleepTyped applies the entry as it is typed, whenever it parses, and
// mirrors it on the slider; otherwise it says what is wrong and leaves
// the network as it was.
func (w *NetworkWindow) maxSleepTyped(text string) {
	if w.syncing {
		return
	}
	d, err := w.parseMaxSleep(text)
	if err != nil {
		w.maxSleepError.SetText(err.Error())
		return
	}
	w.maxSleepError.SetText("")
	w.n.SetMaxSleep(d)
	w.syncing = true
	w.maxSleepSlider.SetValue(float64(min(d, maxSleepSliderMax) / time.Millisecond))
	w.syncing = false
}

func (w *NetworkWindow) parseMaxSleep(text string) (time.Duration, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, errors.New("enter a duration: 500ms, 2s or milliseconds")
	}
	d, err := w.parse(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: use 500ms, 2s or milliseconds", text)
	}
	if d < 0 {
		return 0, errors.New("maxSleepTime cannot be negative")
	}
	return d, nil
}

// showMaxSleep sets both controls to d without feeding back into either.
func (w *NetworkWindow) showMaxSleep(d time.Duration) {
	w.syncing = true
	defer func() { w.syncing = false }()
	w.maxSleepSlider.SetValue(float64(min(d, maxSleepSliderMax) / time.Millisecond))
	w.maxSleepEntry.SetText(formatMaxSleep(d))
	w.maxSleepError.SetText("")
}

// start refreshes the counters every interval until Close: Stats is read
// on the loop's goroutine, the labels are set on the UI thread.
func (w *NetworkWindow) start(interval time.Duration) {
	w.stats.Every = interval
	w.goRefresh(w.stats)
}

// showStats updates the counters; at is when s was read, for the rate.
// UI thread.
func (w *NetworkWindow) showStats(s NetworkStats, at time.Time) {
	values := [numCounters]uint64{
		cntAccepted:   s.Accepted,
		cntInFlight:   s.InFlight,
		cntDelivered:  s.Delivered,
		cntFailed:     s.Failed,
		cntDropped:    s.Dropped,
		cntDuplicated: s.Duplicated,
	}
	for i, v := range values {
		w.counters[i].SetText(formatCount(v))
	}
	if !w.lastStatsAt.IsZero() && at.After(w.lastStatsAt) && s.Delivered >= w.lastDelivered {
		perSecond := float64(s.Delivered-w.lastDelivered) / at.Sub(w.lastStatsAt).Seconds()
		w.deliveryRate.SetText(formatCount(uint64(math.Round(perSecond))))
	}
	w.lastDelivered, w.lastStatsAt = s.Delivered, at
}
