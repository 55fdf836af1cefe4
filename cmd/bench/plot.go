package main

import (
	"bufio"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// A small line-chart renderer on the standard library's image package,
// enough for the benchmark's two plots without a plotting dependency.

// series is one line of a chart.
type series struct {
	Name    string
	Color   color.RGBA
	Dashed  bool
	Markers bool         // a dot at every point
	Points  [][2]float64 // x, y in data units, in drawing order
}

// chart is a line chart with linear axes.
type chart struct {
	Title, XLabel, YLabel string
	Width, Height         int
	Series                []series
	// XTicks, when set, are the x axis's ticks (for example the n values);
	// otherwise ticks are picked from the data's range.
	XTicks []float64
	// YFrom0 starts the y axis at 0 whatever the data.
	YFrom0 bool
	// LegendTop puts the legend in the top right corner of the plot area
	// instead of the bottom right (keep it off the lines).
	LegendTop bool
}

var (
	colorBlack     = color.RGBA{0, 0, 0, 255}
	colorGrid      = color.RGBA{225, 225, 225, 255}
	colorWhite     = color.RGBA{255, 255, 255, 255}
	colorBlue      = color.RGBA{31, 119, 180, 255}
	colorOrange    = color.RGBA{230, 110, 10, 255}
	colorNavy      = color.RGBA{10, 50, 110, 255}
	colorBrown     = color.RGBA{140, 60, 0, 255}
	colorGreen     = color.RGBA{40, 150, 60, 255}
	colorDarkGreen = color.RGBA{15, 85, 30, 255}
	face           = basicfont.Face7x13
)

// Plot area margins in pixels.
const (
	marginLeft   = 80
	marginRight  = 25
	marginTop    = 40
	marginBottom = 55
)

// draw renders the chart.
func (c chart) draw() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, c.Width, c.Height))
	draw.Draw(img, img.Bounds(), image.NewUniform(colorWhite), image.Point{}, draw.Src)
	area := image.Rect(marginLeft, marginTop, c.Width-marginRight, c.Height-marginBottom)

	xlo, xhi, ylo, yhi := c.dataRange()
	if c.YFrom0 {
		ylo = min(ylo, 0)
	}
	var xticks []float64
	if len(c.XTicks) > 0 {
		xticks = c.XTicks
		xlo, xhi = min(xlo, slicesMin(xticks)), max(xhi, slicesMax(xticks))
	} else {
		xlo, xhi, xticks = niceTicks(xlo, xhi, 8)
	}
	ylo, yhi, yticks := niceTicks(ylo, yhi, 6)
	toX := func(x float64) int {
		return area.Min.X + int(math.Round((x-xlo)/(xhi-xlo)*float64(area.Dx()-1)))
	}
	toY := func(y float64) int {
		return area.Max.Y - 1 - int(math.Round((y-ylo)/(yhi-ylo)*float64(area.Dy()-1)))
	}

	// Grid, ticks and labels.
	for _, x := range xticks {
		px := toX(x)
		vline(img, px, area.Min.Y, area.Max.Y, colorGrid)
		label := tickLabel(x, xticks)
		text(img, px-textWidth(label)/2, area.Max.Y+16, label, colorBlack)
	}
	for _, y := range yticks {
		py := toY(y)
		hline(img, area.Min.X, area.Max.X, py, colorGrid)
		label := tickLabel(y, yticks)
		text(img, area.Min.X-8-textWidth(label), py+4, label, colorBlack)
	}
	rectOutline(img, area, colorBlack)
	text(img, (c.Width-textWidth(c.Title))/2, 22, c.Title, colorBlack)
	text(img, area.Min.X+(area.Dx()-textWidth(c.XLabel))/2, c.Height-14, c.XLabel, colorBlack)
	text(img, 8, marginTop-8, c.YLabel, colorBlack)

	// Lines, clipped to the plot area.
	plot := img.SubImage(area.Inset(1)).(*image.RGBA)
	for _, s := range c.Series {
		dash := 0
		for i := 1; i < len(s.Points); i++ {
			a, b := s.Points[i-1], s.Points[i]
			line(plot, toX(a[0]), toY(a[1]), toX(b[0]), toY(b[1]), s.Color, s.Dashed, &dash)
		}
		if s.Markers {
			for _, p := range s.Points {
				dot(plot, toX(p[0]), toY(p[1]), 4, s.Color)
			}
		}
	}

	// Legend.
	if len(c.Series) > 0 {
		wide := 0
		for _, s := range c.Series {
			wide = max(wide, textWidth(s.Name))
		}
		box := image.Rect(0, 0, wide+50, 18*len(c.Series)+8)
		if c.LegendTop {
			box = box.Add(image.Pt(area.Max.X-box.Dx()-10, area.Min.Y+10))
		} else {
			box = box.Add(image.Pt(area.Max.X-box.Dx()-10, area.Max.Y-box.Dy()-10))
		}
		draw.Draw(img, box, image.NewUniform(colorWhite), image.Point{}, draw.Src)
		rectOutline(img, box, colorGrid)
		for i, s := range c.Series {
			y := box.Min.Y + 13 + 18*i
			dash := 0
			line(img, box.Min.X+8, y, box.Min.X+36, y, s.Color, s.Dashed, &dash)
			if s.Markers {
				dot(img, box.Min.X+22, y, 4, s.Color)
			}
			text(img, box.Min.X+42, y+4, s.Name, colorBlack)
		}
	}
	return img
}

