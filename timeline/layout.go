package timeline

import (
	"image/color"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// What a shape stands for, so that tests and hit-testing can tell.
type Role uint8

const (
	RoleLane      Role = iota + 1 // a lane's axis line
	RoleLaneLabel                 // a lane's name
	RoleAxis                      // time axis ticks and labels
	RoleSend                      // the send, on the sender's lane
	RoleToNet                     // sender → network program
	RoleAccept                    // the network program took the message
	RoleArrow                     // network program → a middleware: one copy
	RoleArrowHead                 // its head
	RoleArrival                   // the copy's arrival
	RoleRecovered                 // arrival of content not from the network
	RoleHoldBack                  // arrival → Ready
	RoleReady                     // the Ready mark
	RoleSeq                       // the Ready mark's seq label
	RoleDelay                     // a highlighted copy's delay label
	RoleControl                   // a control message
	RoleLeader                    // leader strip or label
	RoleMark                      // restart, cut-off, pause… mark
	RoleNote                      // information text (e.g. how many shown)
	RoleDiverged                  // where a middleware found its Ready list differs from a peer's
)

// Line is a straight segment.
type Line struct {
	X1, Y1, X2, Y2 float32
	Color          color.NRGBA
	Width          float32
	Role           Role
	Msg            string // the message it belongs to, if any
	Lane           int
}

// Rect is a filled (and optionally outlined) rectangle; a dot is a rect
// with Round set.
type Rect struct {
	X, Y, W, H float32
	Fill       color.NRGBA
	Stroke     color.NRGBA
	StrokeW    float32
	Round      bool // a circle (dot) inscribed in the rectangle
	Role       Role
	Msg        string
	Lane       int
}

// Text is a label; (X, Y) is its top-left corner.
type Text struct {
	X, Y  float32
	S     string
	Size  float32
	Color color.NRGBA
	Bold  bool
	Role  Role
	Msg   string
	Lane  int
}

// Scene is a drawn diagram: rectangles below lines below texts.
type Scene struct {
	W, H  float32
	Rects []Rect
	Lines []Line
	Texts []Text
	// From and To are the time window shown (µs); Shown is how many
	// messages are drawn, InView how many have an event in the window.
	From, To      int64
	Shown, InView int
	Lanes         []float32 // y of each lane: [0] network, [i] Middleware i
	PlotX0        float32   // x of From
	PlotX1        float32   // x of To
}

// View says what to draw.
type View struct {
	From, To    int64 // µs
	W, H        float32
	Highlight   string // a message whose copies stand out; "" none
	ShowControl bool
	MaxMessages int // 0: DefaultMaxMessages
	MaxControls int // 0: DefaultMaxControls
	// Dark selects colours for a dark background.
	Dark bool
	// Legend adds a key at the bottom (for exported images; the window
	// says it in its status line).
	Legend bool
}

// Defaults of a view.
const (
	DefaultMaxMessages = 200
	DefaultMaxControls = 400
	DefaultSpan        = 30e6 // µs
)

// Geometry.
const (
	labelW    = 96 // lane labels, left
	rightPad  = 24
	axisH     = 22 // time axis, top
	bottomPad = 14
	textSize  = 11
	smallText = 9.5
)

// Palette: one colour per sender (Okabe–Ito, readable by colour-blind
// people), grey for the network program and control traffic.
var senderColors = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // green
	{0xCC, 0x79, 0xA7, 0xff}, // purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky
	{0x99, 0x88, 0x22, 0xff}, // olive
	{0x88, 0x88, 0x88, 0xff},
}

// SenderColor is the colour of messages from middleware id.
func SenderColor(id int) color.NRGBA {
	if id < 1 {
		return color.NRGBA{0x80, 0x80, 0x80, 0xff}
	}
	return senderColors[(id-1)%len(senderColors)]
}

var (
	recoveredColor = color.NRGBA{0xC0, 0x10, 0x10, 0xff}
	leaderColor    = color.NRGBA{0xF0, 0xC0, 0x20, 0x50}
	markColor      = color.NRGBA{0xC0, 0x10, 0x10, 0xff}
)

type palette struct {
	fg, faint, lane, control color.NRGBA
}

