package main

import (
	"bufio"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"strconv"

	"totalorder/timeline"
)

// A line chart laid out as a timeline.Scene (rectangles, lines and texts)
// and painted by the timeline's Painter, the one rasteriser of the
// project: this file only places shapes.

// series is one line of a chart.
type series struct {
	Name    string
	Color   color.NRGBA
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
}

var (
	colorBlack      = color.NRGBA{0, 0, 0, 255}
	colorGrid       = color.NRGBA{225, 225, 225, 255}
	colorWhite      = color.NRGBA{255, 255, 255, 255}
	colorBlue       = color.NRGBA{31, 119, 180, 255}
	colorOrange     = color.NRGBA{230, 110, 10, 255}
	colorNavy       = color.NRGBA{10, 50, 110, 255}
	colorBrown      = color.NRGBA{140, 60, 0, 255}
	colorGreen      = color.NRGBA{40, 150, 60, 255}
	colorDarkGreen  = color.NRGBA{15, 85, 30, 255}
	colorPurple     = color.NRGBA{140, 80, 190, 255}
	colorDarkPurple = color.NRGBA{80, 35, 120, 255}
	colorGrey       = color.NRGBA{130, 130, 130, 255}
)

// Layout in pixels: margins around the plot area, the legend's rows
// (below the title, above the y axis's label), the texts' size.
const (
	marginLeft    = 80
	marginRight   = 45
	marginTop     = 32 // the title; the legend's rows start here
	yLabelRoom    = 24 // the y axis's label, above the plot area
	marginBottom  = 55
	legendRow     = 18
	legendSwatch  = 28 // the line sample's length
	legendGap     = 22 // between two entries of a row
	textSize      = 12
	dataLineWidth = 2
	markerRadius  = 4
	dashOn        = 8 // a dashed line: 8 pixels drawn, 5 left out
	dashOff       = 5
)

// measure lays texts out as the Painter draws them (the Go font it falls
// back to, at textSize pixels).
var measure = timeline.NewPainter(nil, nil)

func textWidth(s string) float32 { return measure.TextWidth(s, textSize, false) }

// ascent is how far above its baseline a text's top-left corner is.
var ascent = measure.Ascent(textSize, false)

// draw paints the chart.
func (c chart) draw() *image.RGBA {
	return timeline.NewPainter(nil, nil).Paint(c.scene(), 1, colorWhite)
}

