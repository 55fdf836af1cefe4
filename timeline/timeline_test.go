package timeline

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run1 is a known small run (testdata/run1): three middlewares, two
// messages. Times are seconds after base.
//
//	A = Msg #1 from Middleware 1: sent 1.000 at M1, accepted 1.005;
//	    copies M3 +100 ms (1.105), M1 +300 ms (1.305), M2 +900 ms (1.905);
//	    Ready #1 at M1 1.350, M2 1.910, M3 1.150.
//	B = Msg #1 from Middleware 2: sent 1.200 at M2, accepted 1.205;
//	    copies M1 +200 ms (1.405), M2 +500 ms (1.705), M3 dropped;
//	    M3 (restarted, run r3b) recovers it at 1.900;
//	    Ready #2 at M1 1.450, M2 1.911 (held back behind A), M3 1.9001.
//	Control: M2→M1 request, M1→M2 and M1→M3 order, one heartbeat
//	(out only). Leader 1 in term 2 everywhere; M3 "cut off" at 1.6.
const (
	base = 1700000000000000
	msgA = "Msg #1 from Middleware 1"
	msgB = "Msg #1 from Middleware 2"
	run1 = "testdata/run1"
)

func at(s float64) int64 { return base + int64(math.Round(s*1e6)) }

func loadRun1(t testing.TB) *Model {
	t.Helper()
	m, err := Load(NewDirSource(run1))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadReadsEveryRecord(t *testing.T) {
	m := loadRun1(t)
	if m.N != 3 || m.Len() != 2 || !m.HasNetwork() {
		t.Fatalf("N=%d messages=%d network=%v, want 3, 2, true", m.N, m.Len(), m.HasNetwork())
	}
	a, b := m.Message(msgA), m.Message(msgB)
	if a == nil || b == nil {
		t.Fatal("messages missing")
	}
	if m.Messages()[0] != a {
		t.Error("messages are not ordered by their first event")
	}
	if a.Sender != 1 || a.Sent != at(1.0) || a.Accepted != at(1.005) {
		t.Errorf("A: sender %d sent %d accepted %d", a.Sender, a.Sent, a.Accepted)
	}
	wantA := []Copy{
		{Recv: at(1.305), NetOut: at(1.305), Delay: 300000, Ready: at(1.35), Seq: 1},
		{Recv: at(1.905), NetOut: at(1.905), Delay: 900000, Ready: at(1.91), Seq: 1},
		{Recv: at(1.105), NetOut: at(1.105), Delay: 100000, Ready: at(1.15), Seq: 1},
	}
	for i, want := range wantA {
		if a.Copies[i] != want {
			t.Errorf("A at M%d: %+v, want %+v", i+1, a.Copies[i], want)
		}
	}
	if c := b.Copies[2]; !c.Recovered || !c.Dropped || c.NetOut != 0 || c.Seq != 2 || c.Recv != at(1.9) {
		t.Errorf("B at M3: %+v, want recovered, dropped, seq 2", c)
	}
	if c := b.Copies[1]; c.Recovered || c.Delay != 500000 || c.Ready != at(1.911) {
		t.Errorf("B at M2: %+v", c)
	}

	var leaders, restarts, others int
	for _, mk := range m.Marks() {
		switch mk.Kind {
		case MarkLeader:
			leaders++
			if mk.Leader != 1 || mk.Term != 2 || mk.Label != "leader 1 · term 2" {
				t.Errorf("leader mark %+v", mk)
			}
		case MarkRestart:
			restarts++
			if mk.Lane != 3 || mk.TS != at(1.9) {
				t.Errorf("restart mark %+v, want lane 3 at 1.9", mk)
			}
		case MarkOther:
			others++
			if mk.Lane != 3 || mk.Label != "cut off" {
				t.Errorf("mark %+v", mk)
			}
		}
	}
	if leaders != 3 || restarts != 1 || others != 1 {
		t.Errorf("marks: %d leader, %d restart, %d other; want 3, 1, 1", leaders, restarts, others)
	}

	want := map[string]Control{
		"request": {From: 2, To: 1, Kind: "request", Out: at(1.2001), In: at(1.21)},
		"order2":  {From: 1, To: 2, Kind: "order", Out: at(1.22), In: at(1.23)},
		"order3":  {From: 1, To: 3, Kind: "order", Out: at(1.2201), In: at(1.235)},
	}
	got := map[string]Control{}
	for _, c := range m.Controls() {
		k := c.Kind
		if k == "order" {
			k += fmt.Sprint(c.To)
		}
		got[k] = c
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("control %s: %+v, want %+v", k, got[k], w)
		}
	}
	if hb := got["heartbeat"]; hb.In != 0 || hb.Out == 0 {
		t.Errorf("heartbeat %+v: want an out without an in", hb)
	}
}

