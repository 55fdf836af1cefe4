package gui

import (
	"image"
	"image/color"

	"fyne.io/fyne/v2/theme"

	"totalorder/timeline"
)

// newTimelinePainter paints with the theme's fonts, as the rest of the
// window writes.
func newTimelinePainter() *timeline.Painter {
	return timeline.NewPainter(theme.DefaultTextFont().Content(), theme.DefaultTextBoldFont().Content())
}

// RenderTimeline paints the scene as the window shows it, on white: the
// picture a report gets is the window's. scale > 1 gives a sharper
// picture of the same layout (2: twice the pixels each way).
func RenderTimeline(sc *timeline.Scene, scale float32) image.Image {
	return newTimelinePainter().Paint(sc, scale, color.NRGBA{0xff, 0xff, 0xff, 0xff})
}