func paletteFor(dark bool) palette {
	if dark {
		return palette{fg: color.NRGBA{0xEE, 0xEE, 0xEE, 0xff}, faint: color.NRGBA{0xAA, 0xAA, 0xAA, 0xff},
			lane: color.NRGBA{0x70, 0x70, 0x70, 0xff}, control: color.NRGBA{0xB0, 0xB0, 0xB0, 0xa0}}
	}
	return palette{fg: color.NRGBA{0x20, 0x20, 0x20, 0xff}, faint: color.NRGBA{0x60, 0x60, 0x60, 0xff},
		lane: color.NRGBA{0xB0, 0xB0, 0xB0, 0xff}, control: color.NRGBA{0x70, 0x70, 0x70, 0x90}}
}

func fade(c color.NRGBA, a uint8) color.NRGBA {
	c.A = uint8(uint16(c.A) * uint16(a) / 255)
	return c
}

// scratch is reused between layouts of one Layouter, so that a redraw at
// 25 frames a second allocates little.
type scratch struct {
	pick []*Message
}

// Layouter lays scenes out, reusing its buffers from one call to the
// next. The zero value is ready; it is not safe for concurrent use, and
// a Scene it returned is valid until its next call.
type Layouter struct {
	sc    Scene
	tmp   scratch
	texts map[int64]string // seq labels, cached
	// labels are the seq labels of one layout, placed at its end.
	labels []Text
	// divLabels are the labels of divergence marks, placed as they come.
	divLabels []Text
}

// Layout draws m as v says. It does not change m.
func (l *Layouter) Layout(m *Model, v View) *Scene {
	sc := &l.sc
	sc.Rects, sc.Lines, sc.Texts = sc.Rects[:0], sc.Lines[:0], sc.Texts[:0]
	sc.W, sc.H, sc.From, sc.To = v.W, v.H, v.From, v.To
	sc.Shown, sc.InView = 0, 0
	if v.To <= v.From {
		v.To = v.From + 1
		sc.To = v.To
	}
	if v.MaxMessages <= 0 {
		v.MaxMessages = DefaultMaxMessages
	}
	if v.MaxControls <= 0 {
		v.MaxControls = DefaultMaxControls
	}
	pal := paletteFor(v.Dark)
	n := m.N
	x0, x1 := float32(labelW), max(v.W-rightPad, labelW+10)
	sc.PlotX0, sc.PlotX1 = x0, x1
	bottom := float32(bottomPad)
	if v.Legend {
		bottom += 18
	}
	y0, y1 := float32(axisH+16), max(v.H-bottom, axisH+40)
	gap := (y1 - y0) / float32(n)
	sc.Lanes = slices.Grow(sc.Lanes[:0], n+1)[:n+1]
	sc.Lanes[0] = y0
	for i := 1; i <= n; i++ {
		sc.Lanes[i] = y0 + gap*float32(i)
	}
	scale := float64(x1-x0) / float64(v.To-v.From)
	xOf := func(ts int64) float32 { return x0 + float32(float64(ts-v.From)*scale) }
	laneY := func(lane int) float32 {
		if lane < 0 || lane > n {
			return sc.Lanes[0]
		}
		return sc.Lanes[lane]
	}

	// Lanes and their names.
	for lane := 0; lane <= n; lane++ {
		y := laneY(lane)
		name := "Network"
		if lane > 0 {
			name = "Middleware " + strconv.Itoa(lane)
		}
		sc.Lines = append(sc.Lines, Line{X1: x0, Y1: y, X2: x1, Y2: y, Color: pal.lane, Width: 1, Role: RoleLane, Lane: lane})
		c := pal.fg
		if lane > 0 {
			c = SenderColor(lane)
		}
		sc.Texts = append(sc.Texts, Text{X: 6, Y: y - 8, S: name, Size: textSize, Color: c, Bold: true, Role: RoleLaneLabel, Lane: lane})
	}
	l.axis(m, v, pal, xOf, x0, x1)
	l.leaders(m, v, xOf, laneY, gap)
	l.pauses(m, v, xOf, laneY, gap)

	// Messages: those with an event in the window; the most recently
	// active when there are too many.
	pick := l.tmp.pick[:0]
	for _, msg := range m.order {
		if msg.last >= v.From && msg.first <= v.To {
			pick = append(pick, msg)
		}
	}
	sc.InView = len(pick)
	if len(pick) > v.MaxMessages {
		slices.SortFunc(pick, func(a, b *Message) int {
			switch {
			case a.last > b.last:
				return -1
			case a.last < b.last:
				return 1
			}
			return 0
		})
		pick = pick[:v.MaxMessages]
	}
	var hi *Message
	for _, msg := range pick {
		if msg.Text == v.Highlight {
			hi = msg
			continue // drawn last, on top
		}
		l.message(msg, m, v, pal, false, v.Highlight != "", xOf, laneY, x0, x1)
	}
	if hi == nil && v.Highlight != "" {
		if msg := m.msgs[v.Highlight]; msg != nil && msg.last >= v.From && msg.first <= v.To {
			hi = msg
		}
	}
	if hi != nil {
		l.message(hi, m, v, pal, true, false, xOf, laneY, x0, x1)
	}
	sc.Shown = len(pick)
	l.tmp.pick = pick[:0]
	l.placeSeqLabels()

	if v.ShowControl {
		l.controls(m, v, pal, xOf, laneY, x0, x1)
	}
	l.marks(m, v, xOf, laneY, x0, x1, gap)
	if v.Legend {
		l.legend(v, pal)
	}
	if sc.InView > sc.Shown {
		sc.Texts = append(sc.Texts, Text{X: x0, Y: v.H - bottomPad, S: "showing the " + strconv.Itoa(sc.Shown) +
			" most recently active of " + strconv.Itoa(sc.InView) + " messages in view: zoom in to see them all",
			Size: smallText, Color: pal.faint, Role: RoleNote})
	}
	return sc
}