// count counts the scene's shapes with role (and message, if not "").
func count(sc *Scene, role Role, msg string) (n int) {
	for _, l := range sc.Lines {
		if l.Role == role && (msg == "" || l.Msg == msg) {
			n++
		}
	}
	for _, r := range sc.Rects {
		if r.Role == role && (msg == "" || r.Msg == msg) {
			n++
		}
	}
	for _, x := range sc.Texts {
		if x.Role == role && (msg == "" || x.Msg == msg) {
			n++
		}
	}
	return n
}

func texts(sc *Scene, role Role) []string {
	var out []string
	for _, x := range sc.Texts {
		if x.Role == role {
			out = append(out, x.S)
		}
	}
	return out
}

func run1View() View {
	return View{From: at(0.9), To: at(2.0), W: 1100, H: 500}
}

func TestLayoutDrawsLanesArrowsAndMarks(t *testing.T) {
	m := loadRun1(t)
	var l Layouter
	sc := l.Layout(m, run1View())

	if got := texts(sc, RoleLaneLabel); strings.Join(got, ",") != "Network,Middleware 1,Middleware 2,Middleware 3" {
		t.Errorf("lane labels %q", got)
	}
	if n := count(sc, RoleLane, ""); n != 4 {
		t.Errorf("%d lanes, want 4", n)
	}
	for _, c := range []struct {
		role Role
		msg  string
		want int
	}{
		{RoleSend, msgA, 1}, {RoleSend, msgB, 1},
		{RoleToNet, msgA, 1}, {RoleAccept, msgB, 1},
		{RoleArrow, msgA, 3}, {RoleArrowHead, msgA, 6},
		{RoleArrow, msgB, 2}, // the copy to M3 was dropped
		{RoleArrival, msgA, 3}, {RoleArrival, msgB, 2},
		{RoleRecovered, msgB, 1}, {RoleRecovered, msgA, 0},
		{RoleHoldBack, msgA, 3}, {RoleHoldBack, msgB, 3},
		{RoleReady, msgA, 3}, {RoleReady, msgB, 3},
		{RoleSeq, msgA, 3}, {RoleSeq, msgB, 3},
		{RoleControl, "", 0}, // the layer is off
		{RoleDelay, "", 0},   // nothing highlighted
	} {
		if n := count(sc, c.role, c.msg); n != c.want {
			t.Errorf("role %d of %q: %d shapes, want %d", c.role, c.msg, n, c.want)
		}
	}

	// Geometry: A's copy to M2 goes from the network lane at its accept
	// time to M2's lane at its arrival, 900 ms later.
	xOf := func(ts int64) float32 {
		return sc.PlotX0 + float32(float64(ts-sc.From)/float64(sc.To-sc.From))*(sc.PlotX1-sc.PlotX0)
	}
	found := false
	for _, ln := range sc.Lines {
		if ln.Role == RoleArrow && ln.Msg == msgA && ln.Lane == 2 {
			found = true
			if !near(ln.X1, xOf(at(1.005))) || !near(ln.Y1, sc.Lanes[0]) || !near(ln.X2, xOf(at(1.905))) || !near(ln.Y2, sc.Lanes[2]) {
				t.Errorf("arrow A→M2 %+v: want (%.1f,%.1f)→(%.1f,%.1f)", ln, xOf(at(1.005)), sc.Lanes[0], xOf(at(1.905)), sc.Lanes[2])
			}
		}
	}
	if !found {
		t.Error("no arrow for A's copy to M2")
	}
	// The hold-back of B at M2 spans its arrival to its Ready.
	for _, r := range sc.Rects {
		if r.Role == RoleHoldBack && r.Msg == msgB && r.Lane == 2 {
			if !near(r.X, xOf(at(1.705))) || !near(r.X+r.W, xOf(at(1.911))) {
				t.Errorf("hold-back of B at M2 spans %.1f–%.1f, want %.1f–%.1f", r.X, r.X+r.W, xOf(at(1.705)), xOf(at(1.911)))
			}
		}
	}
	seqs := map[string]int{}
	for _, s := range texts(sc, RoleSeq) {
		seqs[s]++
	}
	if seqs["#1"] != 3 || seqs["#2"] != 3 {
		t.Errorf("seq labels %v, want #1 and #2 three times each", seqs)
	}
	marks := texts(sc, RoleMark)
	if strings.Join(marks, ",") != "cut off,restart" {
		t.Errorf("marks %q, want cut off and restart", marks)
	}
	if got := texts(sc, RoleLeader); len(got) != 0 {
		t.Errorf("leader labels %q outside the window drawn", got)
	}
	// The leader strip shades M1's lane.
	if n := count(sc, RoleLeader, ""); n != 1 {
		t.Errorf("%d leader shapes, want M1's strip", n)
	}
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 0.6 }

