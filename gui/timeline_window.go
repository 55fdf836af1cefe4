package gui

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

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
// lab, live or of a past run.
//
// Threads: the window's own goroutine owns the source, the model, the
// layout and the painting: it reads what the logs gained, lays the scene
// out, paints it and hands the image to the UI thread, which only shows it
// (and keeps the scene for hit-testing). What the user asks for (zoom, pan, pause,
// hover) is written under mu by the UI thread and read by the goroutine.
// Two layouters (and the painter's two images) take turns, so the scene
// the UI thread holds is never the one being laid out: a new layout starts
// only after the previous scene was applied.
type TimelineWindow struct {
	windowLife
	d   *diagram
	opt TimelineOptions

	pauseButton  *widget.Button
	liveButton   *widget.Button
	controlCheck *widget.Check
	info         *widget.Label
	rate         *widget.Label

	mu sync.Mutex
	vs viewState // guarded by mu

	// The goroutine's (or, without it, the caller of frame's).
	src        *timeline.Source
	model      *timeline.Model
	lay        [2]timeline.Layouter
	painter    *timeline.Painter
	next       int // the layouter to use next
	drawn      drawKey
	frames     int // scenes laid out
	rateFrames int
	rateBusy   time.Duration
	rateSince  time.Time

	// UI thread only.
	scene *timeline.Scene // the scene shown

	redraw  *refresher            // a frame every frameInterval, and when woken
	wake    chan struct{}         // capacity 1: the user changed something
	applied func(*timeline.Scene) // tests: called with every scene shown
}

// viewState is what the user chose.
type viewState struct {
	follow      bool  // live and following the present
	paused      bool  // live, not reading the logs
	span        int64 // µs shown
	to          int64 // right edge when not following
	fit         bool  // show the whole run (past run), then clear
	hover       string
	selected    string
	showControl bool
	size        fyne.Size
	scale       float32 // the canvas's pixels per unit
}

// drawKey is what a scene depends on: no change, no new scene.
type drawKey struct {
	gen              uint64
	from, to         int64
	size             fyne.Size
	scale            float32
	highlight        string
	control, dark    bool
	selected, paused bool
}

// frameResult is a scene ready for the UI thread.
type frameResult struct {
	scene *timeline.Scene
	img   image.Image // the scene, painted
	info  string
	rate  string // "" unchanged
}

// NewTimelineWindow opens the window over src and starts its goroutine.
// A live window tails src from now on; otherwise src is read once. It
// does not show the window.
func NewTimelineWindow(a fyne.App, src *timeline.Source, opt TimelineOptions) *TimelineWindow {
	w := newTimelineWindow(a, src, opt)
	w.start(frameInterval)
	return w
}

// newTimelineWindow builds the window and reads what src holds, without
// starting the goroutine: tests call frame themselves.
func newTimelineWindow(a fyne.App, src *timeline.Source, opt TimelineOptions) *TimelineWindow {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	w := &TimelineWindow{
		d:       newDiagram(),
		painter: newTimelinePainter(),
		src:     src,
		opt:     opt,
		wake:    make(chan struct{}, 1),
	}
	w.initLife(a.NewWindow("Timeline"), nil, nil)
	w.redraw = w.refresher(refreshPlan{Every: frameInterval, Wake: w.wake, Prepare: func(time.Time) func() {
		res := w.prepare()
		if res == nil {
			return nil
		}
		return func() { w.apply(res) }
	}})
	w.vs.span = timeline.DefaultSpan
	if opt.Live {
		w.model = timeline.NewModel(5, timeline.LiveLimits)
		src.Tail = 8 << 20    // the recent past is enough
		src.MaxRead = 1 << 20 // per file per frame: a burst spreads over frames
		src.Poll(w.model)
		w.vs.follow = true
	} else {
		m, err := timeline.Load(src)
		if err != nil {
			m = timeline.NewModel(5, timeline.Limits{})
		}
		w.model = m
		from, to := timeline.LastWindow(m)
		w.vs.to, w.vs.span = to, max(to-from, minSpan)
	}
	w.build()
	w.win.Resize(fyne.NewSize(1100, 560))
	return w
}

// Model is the data shown. Only while the goroutine does not run (tests).
func (w *TimelineWindow) Model() *timeline.Model { return w.model }

