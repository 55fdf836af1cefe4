package timeline

import (
	"image"
	"image/color"
	"testing"
)

var (
	blue = color.NRGBA{0x00, 0x72, 0xB2, 0xff}
	red  = color.NRGBA{0xC0, 0x10, 0x10, 0xff}
)

func pixel(img *image.RGBA, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
}

func TestPaintShapes(t *testing.T) {
	sc := &Scene{W: 100, H: 60,
		Rects: []Rect{
			{X: 10, Y: 10, W: 10, H: 10, Fill: white, Stroke: red, StrokeW: 2},
			{X: 40, Y: 10, W: 10, H: 10, Fill: blue, Round: true},
		},
		Lines: []Line{
			{X1: 0, Y1: 30, X2: 100, Y2: 30, Color: blue, Width: 1},
			{X1: 60, Y1: 0, X2: 90, Y2: 60, Color: red, Width: 2},
		},
		Texts: []Text{{X: 2, Y: 40, S: "#12", Size: 11, Color: color.NRGBA{0, 0, 0, 0xff}}},
	}
	p := NewPainter(nil, nil)
	img := p.Paint(sc, 1, color.NRGBA{0x44, 0x44, 0x44, 0xff})
	if got := img.Bounds(); got != image.Rect(0, 0, 100, 60) {
		t.Fatalf("image %v", got)
	}
	checks := []struct {
		what string
		x, y int
		want color.NRGBA
	}{
		{"background", 95, 5, color.NRGBA{0x44, 0x44, 0x44, 0xff}},
		{"square's stroke", 10, 15, red},
		{"square's fill", 15, 13, white},
		{"dot's centre", 45, 15, blue},
		{"dot's outside corner", 40, 10, color.NRGBA{0x44, 0x44, 0x44, 0xff}},
		{"level line, on its row", 50, 30, blue},
		{"steep line, on its path", 75, 30, red},
	}
	for _, c := range checks {
		if got := pixel(img, c.x, c.y); got != c.want {
			t.Errorf("%s at (%d, %d): %v, want %v", c.what, c.x, c.y, got, c.want)
		}
	}
	if got := pixel(img, 50, 29); got != (color.NRGBA{0x44, 0x44, 0x44, 0xff}) {
		t.Errorf("a one-pixel level line spreads to the row above: %v", got)
	}
	ink := 0
	for y := 40; y < 54; y++ {
		for x := 2; x < 24; x++ {
			if pixel(img, x, y).R < 0x20 {
				ink++
			}
		}
	}
	if ink < 10 {
		t.Errorf("the label left %d dark pixels", ink)
	}
}

func TestPaintScaleAndBuffers(t *testing.T) {
	sc := &Scene{W: 50, H: 20, Lines: []Line{{X1: 0, Y1: 10, X2: 50, Y2: 10, Color: blue, Width: 1}}}
	p := NewPainter(nil, nil)
	a := p.Paint(sc, 2, white)
	if a.Bounds().Dx() != 100 || a.Bounds().Dy() != 40 {
		t.Fatalf("scale 2 gives %v", a.Bounds())
	}
	if got := pixel(a, 50, 20); got != blue {
		t.Errorf("the line at scale 2: %v", got)
	}
	b := p.Paint(sc, 2, white)
	if &a.Pix[0] == &b.Pix[0] {
		t.Error("the next painting reuses the image just returned (it may still be on screen)")
	}
	if c := p.Paint(sc, 2, white); &c.Pix[0] != &a.Pix[0] {
		t.Error("the buffers do not take turns: every frame allocates")
	}
}