// axis draws time ticks, in seconds since the run's first event.
func (l *Layouter) axis(m *Model, v View, pal palette, xOf func(int64) float32, x0, x1 float32) {
	sc := &l.sc
	span := float64(v.To - v.From)
	// About one tick per 90 px, at 1, 2 or 5 × 10^k µs.
	want := span / math.Max(1, float64(x1-x0)/90)
	step := math.Pow(10, math.Floor(math.Log10(want)))
	for _, k := range []float64{1, 2, 5, 10} {
		if step*k >= want {
			step *= k
			break
		}
	}
	origin := m.t0
	if origin == 0 {
		origin = v.From
	}
	first := math.Ceil(float64(v.From-origin)/step) * step
	decimals := 0
	if step < 1e6 {
		decimals = int(math.Ceil(-math.Log10(step / 1e6)))
	}
	for t := first; t <= float64(v.To-origin); t += step {
		x := xOf(origin + int64(t))
		if x < x0-0.5 || x > x1+0.5 {
			continue
		}
		sc.Lines = append(sc.Lines, Line{X1: x, Y1: axisH - 4, X2: x, Y2: axisH + 2, Color: pal.faint, Width: 1, Role: RoleAxis})
		secs := t / 1e6
		if math.Abs(secs) < step/2e6 {
			secs = 0 // not "-0.0 s"
		}
		sc.Texts = append(sc.Texts, Text{X: x - 14, Y: 2, S: strconv.FormatFloat(secs, 'f', decimals, 64) + " s",
			Size: smallText, Color: pal.faint, Role: RoleAxis})
	}
}

