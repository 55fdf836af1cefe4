package timeline

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font/sfnt"

	"totalorder/internal/evlog"
)

// divergedRun writes a run of -protocol none in dir: three middlewares,
// two messages, Middleware 3 delivered them the other way round, and its
// live agreement check recorded, at 2.0 s, that it differs from
// Middleware 1 at #1 (its log has that line twice: read twice, marked
// once). Middleware 2's log gets its own line later (see the test).
func divergedRun(t *testing.T, dir string) {
	t.Helper()
	ev := func(mw int, event, msg string, s float64, extra string) string {
		return fmt.Sprintf(`{"level":"info","event":%q,"msg":%q,"ts_us":%d%s,"mw":%d,"run":"r%d"}`+"\n", event, msg, at(s), extra, mw, mw)
	}
	a, b := "Msg #1 from Middleware 1", "Msg #1 from Middleware 2: Bid 130 on Lamp from Middleware 3"
	diverged := ev(3, "diverged", b[:len("Msg #1 from Middleware 2")], 2.0, `,"seq":1,"peer":1,"there":"`+a+`"`)
	logs := map[string]string{
		"middleware-1.jsonl": ev(1, "sent", a, 1.0, "") + ev(1, "ready", a, 1.1, `,"seq":1`) + ev(1, "ready", b, 1.3, `,"seq":2`),
		"middleware-2.jsonl": ev(2, "sent", b, 1.05, "") + ev(2, "ready", a, 1.2, `,"seq":1`) + ev(2, "ready", b, 1.25, `,"seq":2`),
		"middleware-3.jsonl": ev(3, "ready", b, 1.15, `,"seq":1`) + ev(3, "ready", a, 1.4, `,"seq":2`) + diverged + diverged,
	}
	for name, text := range logs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func divergedMarks(m *Model) []Mark {
	var out []Mark
	for _, mk := range m.Marks() {
		if mk.Kind == MarkDiverged {
			out = append(out, mk)
		}
	}
	return out
}

// The model reads the "diverged" lines a middleware writes (its live
// agreement check found where its Ready list first differs from a
// peer's): one mark per middleware, peer and run, labelled "≠peer at
// #seq", from a past run or as the logs grow.
func TestModelMarksRecordedDivergence(t *testing.T) {
	dir := t.TempDir()
	divergedRun(t, dir)
	src := NewDirSource(dir)
	m := NewModel(3, LiveLimits)
	if _, err := src.Poll(m); err != nil {
		t.Fatal(err)
	}
	got := divergedMarks(m)
	want := Mark{Lane: 3, TS: at(2.0), Kind: MarkDiverged, Label: "≠1 at #1", Peer: 1, Seq: 1,
		Here: "Msg #1 from Middleware 2", There: "Msg #1 from Middleware 1"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("diverged marks %+v, want %+v", got, want)
	}
	if msg := m.Message("Msg #1 from Middleware 2: Bid 130 on Lamp from Middleware 3"); msg == nil || msg.Sender != 2 {
		t.Errorf("a message with a body: %+v, want sender 2", msg)
	}
	// Middleware 2 records its own later, while the view is live.
	appendTo(t, filepath.Join(dir, "middleware-2.jsonl"),
		fmt.Sprintf(`{"level":"info","event":"diverged","msg":"Msg #1 from Middleware 1","ts_us":%d,"seq":1,"peer":3,"there":"Msg #1 from Middleware 2","mw":2,"run":"r2"}`+"\n", at(2.2)))
	if _, err := src.Poll(m); err != nil {
		t.Fatal(err)
	}
	got = divergedMarks(m)
	if len(got) != 2 || got[1].Lane != 2 || got[1].Peer != 3 || got[1].Label != "≠3 at #1" {
		t.Fatalf("diverged marks %+v, want Middleware 2's too", got)
	}
	loaded, err := Load(NewDirSource(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(divergedMarks(loaded)) != 2 {
		t.Errorf("a past run has %+v", divergedMarks(loaded))
	}
}

// The mark is drawn on the middleware's lane at the time it was
// recorded, red and labelled, and painted so: red pixels at the lane
// there, where a run without the line has none.
func TestPaintDivergedMark(t *testing.T) {
	dir := t.TempDir()
	divergedRun(t, dir)
	m, err := Load(NewDirSource(dir))
	if err != nil {
		t.Fatal(err)
	}
	v := View{From: at(0.9), To: at(2.5), W: 900, H: 400}
	var l Layouter
	sc := l.Layout(m, v)
	if got := texts(sc, RoleDiverged); len(got) != 1 || got[0] != "≠1 at #1" {
		t.Fatalf("diverged labels %q, want one \"≠1 at #1\"", got)
	}
	xOf := func(ts int64) float32 {
		return sc.PlotX0 + float32(float64(ts-sc.From)/float64(sc.To-sc.From))*(sc.PlotX1-sc.PlotX0)
	}
	x, y := xOf(at(2.0)), sc.Lanes[3]
	var box *Rect
	for i := range sc.Rects {
		if r := &sc.Rects[i]; r.Role == RoleDiverged {
			box = r
		}
	}
	if box == nil || box.Lane != 3 || !near(box.X+box.W/2, x) || !near(box.Y+box.H/2, y) {
		t.Fatalf("mark %+v, want one centred on lane 3 at x %.1f, y %.1f", box, x, y)
	}
	p := NewPainter(nil, nil)
	bg := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	img := p.Paint(sc, 1, bg)
	isRed := func(c color.NRGBA) bool { return c.R > 0xa0 && c.G < 0x40 && c.B < 0x40 }
	if c := pixel(img, int(x), int(y)); !isRed(c) {
		t.Errorf("the mark's centre is %v, not red", c)
	}
	label := sc.Texts[len(sc.Texts)-1]
	for _, tx := range sc.Texts {
		if tx.Role == RoleDiverged {
			label = tx
		}
	}
	redInk := func() int {
		n := 0
		for py := int(label.Y); py < int(label.Y+label.Size+4); py++ {
			for px := int(label.X); px < int(label.X)+60; px++ {
				if isRed(pixel(img, px, py)) {
					n++
				}
			}
		}
		return n
	}
	if n := redInk(); n < 30 {
		t.Errorf("the label left %d red pixels", n)
	}
	// Without the "diverged" lines: nothing red there.
	for _, name := range []string{"middleware-3.jsonl"} {
		path := filepath.Join(dir, name)
		data, _ := os.ReadFile(path)
		var kept []string
		for _, line := range strings.SplitAfter(string(data), "\n") {
			if !strings.Contains(line, `"diverged"`) {
				kept = append(kept, line)
			}
		}
		os.WriteFile(path, []byte(strings.Join(kept, "")), 0o644)
	}
	m, err = Load(NewDirSource(dir))
	if err != nil {
		t.Fatal(err)
	}
	img = p.Paint(l.Layout(m, v), 1, bg)
	if c := pixel(img, int(x), int(y)); isRed(c) {
		t.Errorf("red at the mark's place without a divergence: %v", c)
	}
	if n := redInk(); n != 0 {
		t.Errorf("%d red pixels where the label was, without a divergence", n)
	}
}

// The fonts the painter falls back to draw "≠" (not a missing-glyph box).
func TestFontsHaveNotEqual(t *testing.T) {
	p := NewPainter(nil, nil)
	var buf sfnt.Buffer
	for _, f := range []*sfnt.Font{p.regular, p.bold} {
		if i, err := f.GlyphIndex(&buf, '≠'); err != nil || i == 0 {
			t.Errorf("no glyph for ≠: %d, %v", i, err)
		}
	}
}

// Divergences a middleware finds with several peers at about the same
// time are labelled one under the other, not on top of each other.
func TestDivergedLabelsDoNotOverlap(t *testing.T) {
	m := NewModel(3, Limits{})
	for _, r := range []evlog.Record{
		{Event: evlog.Diverged, Peer: 1, Seq: 4, Msg: []byte("a"), There: "b", TS: at(1.0)},
		{Event: evlog.Diverged, Peer: 2, Seq: 4, Msg: []byte("a"), There: "c", TS: at(1.001)},
		{Event: evlog.Diverged, Peer: 1, Seq: 4, Msg: []byte("a"), There: "b", TS: at(1.002)}, // the same again: marked once
	} {
		r.MW, r.Run = 3, "r"
		m.Add(0, &r)
	}
	var l Layouter
	sc := l.Layout(m, View{From: at(0.5), To: at(1.5), W: 900, H: 400})
	var got []Text
	for _, tx := range sc.Texts {
		if tx.Role == RoleDiverged {
			got = append(got, tx)
		}
	}
	if len(got) != 2 || got[0].S != "≠1 at #4" || got[1].S != "≠2 at #4" {
		t.Fatalf("labels %+v", got)
	}
	if got[1].Y < got[0].Y+got[0].Size {
		t.Errorf("the second label (y %.1f) overlaps the first (y %.1f, %.1f high)", got[1].Y, got[0].Y, got[0].Size)
	}
}
