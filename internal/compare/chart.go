package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"totalorder/middleware/check"
	"totalorder/timeline"
)

// The chart is a timeline.Scene (rectangles, lines, texts), so the
// timeline's painter makes the PNG and its SVG writer the SVG: one
// rasteriser for the repository's pictures.

var (
	white    = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	black    = color.NRGBA{0x20, 0x20, 0x20, 0xff}
	grey     = color.NRGBA{0x60, 0x60, 0x60, 0xff}
	grid     = color.NRGBA{0xe2, 0xe2, 0xe2, 0xff}
	green    = color.NRGBA{0x1a, 0x8a, 0x3a, 0xff}
	red      = color.NRGBA{0xc0, 0x10, 0x10, 0xff}
	orderLo  = color.NRGBA{0x9e, 0xca, 0xe1, 0xff} // ordering mean
	orderHi  = color.NRGBA{0x31, 0x82, 0xbd, 0xff} // ordering p99
	e2eLo    = color.NRGBA{0xfd, 0xae, 0x6b, 0xff} // end-to-end mean
	e2eHi    = color.NRGBA{0xe6, 0x55, 0x0d, 0xff} // end-to-end p99
	barNames = []string{"ordering mean", "ordering p99", "end-to-end mean", "end-to-end p99"}
	barCols  = []color.NRGBA{orderLo, orderHi, e2eLo, e2eHi}
)

// Chart size, in scene units (the PNG is painted at twice this).
const (
	chartW     = 960
	chartH     = 490
	plotLeft   = 70
	plotRight  = chartW - 20
	plotTop    = 100
	plotBottom = chartH - 100
)

var (
	measureMu sync.Mutex
	measure   = timeline.NewPainter(nil, nil)
)

// textWidth measures s as the painter draws it (the Go fonts).
func textWidth(s string, size float32, bold bool) float32 {
	measureMu.Lock()
	defer measureMu.Unlock()
	return measure.TextWidth(s, size, bold)
}

