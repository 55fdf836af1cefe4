package gui

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"totalorder/timeline"
)

// The known small run of package timeline (see its tests): three
// middlewares; A from M1 reaches M3, M1, M2 after 100, 300, 900 ms; B from
// M2 reaches M1 and M2, its copy to M3 is dropped and M3 (restarted)
// recovers it from the log. Ready #1 is A, #2 is B everywhere.
const (
	run1Dir = "../timeline/testdata/run1"
	msgA    = "Msg #1 from Middleware 1"
	msgB    = "Msg #1 from Middleware 2"
)

func newTestTimeline(t *testing.T, src *timeline.Source, opt TimelineOptions) *TimelineWindow {
	t.Helper()
	a := test.NewTempApp(t)
	w := newTimelineWindow(a, src, opt)
	t.Cleanup(w.Close)
	w.Window().Resize(fyne.NewSize(1100, 560))
	w.frame()
	if w.Scene() == nil {
		t.Fatal("nothing drawn after the first frame")
	}
	return w
}

// textCount is how many labels s the scene writes.
func textCount(sc *timeline.Scene, s string) int {
	n := 0
	for _, t := range sc.Texts {
		if t.S == s {
			n++
		}
	}
	return n
}

// coveredReady reports whether a line drawn after r (another Ready
// mark, a restart mark) covers it.
func coveredReady(sc *timeline.Scene, r timeline.Line) bool {
	after := false
	for _, l := range sc.Lines {
		if l == r {
			after = true
			continue
		}
		if after && l.X1 == l.X2 && math.Abs(float64(l.X1-r.X1)) < 4 && l.Y1 <= r.Y2 && l.Y2 >= r.Y1 {
			return true
		}
	}
	return false
}

// shot is the window as the test driver renders it, and where the
// diagram's corner is in it.
type shot struct {
	img   image.Image
	off   fyne.Position
	scale float64
}

func capture(w *TimelineWindow) shot {
	img := w.Window().Canvas().Capture()
	off := w.d.Position() // in the window's content, which fills it
	if w.Window().Padded() {
		off = off.AddXY(theme.Padding(), theme.Padding())
	}
	return shot{img: img, off: off, scale: float64(img.Bounds().Dx()) / float64(w.Window().Canvas().Size().Width)}
}

// near reports whether colour c (roughly) is within r pixels of the
// diagram's point (x, y).
func (s shot) near(x, y float32, r int, c color.NRGBA) bool {
	p := image.Pt(int(float64(s.off.X+x)*s.scale), int(float64(s.off.Y+y)*s.scale))
	for dx := -r; dx <= r; dx++ {
		for dy := -r; dy <= r; dy++ {
			cr, cg, cb, _ := s.img.At(p.X+dx, p.Y+dy).RGBA()
			if absDiff(cr>>8, uint32(c.R)) < 40 && absDiff(cg>>8, uint32(c.G)) < 40 && absDiff(cb>>8, uint32(c.B)) < 40 {
				return true
			}
		}
	}
	return false
}

// inked reports whether the box holds pixels darker than the background
// (a label was written there).
func (s shot) inked(x, y, w, h float32) bool {
	for py := int(float64(s.off.Y+y) * s.scale); py < int(float64(s.off.Y+y+h)*s.scale); py++ {
		for px := int(float64(s.off.X+x) * s.scale); px < int(float64(s.off.X+x+w)*s.scale); px++ {
			if r, g, b, _ := s.img.At(px, py).RGBA(); (r+g+b)>>8 < 3*0x90 {
				return true
			}
		}
	}
	return false
}