// legend draws the key along the bottom edge.
func (l *Layouter) legend(v View, pal palette) {
	sc := &l.sc
	c := SenderColor(1)
	y := v.H - 12
	x := float32(labelW)
	item := func(w float32, label string) {
		sc.Texts = append(sc.Texts, Text{X: x + w + 4, Y: y - 6, S: label, Size: smallText, Color: pal.faint, Role: RoleNote})
		x += w + 12 + float32(len(label))*5.2 // about the width of smallText
	}
	sc.Rects = append(sc.Rects, Rect{X: x, Y: y - 4, W: 8, H: 8, Fill: c, Stroke: c, Round: true, Role: RoleNote})
	item(8, "send")
	sc.Lines = append(sc.Lines, Line{X1: x, Y1: y, X2: x + 24, Y2: y, Color: c, Width: 1.2, Role: RoleNote},
		Line{X1: x + 24, Y1: y, X2: x + 18, Y2: y - 3, Color: c, Width: 1.2, Role: RoleNote},
		Line{X1: x + 24, Y1: y, X2: x + 18, Y2: y + 3, Color: c, Width: 1.2, Role: RoleNote})
	item(24, "copy (its length: the network delay)")
	sc.Rects = append(sc.Rects, Rect{X: x, Y: y - 3, W: 24, H: 6, Fill: fade(c, 0x60), Role: RoleNote})
	item(24, "held back")
	sc.Lines = append(sc.Lines, Line{X1: x + 1, Y1: y - 7, X2: x + 1, Y2: y + 7, Color: c, Width: 2.2, Role: RoleNote})
	item(2, "Ready #seq")
	sc.Rects = append(sc.Rects, Rect{X: x, Y: y - 5, W: 10, H: 10, Fill: color.NRGBA{0xff, 0xff, 0xff, 0xff}, Stroke: recoveredColor, StrokeW: 2, Role: RoleNote})
	item(10, "recovered (not from the network)")
	sc.Rects = append(sc.Rects, Rect{X: x, Y: y - 6, W: 20, H: 12, Fill: leaderColor, Role: RoleNote})
	item(20, "leader")
}

// clip cuts the segment to x0 ≤ x ≤ x1; ok is false if nothing is left.
func clip(ax, ay, bx, by, x0, x1 float32) (float32, float32, float32, float32, bool) {
	if ax > bx {
		ax, ay, bx, by = bx, by, ax, ay
	}
	if bx < x0 || ax > x1 {
		return 0, 0, 0, 0, false
	}
	if ax < x0 && bx != ax {
		ay += (by - ay) * (x0 - ax) / (bx - ax)
		ax = x0
	}
	if bx > x1 && bx != ax {
		by = ay + (by-ay)*(x1-ax)/(bx-ax)
		bx = x1
	}
	return ax, ay, bx, by, true
}

func (l *Layouter) line(ax, ay, bx, by, x0, x1 float32, c color.NRGBA, w float32, role Role, msg string, lane int) {
	ax, ay, bx, by, ok := clip(ax, ay, bx, by, x0, x1)
	if ok {
		l.sc.Lines = append(l.sc.Lines, Line{X1: ax, Y1: ay, X2: bx, Y2: by, Color: c, Width: w, Role: role, Msg: msg, Lane: lane})
	}
}

func (l *Layouter) dot(x, y, r float32, x0, x1 float32, fill, stroke color.NRGBA, sw float32, round bool, role Role, msg string, lane int) {
	if x < x0-r || x > x1+r {
		return
	}
	l.sc.Rects = append(l.sc.Rects, Rect{X: x - r, Y: y - r, W: 2 * r, H: 2 * r, Fill: fill, Stroke: stroke, StrokeW: sw,
		Round: round, Role: role, Msg: msg, Lane: lane})
}