func TestLayoutHighlightAndControl(t *testing.T) {
	m := loadRun1(t)
	var l Layouter
	v := run1View()
	v.Highlight = msgB
	v.ShowControl = true
	sc := l.Layout(m, v)
	delays := texts(sc, RoleDelay)
	if strings.Join(delays, ",") != "+200 ms,+500 ms,recovered" {
		t.Errorf("delay labels %q", delays)
	}
	// Highlighted: B's arrows are thicker than A's, A is faded.
	for _, ln := range sc.Lines {
		if ln.Role != RoleArrow {
			continue
		}
		switch ln.Msg {
		case msgA:
			if ln.Color.A == 0xff {
				t.Errorf("A's arrow not faded: %+v", ln)
			}
		case msgB:
			if ln.Width < 2 || ln.Color.A != 0xff {
				t.Errorf("B's arrow not highlighted: %+v", ln)
			}
		}
	}
	// Three control messages with both ends; the heartbeat is left out.
	var ctl int
	for _, ln := range sc.Lines {
		if ln.Role == RoleControl {
			ctl++
		}
	}
	if ctl != 3 {
		t.Errorf("%d control lines, want 3", ctl)
	}
	if got := texts(sc, RoleControl); strings.Join(got, ",") != "order,order,request" {
		t.Errorf("control labels %q", got)
	}
}

func TestHitFindsTheMessage(t *testing.T) {
	m := loadRun1(t)
	var l Layouter
	sc := l.Layout(m, run1View())
	for _, r := range sc.Rects {
		if r.Role == RoleRecovered {
			if got := sc.Hit(r.X+r.W/2, r.Y+r.H/2, 6); got != msgB {
				t.Errorf("hit on the recovered mark: %q, want %q", got, msgB)
			}
		}
	}
	if got := sc.Hit(5, sc.H-2, 6); got != "" {
		t.Errorf("hit in the margin: %q", got)
	}
	if got := sc.TimeAt(sc.PlotX0); got != sc.From {
		t.Errorf("TimeAt(x0) = %d, want %d", got, sc.From)
	}
}

func TestLayoutCapsMessages(t *testing.T) {
	m := NewModel(5, Limits{})
	feed(m, 1000, 0, 10000) // 1000 messages over 10 s
	var l Layouter
	from, to := Extent(m)
	sc := l.Layout(m, View{From: from, To: to, W: 1200, H: 500, MaxMessages: 50})
	if sc.Shown != 50 || sc.InView != 1000 {
		t.Errorf("shown %d of %d, want 50 of 1000", sc.Shown, sc.InView)
	}
	if n := count(sc, RoleSend, ""); n != 50 {
		t.Errorf("%d sends drawn, want 50", n)
	}
	if n := count(sc, RoleNote, ""); n != 1 {
		t.Errorf("no note says that not all are shown")
	}
}