func TestTimelineDrawsAKnownRun(t *testing.T) {
	w := newTestTimeline(t, timeline.NewDirSource(run1Dir), TimelineOptions{})
	sc := w.Scene()
	if img := w.d.img.Image; img == nil || img.Bounds().Dx() != int(math.Ceil(float64(sc.W))) || img.Bounds().Dy() != int(math.Ceil(float64(sc.H))) {
		t.Fatalf("the diagram shows no image of the scene's size %vx%v", sc.W, sc.H)
	}
	got := capture(w)

	// Lanes: named, and drawn as lines.
	lanes := []string{"Network", "Middleware 1", "Middleware 2", "Middleware 3"}
	for i, lane := range lanes {
		if textCount(sc, lane) != 1 {
			t.Errorf("lane %q named %d times", lane, textCount(sc, lane))
		}
		if !got.inked(0, sc.Lanes[i]-10, sc.PlotX0, 20) {
			t.Errorf("no name painted left of lane %q", lane)
		}
	}
	for _, l := range sc.Lines {
		if l.Role == timeline.RoleLane && !got.near(l.X2-4, l.Y1, 1, l.Color) {
			t.Errorf("lane %d not painted at its right end", l.Lane)
		}
	}
	if textCount(sc, "#1") != 3 || textCount(sc, "#2") != 3 {
		t.Errorf("Ready marks: #1 labelled %d times, #2 %d times; want 3 each", textCount(sc, "#1"), textCount(sc, "#2"))
	}
	if textCount(sc, "restart") != 1 || textCount(sc, "cut off") != 1 {
		t.Errorf("marks restart/cut off labelled %d/%d times", textCount(sc, "restart"), textCount(sc, "cut off"))
	}
	for _, tx := range sc.Texts {
		if tx.Role == timeline.RoleSeq && !got.inked(tx.X, tx.Y, 14, tx.Size) {
			t.Errorf("label %q on lane %d not painted", tx.S, tx.Lane)
		}
	}
	// Arrows: A's three copies, B's two (its copy to M3 was dropped), each
	// painted in its sender's colour (somewhere along it: others cross
	// it); each Ready mark too, unless another covers it.
	arrows := map[string]int{}
	for _, l := range sc.Lines {
		switch l.Role {
		case timeline.RoleArrow:
			arrows[l.Msg]++
			painted := false
			for _, f := range []float32{0.25, 0.5, 0.75} {
				painted = painted || got.near(l.X1+(l.X2-l.X1)*f, l.Y1+(l.Y2-l.Y1)*f, 1, l.Color)
			}
			if !painted {
				t.Errorf("%s's arrow to M%d not painted", l.Msg, l.Lane)
			}
		case timeline.RoleReady:
			if !coveredReady(sc, l) && !got.near(l.X1, l.Y1+2, 1, l.Color) {
				t.Errorf("%s's Ready mark at M%d not painted", l.Msg, l.Lane)
			}
		}
	}
	if arrows[msgA] != 3 || arrows[msgB] != 2 {
		t.Errorf("arrows %v, want 3 for A and 2 for B", arrows)
	}
	// A recovered copy is drawn differently: an outlined square, not a dot.
	var recovered *timeline.Rect
	for i, r := range sc.Rects {
		if r.Role == timeline.RoleRecovered {
			recovered = &sc.Rects[i]
		}
	}
	switch {
	case recovered == nil:
		t.Error("no recovered mark for B's copy at M3")
	case math.Abs(float64(recovered.Y+recovered.H/2-sc.Lanes[3])) > 1:
		t.Errorf("recovered mark at y %.0f, M3's lane at %.0f", recovered.Y+recovered.H/2, sc.Lanes[3])
	case recovered.Round || recovered.StrokeW == 0:
		t.Errorf("recovered mark %+v is not an outlined square", *recovered)
	case !got.near(recovered.X+0.5, recovered.Y+recovered.H/2, 2, recovered.Stroke) ||
		!got.near(recovered.X+recovered.W*0.3, recovered.Y+recovered.H*0.3, 0, recovered.Fill):
		t.Error("the recovered mark is not painted as an outlined square")
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// markOf finds where the scene draws role for msg on lane.
func markOf(t *testing.T, sc *timeline.Scene, role timeline.Role, msg string, lane int) fyne.Position {
	t.Helper()
	for _, r := range sc.Rects {
		if r.Role == role && r.Msg == msg && r.Lane == lane {
			return fyne.NewPos(r.X+r.W/2, r.Y+r.H/2)
		}
	}
	t.Fatalf("no shape %d of %q on lane %d", role, msg, lane)
	return fyne.Position{}
}

func TestTimelineHoverAndClickSelect(t *testing.T) {
	dir := t.TempDir()
	sel := filepath.Join(dir, timeline.SelectionFile)
	w := newTestTimeline(t, timeline.NewDirSource(run1Dir), TimelineOptions{SelectionFile: sel})
	pos := markOf(t, w.Scene(), timeline.RoleRecovered, msgB, 3)

	w.d.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: pos}})
	if got := w.view().hover; got != msgB {
		t.Fatalf("hover over B's recovered copy highlights %q", got)
	}
	w.frame()
	if info := w.info.Text; !strings.Contains(info, msgB) || !strings.Contains(info, "M3 recovered → #2") || !strings.Contains(info, "M2 +500ms → #2 (held 206ms)") {
		t.Errorf("info %q does not describe B", info)
	}
	delays := 0
	for _, tx := range w.Scene().Texts {
		if tx.Role == timeline.RoleDelay && tx.Msg == msgB {
			delays++
		}
	}
	if delays != 3 {
		t.Errorf("%d delay labels for the hovered message, want 3", delays)
	}
	w.d.MouseOut()
	if got := w.view().hover; got != "" {
		t.Errorf("hover %q after the pointer left", got)
	}

	test.TapAt(w.d, pos)
	if got := w.view().selected; got != msgB {
		t.Fatalf("click selected %q", got)
	}
	data, err := os.ReadFile(sel)
	if err != nil {
		t.Fatal(err)
	}
	var s Selection
	if err := json.Unmarshal(data, &s); err != nil || s.Msg != msgB {
		t.Errorf("selection file %s: %+v %v", data, s, err)
	}
	// A click on nothing clears it.
	test.TapAt(w.d, fyne.NewPos(3, 3))
	if got := w.view().selected; got != "" {
		t.Errorf("click in the margin left %q selected", got)
	}
}