// message draws one message: send, copies, hold-back bars, Ready marks.
func (l *Layouter) message(msg *Message, m *Model, v View, pal palette, hi, dim bool, xOf func(int64) float32, laneY func(int) float32, x0, x1 float32) {
	sc := &l.sc
	c := SenderColor(msg.Sender)
	w := float32(1.2)
	if hi {
		w = 2.5
	}
	if dim {
		c = fade(c, 0x40)
	}
	text := msg.Text
	netY := laneY(0)
	// Where the copies start: the network program if it logged the
	// message, else the send itself.
	startX, startY := float32(0), float32(0)
	hasStart := false
	if msg.Sent > 0 && msg.Sender > 0 {
		sx, sy := xOf(msg.Sent), laneY(msg.Sender)
		startX, startY, hasStart = sx, sy, true
		if msg.Accepted > 0 {
			ax := xOf(msg.Accepted)
			l.line(sx, sy, ax, netY, x0, x1, c, w, RoleToNet, text, msg.Sender)
		}
		l.dot(sx, sy, 4.5, x0, x1, c, c, 0, true, RoleSend, text, msg.Sender)
	}
	if msg.Accepted > 0 {
		startX, startY, hasStart = xOf(msg.Accepted), netY, true
		l.dot(startX, netY, 3, x0, x1, c, c, 0, true, RoleAccept, text, 0)
	}
	for i := range msg.Copies {
		cp := &msg.Copies[i]
		lane := i + 1
		y := laneY(lane)
		if cp.Recv > 0 {
			rx := xOf(cp.Recv)
			if cp.Recovered {
				// The content came from the log: the network copy (if
				// it came at all) is drawn faint to where it arrived.
				if cp.NetOut > 0 && msg.Accepted > 0 {
					l.line(startX, startY, xOf(cp.NetOut), y, x0, x1, fade(c, 0x50), 1, RoleArrow, text, lane)
				}
				l.dot(rx, y, 5, x0, x1, color.NRGBA{0xff, 0xff, 0xff, 0xff}, fade(recoveredColor, choose[uint8](dim, 0x60, 0xff)), 2, false, RoleRecovered, text, lane)
			} else {
				if hasStart {
					l.arrow(startX, startY, rx, y, x0, x1, c, w, text, lane)
				}
				l.dot(rx, y, 3, x0, x1, c, c, 0, true, RoleArrival, text, lane)
			}
			if hi {
				label := ""
				if cp.Recovered {
					label = "recovered"
				} else if cp.Delay >= 0 {
					label = "+" + fmtDur(cp.Delay)
				} else if msg.Accepted > 0 {
					label = "+" + fmtDur(cp.Recv-msg.Accepted)
				} else if msg.Sent > 0 {
					label = "+" + fmtDur(cp.Recv-msg.Sent)
				}
				if label != "" && rx >= x0 && rx <= x1 {
					sc.Texts = append(sc.Texts, Text{X: rx + 4, Y: y + 3, S: label, Size: smallText, Color: pal.fg, Role: RoleDelay, Msg: text, Lane: lane})
				}
			}
		} else if cp.Dropped && hasStart && hi {
			sc.Texts = append(sc.Texts, Text{X: startX + 4, Y: y + 3, S: "dropped", Size: smallText, Color: recoveredColor, Role: RoleDelay, Msg: text, Lane: lane})
		}
		if cp.Ready > 0 {
			rdx := xOf(cp.Ready)
			if cp.Recv > 0 && cp.Ready > cp.Recv {
				bx0, bx1 := max(xOf(cp.Recv), x0), min(rdx, x1)
				if bx1 > bx0 {
					sc.Rects = append(sc.Rects, Rect{X: bx0, Y: y - 3, W: bx1 - bx0, H: 6, Fill: fade(c, 0x60),
						Role: RoleHoldBack, Msg: text, Lane: lane})
				}
			}
			if rdx >= x0 && rdx <= x1 {
				sc.Lines = append(sc.Lines, Line{X1: rdx, Y1: y - 8, X2: rdx, Y2: y + 8, Color: c, Width: w + 1, Role: RoleReady, Msg: text, Lane: lane})
				if cp.Seq > 0 {
					label := l.seqText(cp.Seq)
					l.labels = append(l.labels, Text{X: rdx - 3, Y: y - 21, S: label, Size: smallText,
						Color: choose(dim, fade(pal.fg, 0x60), pal.fg), Bold: hi, Role: RoleSeq, Msg: text, Lane: lane})
				}
			}
		}
	}
}