// Scene is the scene shown (UI thread).
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
		w.change(func(vs *viewState) { vs.showControl = on })
	})
	help := newInfoLabel("hover or click a message · wheel: zoom · drag: pan")
	w.rate = widget.NewLabel("") // not truncated: it is short
	w.rate.SizeName = theme.SizeNameCaptionText
	toolbar := container.NewBorder(nil, nil,
		container.NewHBox(w.pauseButton, w.liveButton, zoomIn, zoomOut, w.controlCheck), w.rate, help)
	w.info = newInfoLabel(legend)
	w.d.onResize = func(size fyne.Size, scale float32) {
		w.change(func(vs *viewState) { vs.size, vs.scale = size, scale })
	}
	w.d.onHover = w.hovered
	w.d.onTap = w.tapped
	w.d.onZoom = func(x, steps float32) { w.zoom(x, steps) }
	w.d.onPan = w.panned
	w.win.SetContent(container.NewBorder(toolbar,
		newCompact(w.info), nil, nil, w.d))
}

const legend = "● send   → copy (its length is the network delay)   ▬ held back until Ready   | Ready #seq   □ recovered (content from the log or a peer, not the network)"

// change applies a user's choice and asks for a frame at once.
func (w *TimelineWindow) change(fn func(*viewState)) {
	w.mu.Lock()
	fn(&w.vs)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// view is a copy of the user's choices.
func (w *TimelineWindow) view() viewState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.vs
}

// start runs the goroutine: a frame every interval (live) or when the
// user changes something, never more than one waiting for the UI thread.
func (w *TimelineWindow) start(interval time.Duration) {
	w.redraw.Every = interval
	w.goRefresh(w.redraw)
}

// frame is one frame done on the caller's goroutine (tests, which the
// test driver treats as the UI thread).
func (w *TimelineWindow) frame() {
	if res := w.prepare(); res != nil {
		w.apply(res)
	}
}

// window is the time window to show.
func (w *TimelineWindow) window(vs viewState) (from, to int64) {
	if w.opt.Live && vs.follow && !vs.paused {
		return timeline.LiveWindow(w.model, w.opt.Now().UnixMicro(), vs.span)
	}
	return vs.to - vs.span, vs.to
}

// prepare reads what the logs gained and lays a new scene out if anything
// it shows changed; nil if not. The goroutine's.
func (w *TimelineWindow) prepare() *frameResult {
	start := time.Now()
	vs := w.view()
	if w.opt.Live && !vs.paused {
		w.src.Poll(w.model)
	}
	if vs.fit {
		from, to := timeline.Extent(w.model)
		w.mu.Lock()
		w.vs.to, w.vs.span, w.vs.fit = to, max(to-from, minSpan), false
		vs = w.vs
		w.mu.Unlock()
	}
	if vs.size.Width <= 0 || vs.size.Height <= 0 {
		return nil
	}
	from, to := w.window(vs)
	hl := vs.selected
	if hl == "" {
		hl = vs.hover
	}
	dark := isDark()
	key := drawKey{gen: w.model.Gen(), from: from, to: to, size: vs.size, scale: vs.scale, highlight: hl, control: vs.showControl,
		dark: dark, selected: vs.selected != "", paused: vs.paused}
	if key == w.drawn && w.frames > 0 {
		return nil
	}
	w.drawn = key
	lay := &w.lay[w.next]
	w.next = 1 - w.next
	sc := lay.Layout(w.model, timeline.View{From: from, To: to, W: vs.size.Width, H: vs.size.Height,
		Highlight: hl, ShowControl: vs.showControl, Dark: dark})
	bg := color.NRGBAModel.Convert(theme.Color(theme.ColorNameBackground)).(color.NRGBA)
	res := &frameResult{
		scene: sc,
		img:   w.painter.Paint(sc, vs.scale, bg),
		info:  w.describe(hl, vs),
	}
	w.frames++
	w.rateFrames++
	w.rateBusy += time.Since(start)
	if el := start.Sub(w.rateSince); el >= time.Second {
		if !w.rateSince.IsZero() {
			perSec := float64(w.rateFrames) / el.Seconds()
			res.rate = fmt.Sprintf("%.0f redraws/s", perSec)
			if w.opt.Stats != nil {
				avg := w.rateBusy / time.Duration(max(w.rateFrames, 1))
				fmt.Fprintf(w.opt.Stats, "timeline: %.1f redraws/s, %v each to read, lay out and paint, %d messages held, %d drawn\n",
					perSec, avg.Round(10*time.Microsecond), w.model.Len(), res.scene.Shown)
			}
		}
		w.rateSince, w.rateFrames, w.rateBusy = start, 0, 0
	}
	return res
}

