package gui

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"

	"totalorder/timeline"
)

// RenderTimeline draws the scene with the window's own widget through
// Fyne's software painter: the picture a report gets is the one the
// window shows. A Fyne app must exist (a main without a window can use
// fyne.io/fyne/v2/test.NewApp). scale > 1 gives a sharper picture of
// the same layout (2: twice the pixels each way).
func RenderTimeline(sc *timeline.Scene, scale float32) image.Image {
	d := newDiagram()
	d.bg = color.White
	d.scene = sc
	c := software.NewCanvas()
	c.SetPadded(false)
	if scale > 0 {
		c.SetScale(scale)
	}
	c.SetContent(d)
	c.Resize(fyne.NewSize(sc.W, sc.H))
	d.Refresh()
	return c.Capture()
}