// feed adds k messages from five middlewares, one every stepUS from
// startUS (relative to base), each with copies and Ready marks.
func feed(m *Model, k int, startUS, stepUS int64) {
	for i := 0; i < k; i++ {
		sender := i%5 + 1
		text := fmt.Sprintf("Msg #%d from Middleware %d", i/5+1, sender)
		t0 := base + startUS + int64(i)*stepUS
		msg := m.message(nil, text, t0)
		msg.Sent = t0
		msg.Accepted = t0 + 100
		for j := range msg.Copies {
			d := int64((i*7919+j*104729)%2000) * 1000
			msg.Copies[j] = Copy{Recv: t0 + 100 + d, NetOut: t0 + 100 + d, Delay: d, Ready: t0 + 2100 + 2000000, Seq: uint64(i + 1)}
			m.seen(t0 + 2100 + 2000000)
			msg.last = max(msg.last, t0+2100+2000000)
		}
	}
	m.Trim()
}

var white = color.NRGBA{0xff, 0xff, 0xff, 0xff}

func TestTrimBoundsMemory(t *testing.T) {
	m := NewModel(5, LiveLimits)
	// 500 messages a second for five minutes.
	for s := 0; s < 300; s++ {
		feed(m, 500, int64(s)*1e6, 2000)
		if m.Len() > LiveLimits.Messages {
			t.Fatalf("after %d s: %d messages kept, limit %d", s, m.Len(), LiveLimits.Messages)
		}
	}
	if len(m.msgs) != m.Len() {
		t.Errorf("index holds %d, order %d", len(m.msgs), m.Len())
	}
}

func TestTrimBySpan(t *testing.T) {
	m := NewModel(5, Limits{Span: 10e6})
	feed(m, 100, 0, 1e6) // one a second for 100 s
	// Kept: messages whose last event is within 10 s of the newest.
	if m.Len() > 13 || m.Len() < 9 {
		t.Errorf("%d messages kept over a 10 s span of one a second", m.Len())
	}
}