// apply shows a prepared scene. UI thread.
func (w *TimelineWindow) apply(res *frameResult) {
	w.scene = res.scene
	w.d.show(res.scene, res.img)
	if w.info.Text != res.info {
		w.info.SetText(res.info) // laying a label out costs more than the diagram
	}
	if res.rate != "" && w.rate.Text != res.rate {
		w.rate.SetText(res.rate)
	}
	if w.applied != nil {
		w.applied(res.scene)
	}
}

// isDark tells from the theme's background whether the diagram needs
// light lines and text.
func isDark() bool {
	r, g, b, _ := theme.Color(theme.ColorNameBackground).RGBA()
	return 299*r+587*g+114*b < 500*0xffff
}

// describe says where the highlighted message went.
func (w *TimelineWindow) describe(text string, vs viewState) string {
	msg := w.model.Message(text)
	if msg == nil {
		if vs.paused {
			return "Paused: press Resume or Live to follow the lab again."
		}
		return legend
	}
	var b strings.Builder
	b.WriteString(msg.Text)
	if vs.selected == text {
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
	return b.String()
}

func fmtMicros(us int64) string {
	return (time.Duration(us) * time.Microsecond).Round(time.Millisecond).String()
}

// shown is the time window of the scene on screen (UI thread).
func (w *TimelineWindow) shown() (from, to int64, ok bool) {
	if w.scene == nil {
		return 0, 0, false
	}
	return w.scene.From, w.scene.To, true
}

func (w *TimelineWindow) setPauseButton(paused bool) {
	if paused {
		w.pauseButton.SetText("Resume")
		w.pauseButton.SetIcon(theme.MediaPlayIcon())
	} else {
		w.pauseButton.SetText("Pause")
		w.pauseButton.SetIcon(theme.MediaPauseIcon())
	}
}

func (w *TimelineWindow) togglePause() {
	if w.view().paused {
		w.goLive()
		return
	}
	from, to, ok := w.shown()
	w.change(func(vs *viewState) {
		vs.paused, vs.follow = true, false
		if ok {
			vs.to, vs.span = to, to-from
		}
	})
	w.setPauseButton(true)
}

// goLive follows the present again (a past run: shows it all).
func (w *TimelineWindow) goLive() {
	if !w.opt.Live {
		w.change(func(vs *viewState) { vs.fit = true })
		return
	}
	w.change(func(vs *viewState) {
		vs.paused, vs.follow = false, true
		vs.span = timeline.DefaultSpan
	})
	w.setPauseButton(false)
}

// zoom by steps (positive: in) around x (negative x: the centre, or the
// present when following).
func (w *TimelineWindow) zoom(x float32, steps float32) {
	from, to, ok := w.shown()
	if !ok {
		return
	}
	factor := math.Pow(1.25, math.Abs(float64(steps)))
	if steps > 0 {
		factor = 1 / factor
	}
	span := min(max(int64(float64(to-from)*factor), minSpan), maxSpan)
	anchor := from + (to-from)/2
	if x >= 0 {
		anchor = w.scene.TimeAt(x)
	}
	newFrom := anchor - int64(float64(anchor-from)*float64(span)/float64(to-from))
	w.change(func(vs *viewState) {
		if vs.follow && !vs.paused {
			vs.span = span
			return
		}
		vs.to, vs.span = newFrom+span, span
	})
}

// panned moves the window by dx pixels; a live view stops following.
func (w *TimelineWindow) panned(dx float32) {
	from, to, ok := w.shown()
	if !ok || w.scene.PlotX1 <= w.scene.PlotX0 {
		return
	}
	dt := int64(float64(-dx) * float64(to-from) / float64(w.scene.PlotX1-w.scene.PlotX0))
	paused := false
	w.change(func(vs *viewState) {
		if vs.follow {
			vs.follow = false
			vs.paused = w.opt.Live
		} else {
			from, to = vs.to-vs.span, vs.to // successive drags add up
		}
		vs.to, vs.span = to+dt, to-from
		paused = vs.paused
	})
	if paused {
		w.setPauseButton(true)
	}
}

func (w *TimelineWindow) hovered(x, y float32) {
	hit := ""
	if x >= 0 && w.scene != nil {
		hit = w.scene.Hit(x, y, 6)
	}
	if hit != w.view().hover {
		w.change(func(vs *viewState) { vs.hover = hit })
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
	w.change(func(vs *viewState) { vs.selected = msg })
	if w.opt.SelectionFile != "" {
		if err := WriteSelection(w.opt.SelectionFile, msg); err != nil {
			fyne.LogError("timeline: could not write the selection", err)
		}
	}
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
