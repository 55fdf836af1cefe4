package gui

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"totalorder/assets"
	"totalorder/timeline"
)

// TimelineOptions configure a Timeline window.
type TimelineOptions struct {
	// Live tails the logs and follows the present; otherwise the window
	// shows what the source held when it was opened.
	Live bool
	// SelectionFile, if set, is where a clicked message is written for
	// the middleware windows to select it too (see FollowSelection).
	SelectionFile string
	// Now is the clock of a live view (tests set it); default time.Now.
	Now func() time.Time
	// Stats, if set, gets a line a second: redraws and the time they took
	// (for measurements).
	Stats io.Writer
}

// frameInterval paces a live timeline: 25 redraws a second.
const frameInterval = 40 * time.Millisecond

// Zoom bounds, µs.
const (
	minSpan = 10e3
	maxSpan = 3600e6
)

// TimelineWindow is the window "Timeline": a space-time diagram of the
// lab, live or of a past run. All its state belongs to the UI thread; a
// live window's own goroutine only asks for frames.
type TimelineWindow struct {
	win   fyne.Window
	d     *diagram
	src   *timeline.Source
	model *timeline.Model
	lay   timeline.Layouter
	opt   TimelineOptions

	pauseButton  *widget.Button
	liveButton   *widget.Button
	controlCheck *widget.Check
	info         *widget.Label
	rate         *widget.Label

	// UI thread only.
	follow      bool  // live and following the present
	paused      bool  // live, not reading the logs
	span        int64 // µs shown
	to          int64 // right edge when not following
	hover       string
	selected    string
	showControl bool
	size        fyne.Size
	scene       *timeline.Scene
	drawn       drawKey
	frames      int           // scenes drawn, for tests and measurements
	rateFrames  int           // frames since rateSince
	rateBusy    time.Duration // time spent in them
	rateSince   time.Time

	frameQueued atomic.Bool
	stop        chan struct{}
	loopDone    sync.WaitGroup
	closeOnce   sync.Once
	onClosed    func()
}

// drawKey is what a scene depends on: no change, no redraw.
type drawKey struct {
	gen              uint64
	from, to         int64
	size             fyne.Size
	highlight        string
	control, dark    bool
	selected, paused bool
}

// NewTimelineWindow opens the window over src. A live window tails src
// from now on; otherwise src is read once. It does not show the window.
func NewTimelineWindow(a fyne.App, src *timeline.Source, opt TimelineOptions) *TimelineWindow {
	w := newTimelineWindow(a, src, opt)
	if opt.Live {
		w.start(frameInterval)
	}
	return w
}

// newTimelineWindow builds the window and reads what src holds, without
// starting the frame loop: tests call frame themselves.
func newTimelineWindow(a fyne.App, src *timeline.Source, opt TimelineOptions) *TimelineWindow {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	w := &TimelineWindow{
		win:  a.NewWindow("Timeline"),
		d:    newDiagram(),
		src:  src,
		opt:  opt,
		stop: make(chan struct{}),
		span: timeline.DefaultSpan,
	}
	if opt.Live {
		w.model = timeline.NewModel(5, timeline.LiveLimits)
		src.Tail = 8 << 20    // the recent past is enough
		src.MaxRead = 1 << 20 // per file per frame: a burst spreads over frames
		src.Poll(w.model)
		w.follow = true
	} else {
		m, err := timeline.Load(src)
		if err != nil {
			m = timeline.NewModel(5, timeline.Limits{})
		}
		w.model = m
		from, to := timeline.LastWindow(m)
		w.to, w.span = to, max(to-from, minSpan)
	}
	w.build()
	w.win.SetIcon(assets.Icon)
	w.win.Resize(fyne.NewSize(1100, 560))
	w.win.SetOnClosed(func() {
		w.Close()
		if w.onClosed != nil {
			w.onClosed()
		}
	})
	return w
}

// Window is the Fyne window.
func (w *TimelineWindow) Window() fyne.Window { return w.win }

// SetOnClosed sets fn to run after the window closed and stopped its
// goroutine.
func (w *TimelineWindow) SetOnClosed(fn func()) { w.onClosed = fn }

// Close stops the frame loop and waits for it. It does not close the
// Fyne window; it runs by itself when the window closes.
func (w *TimelineWindow) Close() {
	w.closeOnce.Do(func() {
		close(w.stop)
		w.loopDone.Wait()
	})
}

// Model is the data shown (UI thread).
func (w *TimelineWindow) Model() *timeline.Model { return w.model }

// Scene is the last scene drawn (UI thread).
func (w *TimelineWindow) Scene() *timeline.Scene { return w.scene }