func choose[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// placeSeqLabels places the seq labels collected, lane by lane from left
// to right, each on the lowest of three levels where it does not overlap
// the previous one; a label with no room is left out (zooming in makes
// room), except a highlighted message's, which goes on top.
func (l *Layouter) placeSeqLabels() {
	labels := l.labels
	slices.SortFunc(labels, func(a, b Text) int {
		if a.Lane != b.Lane {
			return a.Lane - b.Lane
		}
		switch {
		case a.X < b.X:
			return -1
		case a.X > b.X:
			return 1
		}
		return 0
	})
	var right [3]float32
	lane := -1
	for _, t := range labels {
		if t.Lane != lane {
			lane, right = t.Lane, [3]float32{-1e9, -1e9, -1e9}
		}
		w := float32(len(t.S))*5.6 + 2
		placed := false
		for level := range right {
			if t.X >= right[level] {
				right[level] = t.X + w
				t.Y -= 10 * float32(level)
				placed = true
				break
			}
		}
		if placed || t.Bold {
			l.sc.Texts = append(l.sc.Texts, t)
		}
	}
	l.labels = labels[:0]
}

func (l *Layouter) seqText(seq uint64) string {
	if l.texts == nil {
		l.texts = map[int64]string{}
	}
	k := int64(seq)
	s, ok := l.texts[k]
	if !ok {
		if len(l.texts) > 10000 {
			clear(l.texts)
		}
		s = "#" + strconv.FormatUint(seq, 10)
		l.texts[k] = s
	}
	return s
}

// arrow draws a segment with a head at (bx, by).
func (l *Layouter) arrow(ax, ay, bx, by, x0, x1 float32, c color.NRGBA, w float32, msg string, lane int) {
	l.line(ax, ay, bx, by, x0, x1, c, w, RoleArrow, msg, lane)
	if bx < x0 || bx > x1 {
		return
	}
	dx, dy := float64(bx-ax), float64(by-ay)
	d := math.Hypot(dx, dy)
	if d < 1 {
		return
	}
	ux, uy := dx/d, dy/d
	const size, spread = 7.0, 0.45
	for _, s := range []float64{spread, -spread} {
		cos, sin := math.Cos(s), math.Sin(s)
		hx := -(ux*cos - uy*sin) * size
		hy := -(ux*sin + uy*cos) * size
		l.sc.Lines = append(l.sc.Lines, Line{X1: bx, Y1: by, X2: bx + float32(hx), Y2: by + float32(hy), Color: c, Width: w,
			Role: RoleArrowHead, Msg: msg, Lane: lane})
	}
}

// controls draws control messages between middleware lanes (heartbeats
// left out: they would hide the rest).
func (l *Layouter) controls(m *Model, v View, pal palette, xOf func(int64) float32, laneY func(int) float32, x0, x1 float32) {
	sc := &l.sc
	drawn := 0
	labels := 0
	for i := len(m.controls) - 1; i >= 0 && drawn < v.MaxControls; i-- {
		ct := &m.controls[i]
		if isHeartbeat(ct.Kind) {
			continue
		}
		end := ct.In
		if end == 0 {
			end = ct.Out
		}
		if end < v.From || ct.Out > v.To {
			continue
		}
		drawn++
		ya, yb := laneY(ct.From), laneY(ct.To)
		xa := xOf(ct.Out)
		if ct.In > 0 {
			l.line(xa, ya, xOf(ct.In), yb, x0, x1, pal.control, 1, RoleControl, "", ct.From)
		} else {
			l.line(xa, ya, xa+4, ya+(yb-ya)*0.25, x0, x1, pal.control, 1, RoleControl, "", ct.From)
		}
		if labels < 40 && xa >= x0 && xa <= x1 {
			labels++
			sc.Texts = append(sc.Texts, Text{X: xa + 2, Y: ya + (yb-ya)*0.15, S: ct.Kind, Size: 8, Color: pal.faint, Role: RoleControl, Lane: ct.From})
		}
	}
}

func isHeartbeat(kind string) bool {
	switch kind {
	case "heartbeat", "Heartbeat", "MsgHeartbeat", "MsgHeartbeatResp", "H":
		return true
	}
	return false
}

// leaders shades the lane of the middleware each middleware follows as
// leader, from when it said so (the leader's own view shades its lane).
func (l *Layouter) leaders(m *Model, v View, xOf func(int64) float32, laneY func(int) float32, gap float32) {
	sc := &l.sc
	x0, x1 := sc.PlotX0, sc.PlotX1
	// Each lane's own claims: from "leader = me" to its next change.
	for i, mk := range m.marks {
		if mk.Kind != MarkLeader || mk.Leader != mk.Lane {
			continue
		}
		end := v.To
		for _, next := range m.marks[i+1:] {
			if next.Kind == MarkLeader && next.Lane == mk.Lane {
				end = next.TS
				break
			}
		}
		if end < v.From || mk.TS > v.To {
			continue
		}
		a, b := max(xOf(mk.TS), x0), min(xOf(end), x1)
		if b > a {
			y := laneY(mk.Lane)
			sc.Rects = append(sc.Rects, Rect{X: a, Y: y - gap*0.4, W: b - a, H: gap*0.4 + 8, Fill: leaderColor, Role: RoleLeader, Lane: mk.Lane})
		}
	}
}

// The labels of the marks a middleware writes around a pause (see the
// middleware's checkPause).
const (
	pausedLabel  = "paused"
	resumedLabel = "resumed"
)

// pauses shades each lane where its middleware did not run: from its
// "paused" mark to the "resumed" mark that follows (to now, if none yet),
// labelled with how long.
func (l *Layouter) pauses(m *Model, v View, xOf func(int64) float32, laneY func(int) float32, gap float32) {
	sc := &l.sc
	x0, x1 := sc.PlotX0, sc.PlotX1
	for i, mk := range m.marks {
		if mk.Kind != MarkOther || mk.Label != pausedLabel {
			continue
		}
		end, open := v.To, true
		for _, next := range m.marks[i+1:] {
			if next.Lane == mk.Lane && next.Kind == MarkOther && next.Label == resumedLabel {
				end, open = next.TS, false
				break
			}
		}
		if end < v.From || mk.TS > v.To {
			continue
		}
		a, b := max(xOf(mk.TS), x0), min(xOf(end), x1)
		y := laneY(mk.Lane)
		sc.Rects = append(sc.Rects, Rect{X: a, Y: y - gap*0.3, W: max(b-a, 1), H: gap * 0.6, Fill: fade(markColor, 0x50),
			Stroke: fade(markColor, 0xc0), StrokeW: 1.5, Role: RoleMark, Lane: mk.Lane})
		label := "paused"
		if !open {
			label += " " + fmtDur(end-mk.TS)
		}
		sc.Texts = append(sc.Texts, Text{X: a + 3, Y: y - gap*0.3 + 1, S: label, Size: 9, Color: markColor, Bold: true, Role: RoleMark, Lane: mk.Lane})
	}
}

// marks draws restarts, leader changes, divergences and other marks
// (pauses are shaded instead, see pauses).
func (l *Layouter) marks(m *Model, v View, xOf func(int64) float32, laneY func(int) float32, x0, x1, gap float32) {
	sc := &l.sc
	divLabels := l.divLabels[:0]
	defer func() {
		sc.Texts = append(sc.Texts, divLabels...)
		l.divLabels = divLabels[:0]
	}()
	for _, mk := range m.marks {
		if mk.TS < v.From || mk.TS > v.To {
			continue
		}
		if mk.Kind == MarkOther && (mk.Label == pausedLabel || mk.Label == resumedLabel) {
			continue
		}
		x, y := xOf(mk.TS), laneY(mk.Lane)
		switch mk.Kind {
		case MarkDiverged:
			// Red, and bigger than the other marks: the one thing the
			// protocols must never let happen. A middleware finds the
			// split with several peers at about the same time, so labels
			// close together go one under the other.
			sc.Lines = append(sc.Lines, Line{X1: x, Y1: y - gap*0.42, X2: x, Y2: y + gap*0.42, Color: markColor, Width: 2.5, Role: RoleDiverged, Lane: mk.Lane})
			sc.Rects = append(sc.Rects, Rect{X: x - 5, Y: y - 5, W: 10, H: 10, Fill: markColor, Round: true, Role: RoleDiverged, Lane: mk.Lane})
			level := 0
			for k := len(divLabels) - 1; k >= 0; k-- {
				if prev := divLabels[k]; prev.Lane == mk.Lane && prev.X+float32(utf8.RuneCountInString(prev.S))*6.5 > x+7 {
					level = max(level, int((prev.Y-y-5)/12)+1)
				}
			}
			divLabels = append(divLabels, Text{X: x + 7, Y: y + 5 + 12*float32(level), S: mk.Label, Size: 10.5, Color: markColor, Bold: true, Role: RoleDiverged, Lane: mk.Lane})
		case MarkLeader:
			sc.Lines = append(sc.Lines, Line{X1: x, Y1: y - gap*0.4, X2: x, Y2: y - 6, Color: color.NRGBA{0xB0, 0x80, 0x00, 0xff}, Width: 1.5, Role: RoleLeader, Lane: mk.Lane})
			sc.Texts = append(sc.Texts, Text{X: x + 2, Y: y - gap*0.45, S: mk.Label, Size: 8.5, Color: color.NRGBA{0x90, 0x60, 0x00, 0xff}, Role: RoleLeader, Lane: mk.Lane})
		default:
			sc.Lines = append(sc.Lines, Line{X1: x, Y1: y - gap*0.4, X2: x, Y2: y + gap*0.4, Color: markColor, Width: 2, Role: RoleMark, Lane: mk.Lane})
			sc.Texts = append(sc.Texts, Text{X: x + 3, Y: y + 4, S: mk.Label, Size: 9, Color: markColor, Bold: true, Role: RoleMark, Lane: mk.Lane})
		}
	}
}

// fmtDur prints µs as a short duration: 850 ms, 1.24 s.
func fmtDur(us int64) string {
	switch {
	case us < 0:
		return "?"
	case us < 1000:
		return strconv.FormatInt(us, 10) + " µs"
	case us < 1e6:
		return strconv.FormatInt((us+500)/1000, 10) + " ms"
	}
	return strconv.FormatFloat(float64(us)/1e6, 'f', 2, 64) + " s"
}

// Hit finds the message drawn nearest to (x, y), within r pixels, or "".
func (sc *Scene) Hit(x, y, r float32) string {
	best, bestD := "", r*r
	consider := func(msg string, d float32) {
		if msg != "" && d <= bestD {
			best, bestD = msg, d
		}
	}
	for i := range sc.Rects {
		rc := &sc.Rects[i]
		dx := max(rc.X-x, 0, x-(rc.X+rc.W))
		dy := max(rc.Y-y, 0, y-(rc.Y+rc.H))
		consider(rc.Msg, dx*dx+dy*dy)
	}
	for i := range sc.Lines {
		ln := &sc.Lines[i]
		if ln.Msg == "" {
			continue
		}
		consider(ln.Msg, segDist2(x, y, ln.X1, ln.Y1, ln.X2, ln.Y2))
	}
	return best
}

func segDist2(px, py, ax, ay, bx, by float32) float32 {
	dx, dy := bx-ax, by-ay
	t := float32(0)
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = min(max(((px-ax)*dx+(py-ay)*dy)/l2, 0), 1)
	}
	qx, qy := ax+t*dx-px, ay+t*dy-py
	return qx*qx + qy*qy
}

