package main

import (
	"bytes"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"totalorder/middleware/check"
)

// Only the pure parts are tested here; the benchmark itself starts real
// processes and runs only from main.

func entry(kind check.Kind, msg string, ts int64, seq uint64) check.Entry {
	return check.Entry{Kind: kind, Msg: msg, TS: ts, Seq: seq}
}

// twoMiddlewares: Middleware 1 sends A then B; Middleware 2 gets B before A.
func twoMiddlewares() []check.Incarnation {
	const a, b = "Msg #1 from Middleware 1", "Msg #2 from Middleware 1"
	return []check.Incarnation{
		{MW: 1, Entries: []check.Entry{
			entry(check.Sent, a, 100, 0), entry(check.Received, a, 120, 0), entry(check.Ready, a, 130, 1),
			entry(check.Sent, b, 200, 0), entry(check.Received, b, 210, 0), entry(check.Ready, b, 215, 2),
		}},
		{MW: 2, Entries: []check.Entry{
			entry(check.Received, b, 250, 0), entry(check.Received, a, 400, 0),
			entry(check.Ready, a, 410, 1), entry(check.Ready, b, 420, 2),
		}},
	}
}

func us(v ...int64) []time.Duration {
	var out []time.Duration
	for _, x := range v {
		out = append(out, time.Duration(x)*time.Microsecond)
	}
	return out
}

func TestDeliverySamples(t *testing.T) {
	incs := twoMiddlewares()
	latency, sendOrder := deliverySamples(incs)
	if want := us(30, 15, 310, 220); !slices.Equal(latency, want) {
		t.Errorf("latency = %v, want %v", latency, want)
	}
	// Middleware 2 had B at 250 but A, sent first, only at 400: the
	// clairvoyant protocol delivers both at 400.
	if want := us(20, 10, 300, 200); !slices.Equal(sendOrder, want) {
		t.Errorf("send-order bound = %v, want %v", sendOrder, want)
	}

	// The checker summarises the same definitions.
	rep, err := check.Check(incs, check.Options{Agreement: true})
	if err != nil {
		t.Fatal(err)
	}
	mean := func(d []time.Duration) time.Duration {
		var sum time.Duration
		for _, v := range d {
			sum += v
		}
		return sum / time.Duration(len(d))
	}
	if got, want := mean(latency), rep.Overall.Latency.Ready.Mean; got != want {
		t.Errorf("mean latency %v, checker says %v", got, want)
	}
	if got, want := mean(sendOrder), rep.Overall.Latency.SendOrder.Mean; got != want {
		t.Errorf("mean send-order bound %v, checker says %v", got, want)
	}
}

func TestCDF(t *testing.T) {
	samples := us(5, 1, 3, 2, 4)
	got := cdf(slices.Clone(samples), 10)
	want := []cdfPoint{{us(1)[0], 0.2}, {us(2)[0], 0.4}, {us(3)[0], 0.6}, {us(4)[0], 0.8}, {us(5)[0], 1}}
	if !slices.Equal(got, want) {
		t.Errorf("cdf = %v, want %v", got, want)
	}
	// Thinned: evenly spaced ranks, the largest sample last.
	got = cdf(slices.Clone(samples), 2)
	want = []cdfPoint{{us(3)[0], 0.6}, {us(5)[0], 1}}
	if !slices.Equal(got, want) {
		t.Errorf("cdf with 2 points = %v, want %v", got, want)
	}
	if got := cdf(nil, 10); got != nil {
		t.Errorf("cdf of nothing = %v", got)
	}
}

func TestReadyRates(t *testing.T) {
	rates := readyRates(twoMiddlewares(), 0, 400)
	// In [0, 400 µs): Middleware 1 delivered 2, Middleware 2 none.
	if rates[1] != 2/400e-6 || rates[2] != 0 {
		t.Errorf("rates = %v", rates)
	}
	mean, least := meanMin(rates)
	if mean != 1/400e-6 || least != 0 {
		t.Errorf("meanMin = %v, %v", mean, least)
	}
}

