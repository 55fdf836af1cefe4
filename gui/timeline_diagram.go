package gui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"totalorder/timeline"
)

// diagram is the widget that draws a timeline.Scene with Fyne's canvas
// primitives: rectangles, circles, lines and texts, pooled and reused
// from one scene to the next so that a redraw allocates nothing in the
// steady state. The same objects are what the window shows, what the PNG
// export renders (Fyne's software painter) and what tests inspect.
type diagram struct {
	widget.BaseWidget

	scene *timeline.Scene
	// Input callbacks, on the UI thread.
	onResize func(fyne.Size)
	onHover  func(x, y float32) // x < 0: the pointer left
	onTap    func(x, y float32)
	onZoom   func(x float32, steps float32)
	onPan    func(dx float32)
	onPanEnd func()
	bg       color.Color
}

var (
	_ desktop.Hoverable = (*diagram)(nil)
	_ fyne.Tappable     = (*diagram)(nil)
	_ fyne.Scrollable   = (*diagram)(nil)
	_ fyne.Draggable    = (*diagram)(nil)
)

func newDiagram() *diagram {
	d := &diagram{bg: color.White}
	d.ExtendBaseWidget(d)
	return d
}

// show draws sc. UI thread.
func (d *diagram) show(sc *timeline.Scene) {
	d.scene = sc
	d.Refresh()
}

func (d *diagram) CreateRenderer() fyne.WidgetRenderer {
	r := &diagramRenderer{d: d, bg: canvas.NewRectangle(d.bg)}
	r.rebuild()
	return r
}

func (d *diagram) MinSize() fyne.Size { return fyne.NewSize(480, 260) }

func (d *diagram) MouseIn(e *desktop.MouseEvent) { d.MouseMoved(e) }
func (d *diagram) MouseMoved(e *desktop.MouseEvent) {
	if d.onHover != nil {
		d.onHover(e.Position.X, e.Position.Y)
	}
}
func (d *diagram) MouseOut() {
	if d.onHover != nil {
		d.onHover(-1, -1)
	}
}
func (d *diagram) Tapped(e *fyne.PointEvent) {
	if d.onTap != nil {
		d.onTap(e.Position.X, e.Position.Y)
	}
}
func (d *diagram) Scrolled(e *fyne.ScrollEvent) {
	if d.onZoom != nil && e.Scrolled.DY != 0 {
		d.onZoom(e.Position.X, e.Scrolled.DY/10)
	}
}
func (d *diagram) Dragged(e *fyne.DragEvent) {
	if d.onPan != nil {
		d.onPan(e.Dragged.DX)
	}
}
func (d *diagram) DragEnd() {
	if d.onPanEnd != nil {
		d.onPanEnd()
	}
}

// diagramRenderer keeps a pool of each primitive. Objects in use come
// first in each pool; the rest are hidden.
type diagramRenderer struct {
	d       *diagram
	bg      *canvas.Rectangle
	rects   []*canvas.Rectangle
	circles []*canvas.Circle
	lines   []*canvas.Line
	texts   []*canvas.Text
	objects []fyne.CanvasObject
	size    fyne.Size
	// textSizes caches the size of each label: measuring text is the
	// costliest part of a frame, and labels (seqs, ticks) repeat.
	textSizes map[textKey]fyne.Size
	// colors holds each colour as an interface value once: boxing an
	// NRGBA for every object of every frame would allocate thousands of
	// times a frame.
	colors map[color.NRGBA]color.Color
}

func (r *diagramRenderer) col(c color.NRGBA) color.Color {
	if v, ok := r.colors[c]; ok {
		return v
	}
	if r.colors == nil || len(r.colors) > 4096 {
		r.colors = map[color.NRGBA]color.Color{}
	}
	var v color.Color = c
	r.colors[c] = v
	return v
}

type textKey struct {
	s    string
	size float32
	bold bool
}

func (r *diagramRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	if size != r.size {
		r.size = size
		if r.d.onResize != nil {
			r.d.onResize(size)
		}
	}
}