func TestTimelineZoomAndPan(t *testing.T) {
	w := newTestTimeline(t, timeline.NewDirSource(run1Dir), TimelineOptions{})
	shown := func() (int64, int64) {
		w.frame()
		from, to, _ := w.shown()
		return from, to
	}
	from0, to0 := shown()
	w.zoom(-1, 2) // zoom in, around the centre
	from1, to1 := shown()
	if span0, span1 := to0-from0, to1-from1; span1 >= span0 || span1 < span0/2 {
		t.Errorf("zoom in: span %d → %d", span0, span1)
	}
	if c0, c1 := (from0+to0)/2, (from1+to1)/2; math.Abs(float64(c0-c1)) > float64(to1-from1)/100 {
		t.Errorf("zoom moved the centre from %d to %d", c0, c1)
	}
	sc := w.Scene()
	w.panned(-(sc.PlotX1 - sc.PlotX0) / 2) // drag left: later times come in
	from2, to2 := shown()
	if shift := from2 - from1; math.Abs(float64(shift-(to1-from1)/2)) > float64(to1-from1)/100 || to2-from2 != to1-from1 {
		t.Errorf("pan by half the width moved the window by %d of %d", shift, to1-from1)
	}
}

// copyRun copies the first lines of each log of run1 into dir and returns
// the rest of each.
func copyRun(t *testing.T, dir string, keep int) map[string]string {
	t.Helper()
	rest := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(run1Dir, "*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		k := min(keep, len(lines))
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(strings.Join(lines[:k], "")), 0o644)
		rest[filepath.Base(f)] = strings.Join(lines[k:], "")
	}
	return rest
}