func TestFormatting(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 25000: "25,000", 1234567.4: "1,234,567"} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		250 * time.Microsecond: "0.250", 1500 * time.Microsecond: "1.50",
		61800 * time.Microsecond: "61.8", 2113 * time.Millisecond: "2113",
	} {
		if got := ms(d); got != want {
			t.Errorf("ms(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTable(t *testing.T) {
	tb := table{Title: "T", Header: []string{"protocol", "n", "ratio"},
		Rows: [][]string{{"sequencer", "5", "1.02×"}, {"isis", "16", "2.10×"}}}
	var text bytes.Buffer
	tb.writeText(&text)
	wantText := "T\n" +
		"protocol    n  ratio\n" +
		"sequencer   5  1.02×\n" +
		"isis       16  2.10×\n"
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
	var md bytes.Buffer
	tb.writeMarkdown(&md)
	wantMD := "| protocol | n | ratio |\n" +
		"|---|---:|---:|\n" +
		"| sequencer | 5 | 1.02× |\n" +
		"| isis | 16 | 2.10× |\n"
	if md.String() != wantMD {
		t.Errorf("markdown:\n%s\nwant:\n%s", md.String(), wantMD)
	}
}

func TestTargets(t *testing.T) {
	res := &results{
		Latency: []latencyRow{
			{Protocol: protocolSequencer, MaxSleep: 500 * time.Millisecond, PerSecond: moderatePerSecond, Messages: 500,
				Latency: check.Latency{Ratio: 1.03}},
			{Protocol: protocolISIS, MaxSleep: 500 * time.Millisecond, PerSecond: moderatePerSecond, Messages: 500,
				Latency: check.Latency{Ratio: 1.8}},
		},
		Throughput: []throughputRow{{Protocol: protocolSequencer, N: 5, Reuse: true, Messages: 1, Ordered: 30000, Raw: 100000}},
	}
	tb := targetsTable(res)
	// Rows nothing was measured for are left out.
	if len(tb.Rows) != 3 {
		t.Fatalf("rows = %q", tb.Rows)
	}
	want := [][]string{
		{"1.03× met", "1.80× MISSED"},
		{"30,000/s met", "-"},
		{"0.30 MISSED", "-"},
	}
	for i, w := range want {
		if got := tb.Rows[i][1:]; !slices.Equal(got, w) {
			t.Errorf("row %q: got %q, want %q", tb.Rows[i][0], got, w)
		}
	}
	var md bytes.Buffer
	writeMarkdown(&md, res, nil)
	for _, s := range []string{"## Targets", "## Latency", "## Throughput", "| sequencer | reuse |"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestChartPNG(t *testing.T) {
	c := chart{Title: "t", XLabel: "x", YLabel: "y", Width: 320, Height: 200, YFrom0: true,
		Series: []series{
			{Name: "a", Color: colorBlue, Points: [][2]float64{{0, 0}, {1, 0.5}, {2, 1}}},
			{Name: "b", Color: colorOrange, Dashed: true, Markers: true, Points: [][2]float64{{0, 1}, {2, 0}}},
		}}
	var buf bytes.Buffer
	if err := encodePNG(&buf, c.draw()); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 200 {
		t.Fatalf("size %v, want 320x200", b)
	}
	// Some pixel carries the first series' colour.
	found := false
	for y := 0; y < 200 && !found; y++ {
		for x := 0; x < 320 && !found; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			found = r>>8 == uint32(colorBlue.R) && g>>8 == uint32(colorBlue.G) && b>>8 == uint32(colorBlue.B)
		}
	}
	if !found {
		t.Error("no pixel of the first series' colour")
	}
}

func TestNiceTicks(t *testing.T) {
	from, to, ticks := niceTicks(0.3, 97, 5)
	if from != 0 || to != 100 || !slices.Equal(ticks, []float64{0, 20, 40, 60, 80, 100}) {
		t.Errorf("niceTicks(0.3, 97) = %v, %v, %v", from, to, ticks)
	}
	if got := tickLabel(25000, []float64{0, 25000}); got != "25,000" {
		t.Errorf("tickLabel = %q", got)
	}
	if got := tickLabel(0.25, []float64{0, 0.25, 0.5}); got != "0.25" {
		t.Errorf("tickLabel = %q", got)
	}
}

func TestFailedRunRow(t *testing.T) {
	rows := []throughputRow{{Protocol: protocolSequencer, N: 16, Reuse: true, verdict: verdict{Verdict: runFailed, Failed: true}}}
	got := scaleTable(rows).Rows[0]
	want := []string{"sequencer", "16", "0", "-", "-", "-", "-", "run failed"}
	if !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	var md bytes.Buffer
	writeMarkdown(&md, &results{Failures: []failure{{Step: "s", What: "run failed: x", Logs: "/somewhere/logs"}}}, nil)
	if strings.Contains(md.String(), "/somewhere") || !strings.Contains(md.String(), "- s: run failed: x") {
		t.Errorf("failures in the report:\n%s", md.String())
	}
}
