package gui

import (
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"totalorder/timeline"
)

// diagram is the widget that shows a timeline.Scene as the image a
// timeline.Painter painted of it (one texture, however busy the scene),
// and turns the pointer into callbacks; the scene serves hit-testing.
type diagram struct {
	widget.BaseWidget

	scene *timeline.Scene
	img   *canvas.Image
	// Input callbacks, on the UI thread. onResize also gets the canvas
	// scale: the image is painted at the screen's pixels.
	onResize func(size fyne.Size, scale float32)
	onHover  func(x, y float32) // x < 0: the pointer left
	onTap    func(x, y float32)
	onZoom   func(x float32, steps float32)
	onPan    func(dx float32)
	onPanEnd func()
}

var (
	_ desktop.Hoverable = (*diagram)(nil)
	_ fyne.Tappable     = (*diagram)(nil)
	_ fyne.Scrollable   = (*diagram)(nil)
	_ fyne.Draggable    = (*diagram)(nil)
)

func newDiagram() *diagram {
	d := &diagram{img: &canvas.Image{FillMode: canvas.ImageFillStretch, ScaleMode: canvas.ImageScaleFastest}}
	d.ExtendBaseWidget(d)
	return d
}

// show shows sc, painted as img. UI thread.
func (d *diagram) show(sc *timeline.Scene, img image.Image) {
	d.scene = sc
	d.img.Image = img
	d.img.Refresh()
}

func (d *diagram) CreateRenderer() fyne.WidgetRenderer {
	return &diagramRenderer{d: d, objects: []fyne.CanvasObject{d.img}}
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

// diagramRenderer lays the image out and reports size changes.
type diagramRenderer struct {
	d       *diagram
	objects []fyne.CanvasObject // the image; Fyne asks for it every frame
	size    fyne.Size
	scale   float32
}

func (r *diagramRenderer) Layout(size fyne.Size) {
	r.d.img.Resize(size)
	scale := float32(1)
	if c := fyne.CurrentApp().Driver().CanvasForObject(r.d); c != nil {
		scale = c.Scale()
	}
	if size != r.size || scale != r.scale {
		r.size, r.scale = size, scale
		if r.d.onResize != nil {
			r.d.onResize(size, scale)
		}
	}
}

func (r *diagramRenderer) MinSize() fyne.Size { return r.d.MinSize() }

func (r *diagramRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *diagramRenderer) Destroy() {}

func (r *diagramRenderer) Refresh() { r.d.img.Refresh() }