func appendRest(t *testing.T, dir string, rest map[string]string) {
	t.Helper()
	for name, text := range rest {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
}

func TestLiveTimelineFollowsTheLogs(t *testing.T) {
	dir := t.TempDir()
	rest := copyRun(t, dir, 2)
	now := time.UnixMicro(1700000002000000) // just after the run
	w := newTestTimeline(t, timeline.NewDirSource(dir), TimelineOptions{Live: true, Now: func() time.Time { return now }})
	if got := w.Model().Len(); got == 0 || got == 2 && w.Model().Message(msgB).Copies[2].Recv != 0 {
		t.Fatalf("after the first lines: %d messages", got)
	}
	sc := w.Scene()
	if sc.To != now.UnixMicro() {
		t.Errorf("live window ends at %d, want now %d", sc.To, now.UnixMicro())
	}

	// Paused: appends are not read, the picture stays.
	w.togglePause()
	if !w.view().paused {
		t.Fatal("not paused")
	}
	appendRest(t, dir, rest)
	w.frame()
	if w.Model().Message(msgB).Copies[2].Recv != 0 {
		t.Error("a paused timeline read the logs")
	}
	// Resumed: everything arrives.
	w.togglePause()
	w.frame()
	b := w.Model().Message(msgB)
	if b == nil || !b.Copies[2].Recovered || b.Copies[1].Ready == 0 {
		t.Fatalf("after resuming, B is %+v", b)
	}
	if n := textCount(w.Scene(), "#2"); n != 3 {
		t.Errorf("#2 drawn %d times after the logs grew, want 3", n)
	}
	// Time passes: the live window scrolls with it.
	now = now.Add(10 * time.Second)
	w.frame()
	if w.Scene().To != now.UnixMicro() {
		t.Error("the live window did not scroll")
	}
}

// The goroutine reads and lays out while the UI thread shows: run it
// with the race detector.
func TestTimelineGoroutine(t *testing.T) {
	dir := t.TempDir()
	rest := copyRun(t, dir, 2)
	a := test.NewTempApp(t)
	// What each scene shows, counted when it is shown (the scene itself
	// is reused two frames later).
	type shown struct{ ready, control int }
	applied := make(chan shown, 1)
	w := newTimelineWindow(a, timeline.NewDirSource(dir), TimelineOptions{Live: true,
		Now: func() time.Time { return time.UnixMicro(1700000002000000) }}) // just after the run
	w.applied = func(sc *timeline.Scene) {
		var s shown
		for _, l := range sc.Lines {
			switch l.Role {
			case timeline.RoleReady:
				s.ready++
			case timeline.RoleControl:
				s.control++
			}
		}
		select {
		case applied <- s:
		default:
		}
	}
	w.Window().Resize(fyne.NewSize(900, 400))
	w.start(time.Millisecond)
	defer w.Close()
	wait := func(what string, ok func(shown) bool) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-applied:
				if ok(s) {
					return
				}
			case <-deadline:
				t.Fatalf("no scene %s", what)
			}
		}
	}
	wait("at all", func(shown) bool { return true })
	appendRest(t, dir, rest)
	wait("with both messages ready everywhere", func(s shown) bool { return s.ready == 6 })
	// (The test driver runs fyne.Do on the calling goroutine, so this
	// test touches no widget while the loop runs.)
	w.change(func(vs *viewState) { vs.showControl, vs.hover = true, msgA })
	wait("with the control layer", func(s shown) bool { return s.control > 0 })
}

func TestMiddlewareWindowFollowsTheTimelineSelection(t *testing.T) {
	dir := t.TempDir()
	sel := filepath.Join(dir, timeline.SelectionFile)
	mw, _ := newTestMiddlewareWindow(t, 2)
	for _, ev := range []struct {
		col int
		msg string
		seq uint64
	}{{colSent, msgB, 0}, {colReceived, msgB, 0}, {colReceived, msgA, 0}, {colReady, msgA, 1}, {colReady, msgB, 2}} {
		mw.cols[ev.col].model.add(listEntry{msg: ev.msg, seq: ev.seq})
	}
	// An old selection (from before the window) is ignored.
	if err := WriteSelection(sel, msgA); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(sel)
	if _, _, ok := readSelection(sel, old.ModTime()); ok {
		t.Error("an unchanged selection file counts as a new selection")
	}
	// A new one is read and selected in every list that has it.
	future := old.ModTime().Add(time.Second)
	if err := WriteSelection(sel, msgB); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(sel, future, future)
	msg, at, ok := readSelection(sel, old.ModTime())
	if !ok || msg != msgB || !at.Equal(future) {
		t.Fatalf("read %q %v %v", msg, at, ok)
	}
	mw.selectMessage(msg)
	if mw.selected != msgB || mw.selectedRows != [numCols]int{0, 0, 1} {
		t.Errorf("selected %q at rows %v, want B at 0, 0, 1", mw.selected, mw.selectedRows)
	}
	if !strings.Contains(mw.selectionInfo.Text, "ready #2") {
		t.Errorf("selection info %q", mw.selectionInfo.Text)
	}
	mw.selectMessage("Msg #9 from Middleware 9")
	if !strings.Contains(mw.selectionInfo.Text, "in none of this window's lists") {
		t.Errorf("unknown message: info %q", mw.selectionInfo.Text)
	}
}