func (w *TimelineWindow) build() {
	w.pauseButton = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), w.togglePause)
	w.liveButton = widget.NewButtonWithIcon("Live", theme.MediaFastForwardIcon(), w.goLive)
	if !w.opt.Live {
		w.pauseButton.Hide()
		w.liveButton.SetText("Whole run")
		w.liveButton.SetIcon(theme.ViewFullScreenIcon())
	}
	zoomIn := widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { w.zoom(-1, 2) })
	zoomOut := widget.NewButtonWithIcon("", theme.ZoomOutIcon(), func() { w.zoom(-1, -2) })
	w.controlCheck = widget.NewCheck("Control traffic", func(on bool) {
		w.showControl = on
		w.redraw()
	})
	help := newInfoLabel("hover or click a message · wheel: zoom · drag: pan")
	w.rate = newInfoLabel("")
	toolbar := container.NewBorder(nil, nil,
		container.NewHBox(w.pauseButton, w.liveButton, zoomIn, zoomOut, w.controlCheck), w.rate, help)
	w.info = newInfoLabel(legend)
	w.d.onResize = func(s fyne.Size) {
		w.size = s
		w.redraw()
	}
	w.d.onHover = w.hovered
	w.d.onTap = w.tapped
	w.d.onZoom = func(x, steps float32) { w.zoom(x, steps) }
	w.d.onPan = w.panned
	w.win.SetContent(container.NewBorder(toolbar,
		container.NewThemeOverride(w.info, compactTheme{}), nil, nil, w.d))
}

const legend = "● send   → copy (its length is the network delay)   ▬ held back until Ready   | Ready #seq   □ recovered (content from the log, not the network)"

// start asks for a frame every interval until Close; a frame still
// waiting for the UI thread is not asked for twice.
func (w *TimelineWindow) start(interval time.Duration) {
	w.loopDone.Add(1)
	go func() {
		defer w.loopDone.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				if w.frameQueued.CompareAndSwap(false, true) {
					fyne.Do(func() {
						w.frameQueued.Store(false)
						w.frame()
					})
				}
			}
		}
	}()
}

// frame reads what the logs gained and redraws. UI thread.
func (w *TimelineWindow) frame() {
	start := time.Now()
	if w.opt.Live && !w.paused {
		w.src.Poll(w.model)
	}
	drawn := w.frames
	w.redraw()
	if w.frames > drawn {
		w.rateFrames++
		w.rateBusy += time.Since(start)
	}
	if el := start.Sub(w.rateSince); el >= time.Second {
		if !w.rateSince.IsZero() {
			perSec := float64(w.rateFrames) / el.Seconds()
			w.rate.SetText(fmt.Sprintf("%.0f redraws/s", perSec))
			if w.opt.Stats != nil {
				avg := time.Duration(0)
				if w.rateFrames > 0 {
					avg = w.rateBusy / time.Duration(w.rateFrames)
				}
				shown := 0
				if w.scene != nil {
					shown = w.scene.Shown
				}
				fmt.Fprintf(w.opt.Stats, "timeline: %.1f redraws/s, %v each (read+layout+objects), %d messages held, %d drawn\n",
					perSec, avg.Round(10*time.Microsecond), w.model.Len(), shown)
			}
		}
		w.rateSince, w.rateFrames, w.rateBusy = start, 0, 0
	}
}

// window is the time window to show now.
func (w *TimelineWindow) window() (from, to int64) {
	if w.opt.Live && w.follow && !w.paused {
		return timeline.LiveWindow(w.model, w.opt.Now().UnixMicro(), w.span)
	}
	return w.to - w.span, w.to
}

// redraw lays the scene out again if anything it depends on changed.
func (w *TimelineWindow) redraw() {
	if w.size.Width <= 0 || w.size.Height <= 0 {
		return
	}
	from, to := w.window()
	hl := w.selected
	if hl == "" {
		hl = w.hover
	}
	dark := isDark()
	key := drawKey{gen: w.model.Gen(), from: from, to: to, size: w.size, highlight: hl, control: w.showControl,
		dark: dark, selected: w.selected != "", paused: w.paused}
	if key == w.drawn && w.scene != nil {
		return
	}
	w.drawn = key
	w.d.bg = theme.Color(theme.ColorNameBackground)
	w.scene = w.lay.Layout(w.model, timeline.View{From: from, To: to, W: w.size.Width, H: w.size.Height,
		Highlight: hl, ShowControl: w.showControl, Dark: dark})
	w.frames++
	w.d.show(w.scene)
	w.describe(hl)
}

// isDark tells from the theme's background whether the diagram needs
// light lines and text.
func isDark() bool {
	r, g, b, _ := theme.Color(theme.ColorNameBackground).RGBA()
	return 299*r+587*g+114*b < 500*0xffff
}