func (r *diagramRenderer) MinSize() fyne.Size { return r.d.MinSize() }

func (r *diagramRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *diagramRenderer) Destroy() {}

// rebuild lists the pools' objects in drawing order.
func (r *diagramRenderer) rebuild() {
	r.objects = r.objects[:0]
	r.objects = append(r.objects, r.bg)
	for _, o := range r.rects {
		r.objects = append(r.objects, o)
	}
	for _, o := range r.circles {
		r.objects = append(r.objects, o)
	}
	for _, o := range r.lines {
		r.objects = append(r.objects, o)
	}
	for _, o := range r.texts {
		r.objects = append(r.objects, o)
	}
}

func (r *diagramRenderer) textSize(o *canvas.Text, k textKey) fyne.Size {
	if sz, ok := r.textSizes[k]; ok {
		return sz
	}
	if r.textSizes == nil || len(r.textSizes) > 20000 {
		r.textSizes = map[textKey]fyne.Size{}
	}
	sz := o.MinSize()
	r.textSizes[k] = sz
	return sz
}

func (r *diagramRenderer) Refresh() {
	sc := r.d.scene
	r.bg.FillColor = r.d.bg
	if sc == nil {
		sc = &timeline.Scene{}
	}
	grown := false
	nRect, nCircle := 0, 0
	for i := range sc.Rects {
		s := &sc.Rects[i]
		if s.Round {
			if nCircle == len(r.circles) {
				r.circles = append(r.circles, canvas.NewCircle(nil))
				grown = true
			}
			c := r.circles[nCircle]
			nCircle++
			c.FillColor, c.StrokeColor, c.StrokeWidth = r.col(s.Fill), r.col(s.Stroke), s.StrokeW
			c.Position1 = fyne.NewPos(s.X, s.Y)
			c.Position2 = fyne.NewPos(s.X+s.W, s.Y+s.H)
			c.Show()
			continue
		}
		if nRect == len(r.rects) {
			r.rects = append(r.rects, canvas.NewRectangle(nil))
			grown = true
		}
		o := r.rects[nRect]
		nRect++
		o.FillColor, o.StrokeColor, o.StrokeWidth = r.col(s.Fill), r.col(s.Stroke), s.StrokeW
		o.Move(fyne.NewPos(s.X, s.Y))
		o.Resize(fyne.NewSize(s.W, s.H))
		o.Show()
	}
	for i := nRect; i < len(r.rects); i++ {
		r.rects[i].Hide()
	}
	for i := nCircle; i < len(r.circles); i++ {
		r.circles[i].Hide()
	}
	for i := range sc.Lines {
		s := &sc.Lines[i]
		if i == len(r.lines) {
			r.lines = append(r.lines, canvas.NewLine(nil))
			grown = true
		}
		o := r.lines[i]
		o.StrokeColor, o.StrokeWidth = r.col(s.Color), s.Width
		o.Position1 = fyne.NewPos(s.X1, s.Y1)
		o.Position2 = fyne.NewPos(s.X2, s.Y2)
		o.Show()
	}
	for i := len(sc.Lines); i < len(r.lines); i++ {
		r.lines[i].Hide()
	}
	for i := range sc.Texts {
		s := &sc.Texts[i]
		if i == len(r.texts) {
			r.texts = append(r.texts, canvas.NewText("", nil))
			grown = true
		}
		o := r.texts[i]
		o.Text, o.Color, o.TextSize = s.S, r.col(s.Color), s.Size
		o.TextStyle = fyne.TextStyle{Bold: s.Bold}
		o.Move(fyne.NewPos(s.X, s.Y))
		o.Resize(r.textSize(o, textKey{s.S, s.Size, s.Bold}))
		o.Show()
	}
	for i := len(sc.Texts); i < len(r.texts); i++ {
		r.texts[i].Hide()
	}
	if grown {
		r.rebuild()
	}
	canvas.Refresh(r.d)
}