// scene lays the chart out: grid, axes and labels, the series, and the
// legend in rows above the plot area.
func (c chart) scene() *timeline.Scene {
	sc := &timeline.Scene{W: float32(c.Width), H: float32(c.Height)}
	text := func(x, baseline float32, s string) {
		sc.Texts = append(sc.Texts, timeline.Text{X: x, Y: baseline - ascent, S: s, Size: textSize, Color: colorBlack})
	}
	line := func(x1, y1, x2, y2, w float32, col color.NRGBA) {
		sc.Lines = append(sc.Lines, timeline.Line{X1: x1, Y1: y1, X2: x2, Y2: y2, Width: w, Color: col})
	}

	// The legend flows in rows under the title; the plot area starts
	// below it.
	type entry struct {
		s    series
		x, y float32
	}
	var legend []entry
	x, row := float32(marginLeft), 0
	for _, s := range c.Series {
		wide := legendSwatch + 6 + textWidth(s.Name)
		if x > marginLeft && x+wide > float32(c.Width-marginRight) {
			x, row = marginLeft, row+1
		}
		legend = append(legend, entry{s, x, float32(marginTop + row*legendRow)})
		x += wide + legendGap
	}
	top := marginTop + yLabelRoom
	if len(legend) > 0 {
		top += (row + 1) * legendRow
	}
	area := image.Rect(marginLeft, top, c.Width-marginRight, c.Height-marginBottom)

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
	// The frame's pixels are the first and last of the area: the axes'
	// ends lie on their centres.
	toX := func(x float64) float32 {
		return float32(area.Min.X) + 0.5 + float32((x-xlo)/(xhi-xlo)*float64(area.Dx()-1))
	}
	toY := func(y float64) float32 {
		return float32(area.Max.Y) - 0.5 - float32((y-ylo)/(yhi-ylo)*float64(area.Dy()-1))
	}

	// Grid, ticks and labels; the plot area's frame. The grid is made of
	// rectangles a pixel wide, so that it lies under the series' markers
	// (the Painter paints rectangles, then lines, then texts).
	for _, x := range xticks {
		px := toX(x)
		sc.Rects = append(sc.Rects, timeline.Rect{X: float32(math.Floor(float64(px))), Y: float32(area.Min.Y),
			W: 1, H: float32(area.Dy()), Fill: colorGrid})
		label := tickLabel(x, xticks)
		text(px-textWidth(label)/2, float32(area.Max.Y+18), label)
	}
	for _, y := range yticks {
		py := toY(y)
		sc.Rects = append(sc.Rects, timeline.Rect{X: float32(area.Min.X), Y: float32(math.Floor(float64(py))),
			W: float32(area.Dx()), H: 1, Fill: colorGrid})
		label := tickLabel(y, yticks)
		text(float32(area.Min.X)-8-textWidth(label), py+4, label)
	}
	sc.Rects = append(sc.Rects, timeline.Rect{X: float32(area.Min.X), Y: float32(area.Min.Y), W: float32(area.Dx()), H: float32(area.Dy()),
		Stroke: colorBlack, StrokeW: 1})
	text((float32(c.Width)-textWidth(c.Title))/2, 22, c.Title)
	text(float32(area.Min.X)+(float32(area.Dx())-textWidth(c.XLabel))/2, float32(c.Height-14), c.XLabel)
	text(8, float32(area.Min.Y-10), c.YLabel)

	// The series.
	for _, s := range c.Series {
		pts := make([][2]float32, len(s.Points))
		for i, p := range s.Points {
			pts[i] = [2]float32{toX(p[0]), toY(p[1])}
		}
		for _, seg := range segments(pts, s.Dashed) {
			line(seg[0], seg[1], seg[2], seg[3], dataLineWidth, s.Color)
		}
		if s.Markers {
			for _, p := range pts {
				sc.Rects = append(sc.Rects, dot(p[0], p[1], s.Color))
			}
		}
	}

	// The legend: a line sample (and a marker), then the name.
	for _, e := range legend {
		y := e.y + legendRow/2
		for _, seg := range segments([][2]float32{{e.x, y}, {e.x + legendSwatch, y}}, e.s.Dashed) {
			line(seg[0], seg[1], seg[2], seg[3], dataLineWidth, e.s.Color)
		}
		if e.s.Markers {
			sc.Rects = append(sc.Rects, dot(e.x+legendSwatch/2, y, e.s.Color))
		}
		text(e.x+legendSwatch+6, y+4, e.s.Name)
	}
	return sc
}

// dot is a marker centred on (x, y).
func dot(x, y float32, c color.NRGBA) timeline.Rect {
	return timeline.Rect{X: x - markerRadius, Y: y - markerRadius, W: 2 * markerRadius, H: 2 * markerRadius, Fill: c, Round: true}
}

// segments cuts a polyline into the segments to draw: every segment, or
// for a dashed line its dashes, which start every dashOn+dashOff pixels
// along the whole polyline, so they stay even around corners.
func segments(pts [][2]float32, dashed bool) [][4]float32 {
	var out [][4]float32
	const period = dashOn + dashOff
	along := 0.0 // length of the polyline before the current segment
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if !dashed {
			out = append(out, [4]float32{a[0], a[1], b[0], b[1]})
			continue
		}
		dx, dy := float64(b[0]-a[0]), float64(b[1]-a[1])
		length := math.Hypot(dx, dy)
		if length == 0 {
			continue
		}
		at := func(d float64) (float32, float32) {
			f := (d - along) / length
			return a[0] + float32(dx*f), a[1] + float32(dy*f)
		}
		for d := math.Floor(along/period) * period; d < along+length; d += period {
			from, to := max(d, along), min(d+dashOn, along+length)
			if to > from {
				x0, y0 := at(from)
				x1, y1 := at(to)
				out = append(out, [4]float32{x0, y0, x1, y1})
			}
		}
		along += length
	}
	return out
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