// describe says where the highlighted message went.
func (w *TimelineWindow) describe(text string) {
	msg := w.model.Message(text)
	if msg == nil {
		switch {
		case w.paused:
			w.setInfo("Paused: press Resume or Live to follow the lab again.")
		default:
			w.setInfo(legend)
		}
		return
	}
	var b strings.Builder
	b.WriteString(msg.Text)
	if w.selected == text {
		b.WriteString(" (selected)")
	}
	b.WriteString(":")
	for i, cp := range msg.Copies {
		fmt.Fprintf(&b, "  M%d ", i+1)
		switch {
		case cp.Recv == 0 && cp.Dropped:
			b.WriteString("dropped")
		case cp.Recv == 0:
			b.WriteString("–")
		case cp.Recovered:
			b.WriteString("recovered")
		case cp.Delay >= 0:
			b.WriteString("+" + fmtMicros(cp.Delay))
		case msg.Accepted > 0:
			b.WriteString("+" + fmtMicros(cp.Recv-msg.Accepted))
		default:
			b.WriteString("arrived")
		}
		if cp.Ready > 0 {
			fmt.Fprintf(&b, " → #%d", cp.Seq)
			if cp.Recv > 0 && cp.Ready > cp.Recv {
				fmt.Fprintf(&b, " (held %s)", fmtMicros(cp.Ready-cp.Recv))
			}
		}
	}
	w.setInfo(b.String())
}

// setInfo changes the status line only when its text does: laying a
// label out costs more than a whole frame of the diagram.
func (w *TimelineWindow) setInfo(s string) {
	if w.info.Text != s {
		w.info.SetText(s)
	}
}

func fmtMicros(us int64) string {
	return (time.Duration(us) * time.Microsecond).Round(time.Millisecond).String()
}

func (w *TimelineWindow) togglePause() {
	if w.paused {
		w.goLive()
		return
	}
	from, to := w.window()
	w.paused, w.follow = true, false
	w.to, w.span = to, to-from
	w.pauseButton.SetText("Resume")
	w.pauseButton.SetIcon(theme.MediaPlayIcon())
	w.redraw()
}

// goLive follows the present again (a past run: shows it all).
func (w *TimelineWindow) goLive() {
	if !w.opt.Live {
		from, to := timeline.Extent(w.model)
		w.to, w.span = to, max(to-from, minSpan)
		w.redraw()
		return
	}
	w.paused, w.follow = false, true
	w.span = timeline.DefaultSpan
	w.pauseButton.SetText("Pause")
	w.pauseButton.SetIcon(theme.MediaPauseIcon())
	w.redraw()
}

// zoom by steps (positive: in) around x (negative x: the centre, or the
// present when following).
func (w *TimelineWindow) zoom(x float32, steps float32) {
	from, to := w.window()
	factor := 1.0
	for s := float32(0); s < abs32(steps); s++ {
		factor *= 1.25
	}
	if steps > 0 {
		factor = 1 / factor
	}
	span := min(max(int64(float64(to-from)*factor), minSpan), maxSpan)
	if w.follow {
		w.span = span
		w.redraw()
		return
	}
	anchor := from + (to-from)/2
	if x >= 0 && w.scene != nil {
		anchor = w.scene.TimeAt(x)
	}
	newFrom := anchor - int64(float64(anchor-from)*float64(span)/float64(to-from))
	w.to, w.span = newFrom+span, span
	w.redraw()
}

func abs32(f float32) float32 {
	if f < 0 {
		return -f
	}
	return f
}

// panned moves the window by dx pixels; a live view stops following.
func (w *TimelineWindow) panned(dx float32) {
	if w.scene == nil || w.scene.PlotX1 <= w.scene.PlotX0 {
		return
	}
	from, to := w.window()
	if w.follow {
		w.follow = false
		w.paused = w.opt.Live
		if w.paused {
			w.pauseButton.SetText("Resume")
			w.pauseButton.SetIcon(theme.MediaPlayIcon())
		}
	}
	dt := int64(float64(-dx) * float64(to-from) / float64(w.scene.PlotX1-w.scene.PlotX0))
	w.to, w.span = to+dt, to-from
	w.redraw()
}

func (w *TimelineWindow) hovered(x, y float32) {
	hit := ""
	if x >= 0 && w.scene != nil {
		hit = w.scene.Hit(x, y, 6)
	}
	if hit != w.hover {
		w.hover = hit
		w.redraw()
	}
}

func (w *TimelineWindow) tapped(x, y float32) {
	hit := ""
	if w.scene != nil {
		hit = w.scene.Hit(x, y, 6)
	}
	w.Select(hit)
}

// Select highlights msg ("" clears) and tells the middleware windows.
// UI thread.
func (w *TimelineWindow) Select(msg string) {
	w.selected = msg
	if w.opt.SelectionFile != "" {
		if err := WriteSelection(w.opt.SelectionFile, msg); err != nil {
			fyne.LogError("timeline: could not write the selection", err)
		}
	}
	w.redraw()
}

// Selection is the message selected in the timeline, as a file: the
// middleware windows (separate processes) watch it.
type Selection struct {
	Msg  string `json:"msg"`
	TSUS int64  `json:"ts_us"`
}

// WriteSelection replaces the selection file atomically (a reader never
// sees half of it).
func WriteSelection(path, msg string) error {
	data, err := json.Marshal(Selection{Msg: msg, TSUS: time.Now().UnixMicro()})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".selection-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