// dataRange is the bounding box of every point (a unit box if none).
func (c chart) dataRange() (xlo, xhi, ylo, yhi float64) {
	xlo, ylo = math.Inf(1), math.Inf(1)
	xhi, yhi = math.Inf(-1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			xlo, xhi = min(xlo, p[0]), max(xhi, p[0])
			ylo, yhi = min(ylo, p[1]), max(yhi, p[1])
		}
	}
	if math.IsInf(xlo, 1) {
		return 0, 1, 0, 1
	}
	return xlo, xhi, ylo, yhi
}

// niceTicks widens [lo, hi] to multiples of a round step (1, 2, 2.5 or 5
// times a power of ten) giving about want intervals, and lists the ticks.
func niceTicks(lo, hi float64, want int) (from, to float64, ticks []float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(want)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * pow
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	from = math.Floor(lo/step) * step
	to = math.Ceil(hi/step) * step
	for k := 0; ; k++ {
		v := from + float64(k)*step
		if v > to+step/2 {
			break
		}
		ticks = append(ticks, v)
	}
	return from, to, ticks
}

// tickLabel prints v with as many decimals as the ticks' spacing needs;
// whole numbers get thousands separators.
func tickLabel(v float64, ticks []float64) string {
	decimals := 0
	for _, t := range ticks {
		for decimals < 4 && math.Abs(t*math.Pow(10, float64(decimals))-math.Round(t*math.Pow(10, float64(decimals)))) > 1e-6 {
			decimals++
		}
	}
	if decimals == 0 {
		if v < 0 {
			return "-" + count(-v)
		}
		return count(v)
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

func slicesMin(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func slicesMax(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func textWidth(s string) int { return font.MeasureString(face, s).Round() }

// text draws s with its baseline at y.
func text(img draw.Image, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) {
	for x := x0; x < x1; x++ {
		img.SetRGBA(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) {
	for y := y0; y < y1; y++ {
		img.SetRGBA(x, y, c)
	}
}

func rectOutline(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	hline(img, r.Min.X, r.Max.X, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X, r.Max.Y-1, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, c)
	vline(img, r.Max.X-1, r.Min.Y, r.Max.Y, c)
}

// line draws a 2-pixel-wide line (Bresenham). A dashed line is 8 pixels
// on, 5 off; *dash carries the pattern's phase from one segment to the
// next so a polyline's dashes stay even. Pixels outside img are skipped.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, dashed bool, dash *int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		if !dashed || *dash%13 < 8 {
			for _, p := range [4]image.Point{{x0, y0}, {x0 + 1, y0}, {x0, y0 + 1}, {x0 + 1, y0 + 1}} {
				if p.In(img.Rect) {
					img.SetRGBA(p.X, p.Y, c)
				}
			}
		}
		*dash++
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

// dot draws a filled disc of radius r.
func dot(img *image.RGBA, cx, cy, r int, c color.RGBA) {
	for y := -r; y <= r; y++ {
		for x := -r; x <= r; x++ {
			if p := image.Pt(cx+x, cy+y); x*x+y*y <= r*r && p.In(img.Rect) {
				img.SetRGBA(p.X, p.Y, c)
			}
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// encodePNG writes img as PNG.
func encodePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }

// writePNG writes img to path.
func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := encodePNG(bw, img); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