// niceMax rounds v up to 1, 2, 2.5 or 5 times a power of ten and gives
// the tick step (about 5 ticks).
func niceMax(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.2
	}
	raw := v / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * pow
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// label formats a bar's value in ms.
func label(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// Chart draws the comparison: per protocol, bars for the ordering and
// end-to-end latencies (mean and p99), and under them whether the Ready
// lists agree and what happened during the pause.
func (r *Result) Chart() *timeline.Scene {
	sc := &timeline.Scene{W: chartW, H: chartH}
	text := func(x, y float32, s string, size float32, c color.NRGBA, bold bool) {
		sc.Texts = append(sc.Texts, timeline.Text{X: x, Y: y, S: s, Size: size, Color: c, Bold: bold})
	}
	centred := func(x, y float32, s string, size float32, c color.NRGBA, bold bool) {
		text(x-textWidth(s, size, bold)/2, y, s, size, c, bold)
	}
	rect := func(x, y, w, h float32, c color.NRGBA) {
		sc.Rects = append(sc.Rects, timeline.Rect{X: x, Y: y, W: w, H: h, Fill: c})
	}
	line := func(x1, y1, x2, y2 float32, c color.NRGBA, w float32) {
		sc.Lines = append(sc.Lines, timeline.Line{X1: x1, Y1: y1, X2: x2, Y2: y2, Color: c, Width: w})
	}

	centred(chartW/2, 10, "Total-order protocols compared: the same workload under each", 17, black, true)
	centred(chartW/2, 34, r.chartSubtitle(), 12, grey, false)
	// Legend.
	x := float32(plotLeft)
	for i, name := range barNames {
		rect(x, 62, 14, 14, barCols[i])
		text(x+19, 62, name, 12, black, false)
		x += 19 + textWidth(name, 12, false) + 24
	}
	text(x+6, 62, "latency in ms", 12, grey, false)

	// Axis.
	var top float64
	for _, row := range r.Rows {
		ord, e2e := row.Latencies()
		top = max(top, msf(ord.P99), msf(e2e.P99))
	}
	top, step := niceMax(top)
	toY := func(v float64) float32 { return plotBottom - float32(v/top)*(plotBottom-plotTop) }
	for v := 0.0; v <= top+step/2; v += step {
		y := toY(v)
		line(plotLeft, y, plotRight, y, grid, 1)
		s := label(v)
		if step >= 1 {
			s = fmt.Sprintf("%.0f", v)
		}
		text(plotLeft-8-textWidth(s, 11, false), y-7, s, 11, grey, false)
	}
	line(plotLeft, plotBottom, plotRight, plotBottom, black, 1)
	line(plotLeft, plotTop, plotLeft, plotBottom, black, 1)

	if len(r.Rows) == 0 {
		return sc
	}
	gw := float32(plotRight-plotLeft) / float32(len(r.Rows))
	bw := min(gw*0.8/4, 48)
	for g, row := range r.Rows {
		cx := plotLeft + gw*(float32(g)+0.5)
		ord, e2e := row.Latencies()
		vals := []check.Stats{ord, ord, e2e, e2e}
		for b, st := range vals {
			bx := cx - 2*bw + float32(b)*bw
			if row.Err != "" || st.Count == 0 {
				continue
			}
			v := msf(st.Mean)
			if b%2 == 1 {
				v = msf(st.P99)
			}
			y := toY(v)
			rect(bx+1, y, bw-2, plotBottom-y, barCols[b])
			centred(bx+bw/2, y-14, label(v), 10, black, false)
		}
		if row.Err != "" || ord.Count+e2e.Count == 0 {
			centred(cx, plotBottom-30, "no deliveries", 12, red, false)
		}
		name := row.Protocol
		if !row.Orders {
			name += " (orders nothing)"
		}
		centred(cx, plotBottom+10, name, 14, black, true)
		mark, c := row.agreementMark()
		w := textWidth(mark, 12, true)
		rect(cx-w/2-16, plotBottom+33, 11, 11, c)
		text(cx-w/2, plotBottom+31, mark, 12, c, true)
		centred(cx, plotBottom+52, row.progressMark(), 12, grey, false)
		if row.Err == "" {
			centred(cx, plotBottom+70, fmt.Sprintf("%.1f control msgs / msg", row.ControlPerMsg), 12, grey, false)
		}
	}
	return sc
}

// chartSubtitle is a short Summary.
func (r *Result) chartSubtitle() string {
	s := fmt.Sprintf("%d senders × %d messages, maxSleep %v, seed %d", r.N, r.Each, r.MaxSleep, r.Seed)
	if r.Pause > 0 {
		who := "the leader"
		if r.PauseID > 0 {
			who = fmt.Sprintf("Middleware %d", r.PauseID)
		}
		s += fmt.Sprintf("; %s paused %s mid-run; latencies at the others", who, secs(r.Pause))
	}
	return s
}

// agreementMark is the chart's agreement label and its colour.
func (r Row) agreementMark() (string, color.NRGBA) {
	switch {
	case r.Err != "":
		return "not run", grey
	case r.Agreement.At != 0:
		return fmt.Sprintf("DIFFERS at #%d", r.Agreement.At), red
	case !r.Agreement.OK:
		return "checker: violation", red
	}
	return "same order", green
}

// progressMark is the chart's label under the agreement: the pause's
// outcome, or whether everything was delivered.
func (r Row) progressMark() string {
	switch {
	case r.Err != "":
		return ""
	case r.Pause != nil:
		return "pause: " + r.Pause.Short()
	case r.Complete:
		return "all delivered"
	}
	return "stalled"
}

// PNG paints the chart as a PNG at twice its size.
func (r *Result) PNG() ([]byte, error) {
	img := timeline.NewPainter(nil, nil).Paint(r.Chart(), 2, white)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SVG draws the chart as SVG.
func (r *Result) SVG() ([]byte, error) {
	var b bytes.Buffer
	err := timeline.WriteSVG(&b, r.Chart(), white)
	return b.Bytes(), err
}

// WriteFiles writes compare.md (the report with the table), compare.json,
// compare.png and compare.svg into dir and returns their paths.
func (r *Result) WriteFiles(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	pngData, err := r.PNG()
	if err != nil {
		return nil, err
	}
	svg, err := r.SVG()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"compare.md", []byte(r.Markdown())},
		{"compare.json", append(js, '\n')},
		{"compare.png", pngData},
		{"compare.svg", svg},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