// TimeAt is the time (µs) at x in the scene.
func (sc *Scene) TimeAt(x float32) int64 {
	if sc.PlotX1 <= sc.PlotX0 {
		return sc.From
	}
	return sc.From + int64(float64(x-sc.PlotX0)/float64(sc.PlotX1-sc.PlotX0)*float64(sc.To-sc.From))
}

// LiveWindow is the time window a live view shows at now (µs): the last
// span, narrowed to the last DefaultMaxMessages messages when they all
// fit in less, and to what the model holds when the run is younger than
// span (never below minSpan).
func LiveWindow(m *Model, now, span int64) (from, to int64) {
	const minSpan = 2e6
	from = now - span
	if m.t0 > 0 {
		from = max(from, m.t0-(now-m.t0)/20)
	}
	if k := len(m.order); k > DefaultMaxMessages {
		// The most recently active DefaultMaxMessages: approximate by
		// the last ones seen, which is exact for a steady stream.
		oldest := now
		for _, msg := range m.order[k-DefaultMaxMessages:] {
			oldest = min(oldest, msg.first)
		}
		from = max(from, oldest-(now-oldest)/20)
	}
	from = min(from, now-minSpan)
	return from, now
}

// Extent is the time window of m's messages (of everything if it has
// none), with a margin.
func Extent(m *Model) (from, to int64) {
	if m.t0 == 0 {
		return 0, 1
	}
	lo, hi := m.t0, m.latest
	if len(m.order) > 0 {
		lo, hi = m.order[0].first, int64(0)
		for _, msg := range m.order {
			lo, hi = min(lo, msg.first), max(hi, msg.last)
		}
	}
	margin := max((hi-lo)/30, 20e3)
	return lo - margin, hi + margin
}

// LastWindow is the window showing the last DefaultMaxMessages messages
// of a past run (all of them if there are fewer).
func LastWindow(m *Model) (from, to int64) {
	from, to = Extent(m)
	if k := len(m.order); k > DefaultMaxMessages {
		tail := m.order[k-DefaultMaxMessages:]
		lo, hi := tail[0].first, int64(0)
		for _, msg := range tail {
			lo, hi = min(lo, msg.first), max(hi, msg.last)
		}
		margin := max((hi-lo)/30, 20e3)
		from, to = lo-margin, hi+margin
	}
	return from, to
}
