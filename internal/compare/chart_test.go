package compare

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"totalorder/timeline"
)

func TestChart(t *testing.T) {
	r := exampleResult(true)
	sc := r.Chart()
	var bars []timeline.Rect
	for _, rc := range sc.Rects {
		for _, c := range barCols {
			if rc.Fill == c && rc.Y > plotTop-1 && rc.Y+rc.H <= plotBottom+0.01 && rc.H > 0 {
				bars = append(bars, rc)
			}
		}
	}
	// raft and isis: four bars; lamport (not run): none; none: two (its
	// ordering latency is 0, so two bars of height 0 are left out).
	if len(bars) != 4+4+2 {
		t.Fatalf("%d bars, want 10", len(bars))
	}
	// Heights follow the values: raft's ordering p99 (45 ms) is 3.75
	// times its mean (12 ms); isis's end-to-end p99 (3.5 s) is the top.
	if h := bars[1].H / bars[0].H; h < 3.7 || h > 3.8 {
		t.Errorf("raft's p99/mean bar ratio %.2f, want 3.75", h)
	}
	if top := bars[7]; top.Fill != e2eHi || top.Y > plotTop+0.5*(plotBottom-plotTop) {
		t.Errorf("isis's end-to-end p99 bar %+v is not the tall one", top)
	}
	texts := map[string]color.NRGBA{}
	for _, tx := range sc.Texts {
		texts[tx.S] = tx.Color
	}
	for s, c := range map[string]color.NRGBA{"DIFFERS at #7": red, "same order": green, "pause: went on": grey,
		"pause: stopped": grey, "3.5 control msgs / msg": grey, "no deliveries": red, "not run": grey, "none (orders nothing)": black} {
		if got, ok := texts[s]; !ok || got != c {
			t.Errorf("text %q: colour %v (present %v), want %v", s, got, ok, c)
		}
	}
	for _, tx := range sc.Texts {
		if w := textWidth(tx.S, tx.Size, tx.Bold); tx.X < 0 || tx.X+w > sc.W {
			t.Errorf("text %q (x %.0f, width %.0f) leaves the %v-wide chart", tx.S, tx.X, w, sc.W)
		}
	}
}

func TestChartFiles(t *testing.T) {
	r := exampleResult(false)
	dir := t.TempDir()
	paths, err := r.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Fatalf("wrote %v", paths)
	}
	data, err := os.ReadFile(filepath.Join(dir, "compare.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 2*chartW, 2*chartH) {
		t.Fatalf("PNG %v", img.Bounds())
	}
	// The middle of raft's end-to-end p99 bar is painted in its colour.
	var bar timeline.Rect
	for _, rc := range r.Chart().Rects {
		if rc.Fill == e2eHi {
			bar = rc
			break
		}
	}
	px := color.NRGBAModel.Convert(img.At(int(2*(bar.X+bar.W/2)), int(2*(bar.Y+bar.H/2)))).(color.NRGBA)
	if px != e2eHi {
		t.Errorf("bar's middle is %v, want %v", px, e2eHi)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "compare.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("DIFFERS at #7")) {
		t.Errorf("SVG: %.200s", svg)
	}
	md, err := os.ReadFile(filepath.Join(dir, "compare.md"))
	if err != nil || !strings.Contains(string(md), r.Table()) {
		t.Errorf("compare.md lacks the table (%v)", err)
	}
}

func TestNiceMax(t *testing.T) {
	for _, c := range []struct{ v, top, step float64 }{{0, 1, 0.2}, {3044, 4000, 1000}, {2400, 2500, 500}, {486, 500, 100}, {45, 50, 10}, {1000, 1000, 200}} {
		if top, step := niceMax(c.v); top != c.top || step != c.step {
			t.Errorf("niceMax(%v) = %v, %v; want %v, %v", c.v, top, step, c.top, c.step)
		}
	}
}