// copyRun copies testdata/run1 into dir, each file cut at frac of its
// lines; rest returns the remaining text per file.
func copyRun(t *testing.T, dir string, frac float64) (rest map[string]string) {
	t.Helper()
	rest = map[string]string{}
	files, _ := filepath.Glob(filepath.Join(run1, "*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(data), "\n")
		cut := int(float64(len(lines)) * frac)
		head := strings.Join(lines[:cut], "")
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(head), 0o644); err != nil {
			t.Fatal(err)
		}
		rest[filepath.Base(f)] = strings.Join(lines[cut:], "")
	}
	return rest
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestTailingGivesWhatLoadGives(t *testing.T) {
	dir := t.TempDir()
	rest := copyRun(t, dir, 0.5)
	src := NewDirSource(dir)
	m := NewModel(1, Limits{})
	if _, err := src.Poll(m); err != nil {
		t.Fatal(err)
	}
	half := m.Len()
	// Append the rest in two steps, the first ending mid-line: the half
	// line must wait for its end.
	for name, text := range rest {
		cut := len(text) / 2
		appendTo(t, filepath.Join(dir, name), text[:cut])
	}
	if _, err := src.Poll(m); err != nil {
		t.Fatal(err)
	}
	for name, text := range rest {
		appendTo(t, filepath.Join(dir, name), text[len(text)/2:])
	}
	read, err := src.Poll(m)
	if err != nil || !read {
		t.Fatalf("poll after appends: read %v, %v", read, err)
	}
	if again, _ := src.Poll(m); again {
		t.Error("a poll with nothing new read something")
	}
	m.sortByFirst()
	want := loadRun1(t)
	if m.Len() != want.Len() || half > m.Len() {
		t.Fatalf("tailed %d messages (%d at half), loaded %d", m.Len(), half, want.Len())
	}
	for _, w := range want.Messages() {
		g := m.Message(w.Text)
		if g == nil || fmt.Sprint(g.Copies) != fmt.Sprint(w.Copies) || g.Sent != w.Sent || g.Accepted != w.Accepted {
			t.Errorf("%s: tailed %+v, loaded %+v", w.Text, g, w)
		}
	}
	if len(m.Controls()) != len(want.Controls()) || len(m.Marks()) != len(want.Marks()) {
		t.Errorf("tailed %d controls %d marks, loaded %d and %d", len(m.Controls()), len(m.Marks()), len(want.Controls()), len(want.Marks()))
	}

	// A log started again (a new lab run) is read from its start.
	p := filepath.Join(dir, "middleware-1.jsonl")
	line := `{"event":"sent","msg":"Msg #9 from Middleware 1","ts_us":1700000009000000,"mw":1,"run":"new"}` + "\n"
	if err := os.WriteFile(p, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	src.Poll(m)
	if m.Message("Msg #9 from Middleware 1") == nil {
		t.Error("a truncated log was not read again from its start")
	}
}

func TestTailStartsNearTheEnd(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&b, `{"event":"sent","msg":"Msg #%d from Middleware 1","ts_us":%d,"mw":1,"run":"r"}`+"\n", i, base+int64(i))
	}
	os.WriteFile(filepath.Join(dir, "middleware-1.jsonl"), []byte(b.String()), 0o644)
	src := NewDirSource(dir)
	src.Tail = 4096
	m := NewModel(1, Limits{})
	src.Poll(m)
	if m.Len() == 0 || m.Len() > 60 {
		t.Errorf("read %d messages from the last 4 KiB", m.Len())
	}
	if m.Message("Msg #2000 from Middleware 1") == nil {
		t.Error("the last message is missing")
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	m := loadRun1(t)
	var l Layouter
	v := run1View()
	v.Legend = true
	sc := l.Layout(m, v)
	var buf bytes.Buffer
	if err := WriteSVG(&buf, sc, white); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	elems := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	if elems["line"] != len(sc.Lines) || elems["text"] != len(sc.Texts) || elems["rect"]+elems["circle"] != len(sc.Rects)+1 {
		t.Errorf("SVG elements %v for %d lines, %d texts, %d rects", elems, len(sc.Lines), len(sc.Texts), len(sc.Rects))
	}
}

// A middleware that did not run (see the middleware's checkPause) has its
// lane shaded from "paused" to "resumed", labelled with how long; the two
// marks are not drawn as lines of their own.
func TestLayoutShadesPauses(t *testing.T) {
	dir := t.TempDir()
	ev := func(mw int, event, extra string, s float64) string {
		return fmt.Sprintf(`{"level":"info","event":%q,%s"ts_us":%d,"mw":%d,"run":"r%d"}`+"\n", event, extra, at(s), mw, mw)
	}
	msg := `"msg":"Msg #1 from Middleware 1",`
	logs := map[string]string{
		"middleware-1.jsonl": ev(1, "sent", msg, 1) + ev(1, "received", msg, 1.2) + ev(1, "ready", msg+`"seq":1,`, 1.3),
		"middleware-2.jsonl": ev(2, "received", msg, 1.1) + ev(2, "mark", `"label":"paused",`, 2) +
			ev(2, "mark", `"label":"resumed",`, 5) + ev(2, "ready", msg+`"seq":1,`, 5.01),
	}
	for name, text := range logs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(NewDirSource(dir))
	if err != nil {
		t.Fatal(err)
	}
	var l Layouter
	sc := l.Layout(m, View{From: at(0), To: at(6), W: 1000, H: 400})
	xOf := func(s float64) float32 {
		return sc.PlotX0 + (sc.PlotX1-sc.PlotX0)*float32(float64(at(s)-sc.From)/float64(sc.To-sc.From))
	}
	var bands []Rect
	for _, r := range sc.Rects {
		if r.Role == RoleMark {
			bands = append(bands, r)
		}
	}
	if len(bands) != 1 {
		t.Fatalf("%d pause bands, want 1", len(bands))
	}
	if b := bands[0]; b.Lane != 2 || !near(b.X, xOf(2)) || !near(b.X+b.W, xOf(5)) || b.Y > sc.Lanes[2] || b.Y+b.H < sc.Lanes[2] {
		t.Errorf("band %+v, want lane 2 from x %.0f to %.0f across y %.0f", b, xOf(2), xOf(5), sc.Lanes[2])
	}
	if got := texts(sc, RoleMark); len(got) != 1 || got[0] != "paused 3.00 s" {
		t.Errorf("mark labels %q, want only \"paused 3.00 s\"", got)
	}
	if n := count(sc, RoleMark, ""); n != 2 { // the band and its label
		t.Errorf("%d mark shapes, want the band and its label", n)
	}
}