func TestNetworkWindowOpensTheTimeline(t *testing.T) {
	w, _ := newTestNetworkWindow(t)
	if w.timeline.button.Visible() {
		t.Error("the Timeline button shows before EnableTimeline")
	}
	w.EnableTimeline(fyne.CurrentApp(), run1Dir, TimelineOptions{})
	// Without its goroutine: the test driver would run its frames on
	// that goroutine, beside this test's taps.
	w.timeline.newWindow = newTimelineWindow
	if !w.timeline.button.Visible() {
		t.Fatal("no Timeline button")
	}
	// The window grew to show it without scrolling.
	if need, got := w.content.MinSize().Height, w.win.Canvas().Size().Height; got < need {
		t.Errorf("the window is %.0f high, its content with the Timeline button needs %.0f", got, need)
	}
	test.Tap(w.timeline.button)
	tw := w.timeline.open.Load()
	if tw == nil || tw.Window().Title() != "Timeline" {
		t.Fatal("the button opened no Timeline window")
	}
	test.Tap(w.timeline.button) // a second tap: the same window
	if w.timeline.open.Load() != tw {
		t.Error("a second tap opened another window")
	}
	// The app's loop ends (Ctrl-C): the open timeline stops too, and
	// shows nothing more.
	w.AppStopped()
	select {
	case <-tw.stopLoop:
	default:
		t.Error("the end of the app did not stop the open timeline's loop")
	}
	if !tw.uiGone.Load() {
		t.Error("the open timeline would still show scenes after the app's end")
	}
	tw.Window().Close()
	if w.timeline.open.Load() != nil {
		t.Error("closing the timeline did not forget it")
	}
	select {
	case <-tw.stopLoop:
	default:
		t.Error("closing the timeline did not stop its loop")
	}
}

// BenchmarkTimelineFrame is one live frame's work: lay the scene out
// and paint it (the window's goroutine), then show the image (the UI
// thread; uploading it as a texture is the driver's), with the live
// view's 200 messages.
func BenchmarkTimelineFrame(b *testing.B) {
	a := test.NewApp()
	defer a.Quit()
	dir := b.TempDir()
	writeBusyRun(b, dir, 3000)
	w := newTimelineWindow(a, timeline.NewDirSource(dir), TimelineOptions{})
	defer w.Close()
	w.Window().Resize(fyne.NewSize(1400, 560))
	latest := w.Model().Latest()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i++
		w.vs.to, w.vs.span = latest-i%1000, 30e6 // a new window every frame, as when live
		w.frame()
	}
	if w.Scene().Shown != timeline.DefaultMaxMessages {
		b.Fatalf("drew %d messages", w.Scene().Shown)
	}
}

// writeBusyRun writes logs of k messages from five middlewares, 500 a
// second, copies delayed up to 2 s.
func writeBusyRun(b *testing.B, dir string, k int) {
	var logs [6]strings.Builder
	const base = 1700000000000000
	line := func(i int, s string) { logs[i].WriteString(s + "\n") }
	for i := 0; i < k; i++ {
		sender := i%5 + 1
		t0 := int64(base + i*2000)
		msg := `"msg":"Msg #` + itoa(i/5+1) + ` from Middleware ` + itoa(sender) + `"`
		ts := func(d int64) string { return `"ts_us":` + itoa64(t0+d) }
		line(sender, `{"event":"sent",`+msg+`,`+ts(0)+`,"mw":`+itoa(sender)+`,"run":"r"}`)
		line(0, `{"event":"accepted","id":1,`+msg+`,`+ts(100)+`}`)
		for j := 1; j <= 5; j++ {
			d := int64((i*7919+j*104729)%2000) * 1000
			line(0, `{"event":"copy","id":1,`+msg+`,"to":`+itoa(j)+`,"delay_us":`+itoa64(d)+`,`+ts(100+d)+`}`)
			line(j, `{"event":"received",`+msg+`,`+ts(100+d)+`,"mw":`+itoa(j)+`,"run":"r"}`)
			line(j, `{"event":"ready",`+msg+`,"seq":`+itoa(i+1)+`,`+ts(2100000)+`,"mw":`+itoa(j)+`,"run":"r"}`)
		}
	}
	names := []string{timeline.NetsimLog, "middleware-1.jsonl", "middleware-2.jsonl", "middleware-3.jsonl", "middleware-4.jsonl", "middleware-5.jsonl"}
	for i, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(logs[i].String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string     { return strconv.Itoa(i) }
func itoa64(i int64) string { return strconv.FormatInt(i, 10) }
