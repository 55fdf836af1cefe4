package main

import (
	"bytes"
	"errors"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
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
		t.Errorf("send-order reference = %v, want %v", sendOrder, want)
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
		t.Errorf("mean send-order reference %v, checker says %v", got, want)
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
	for n, want := range map[int]string{999: "999", 9999: "9,999", 20_000: "20k", 22_250: "22k", 100_000: "100k", 1_000_000: "1M", 1_500_000: "1.5M", 1_049_999: "1M", 1_050_000: "1.1M"} {
		if got := short(n); got != want {
			t.Errorf("short(%d) = %q, want %q", n, got, want)
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

// sampleResults is a run of every section with figures chosen to hit
// each side of every target.
func sampleResults() *results {
	ms := time.Millisecond
	lat := func(p string, fsync bool, maxSleep time.Duration, perSecond float64, mean, p50, p99 time.Duration, ratio float64) latencyRow {
		return latencyRow{Protocol: p, Fsync: fsync, MaxSleep: maxSleep, PerSecond: perSecond, Messages: 500,
			Latency: check.Latency{Ready: check.Stats{Mean: mean, P50: p50, P99: p99}, Ratio: ratio}, verdict: verdict{Verdict: "OK"}}
	}
	thr := func(p string, fsync bool, n int, reuse bool, ordered float64, p99 time.Duration) throughputRow {
		return throughputRow{Protocol: p, Fsync: fsync, N: n, Reuse: reuse, Messages: 1000, Ordered: ordered,
			Latency: check.Latency{Ready: check.Stats{P99: p99}}, verdict: verdict{Verdict: "OK"}}
	}
	// samples grow by perMessage bytes a message from 30 MB at 100k.
	samples := func(perMessage int64, upTo int) []rssSample {
		var out []rssSample
		for d := 100_000; d <= upTo; d += 100_000 {
			out = append(out, rssSample{Delivered: d, RSS: 30_000_000 + perMessage*int64(d-100_000)})
		}
		return out
	}
	unordered := func(r latencyRow, differ int) latencyRow {
		r.verdict = verdict{Verdict: unorderedCell(differ), Unordered: true, Differ: differ}
		return r
	}
	pair := func(k int, off bool, ordered float64) throughputRow {
		r := thr(protocolRaft, false, 5, true, ordered, 50*ms)
		r.Pair, r.NoAgreementCheck, r.MWCores, r.ControlSent = k, off, ordered/100_000, 1000
		if !off {
			r.ControlSent = 1080
		}
		return r
	}
	mem := func(p string, messages int, s []rssSample) memoryRow {
		return memoryRow{Protocol: p, Kind: "headless", Messages: messages, RSS: s[len(s)-1].RSS, Samples: s, verdict: verdict{Verdict: "OK"}}
	}
	return &results{
		StateFS: "ext4",
		Latency: []latencyRow{
			lat(protocolRaft, false, 500*ms, moderatePerSecond, 400*ms, 400*ms, 490*ms, 1.01),
			lat(protocolRaft, false, 0, lightPerSecond, 900*time.Microsecond, 800*time.Microsecond, 3*ms, 1.5),
			lat(protocolRaft, true, 0, lightPerSecond, 5*ms, 4*ms, 12*ms, 9),
			lat(protocolSequencer, false, 500*ms, moderatePerSecond, 410*ms, 400*ms, 495*ms, 1.03),
			lat(protocolSequencer, false, 0, lightPerSecond, 400*time.Microsecond, 300*time.Microsecond, 1*ms, 1.2),
			lat(protocolISIS, false, 500*ms, moderatePerSecond, 720*ms, 700*ms, 900*ms, 1.8),
			lat(protocolISIS, false, 0, lightPerSecond, 3*ms, 2500*time.Microsecond, 6*ms, 2),
			lat(protocolLamport, false, 500*ms, moderatePerSecond, 600*ms, 590*ms, 800*ms, 1.5),
			lat(protocolLamport, false, 0, lightPerSecond, 1300*time.Microsecond, 1200*time.Microsecond, 2*ms, 1.9),
			unordered(lat(protocolNone, false, 500*ms, moderatePerSecond, 250*ms, 240*ms, 480*ms, 0.64), 37),
			unordered(lat(protocolNone, false, 0, lightPerSecond, 310*time.Microsecond, 300*time.Microsecond, 600*time.Microsecond, 1), 12),
		},
		Throughput: []throughputRow{
			thr(protocolRaft, false, 5, true, 60_000, 100*ms),
			thr(protocolRaft, true, 5, true, 10_000, 400*ms),
			thr(protocolSequencer, false, 5, true, 30_000, 50*ms),
			thr(protocolLamport, false, 5, true, 40_000, 80*ms),
		},
		// Costs 1 %, -1 % and 2 %; pair 4 has no run without the check.
		Agreement: []throughputRow{
			pair(1, false, 99_000), pair(1, true, 100_000),
			pair(2, true, 100_000), pair(2, false, 101_000),
			pair(3, false, 98_000), pair(3, true, 100_000),
			pair(4, false, 97_000),
		},
		Scale: []throughputRow{
			thr(protocolRaft, false, 3, true, 70_000, 20*ms),
			thr(protocolSequencer, false, 3, true, 35_000, 20*ms),
		},
		Memory: []memoryRow{
			mem(protocolRaft, 1_000_000, samples(2, 1_000_000)),
			mem(protocolSequencer, 1_000_000, samples(50, 1_000_000)),
			mem(protocolISIS, 100_000, []rssSample{{20_000, 20_000_000}, {100_000, 21_000_000}}),
		},
		Failover: []failoverRow{
			{Protocol: protocolRaft, Resume: 400 * ms, Verdict: "OK"},
			{Protocol: protocolRaft, Resume: 1200 * ms, Verdict: "OK"},
			{Protocol: protocolRaft, Resume: 700 * ms, Verdict: "OK"},
			{Protocol: protocolRaft, Verdict: runFailed},
		},
	}
}

func TestTargets(t *testing.T) {
	tb := targetsTable(sampleResults())
	// none orders nothing: no targets of its own.
	if want := []string{"target", "raft", "sequencer", "isis", "lamport"}; !slices.Equal(tb.Header, want) {
		t.Errorf("header %q, want %q", tb.Header, want)
	}
	// No run at maxSleep 2s: that row is left out.
	want := [][]string{
		{"1.01× met", "1.03× MISSED", "1.80× MISSED", "1.50× MISSED"},
		{"0.800 ms met", "0.300 ms met", "2.50 ms MISSED", "1.20 ms met"},
		// The -fsync run (10,000/s) is not raft's figure.
		{"60,000/s met", "30,000/s MISSED", "-", "40,000/s MISSED"},
		// The median of the runs that completed; the failed one is left out.
		{"700 ms met", cannotFailOver, cannotFailOver, cannotFailOver},
		// (growth over the second half of the run)
		{"31.8 MB (30.8 at 500k, peak 31.8; +2.0 B/msg) met",
			"75.0 MB (50.0 at 500k, peak 75.0; +50.0 B/msg) not flat MISSED",
			"21.0 MB (21.0 at 100k, peak 21.0; +0.0 B/msg) after 100k, not judged", "-"},
		// The median pair's cost, with the range; pair 4 is incomplete.
		{"1.0 % (-1.0 % to 2.0 %) met", "-", "-", "-"},
	}
	if len(tb.Rows) != len(want) {
		t.Fatalf("rows = %q", tb.Rows)
	}
	for i, w := range want {
		if got := tb.Rows[i][1:]; !slices.Equal(got, w) {
			t.Errorf("row %q:\n got %q\nwant %q", tb.Rows[i][0], got, w)
		}
	}
	for i, prefix := range []string{"mean latency ≤ 1.02× the send-order reference at maxSleep 500ms", "median latency < 2ms",
		"≥ 50,000 ordered deliveries/s per mw at n=5", "median time until deliveries resume after kill -9 of the leader ≤ 1s",
		"headless resident memory < 60 MB after 1,000,000 messages, and flat",
		"the live agreement check costs < 2.0 % of the ordered throughput"} {
		if !strings.HasPrefix(tb.Rows[i][0], prefix) {
			t.Errorf("row %d is %q, want it to start %q", i, tb.Rows[i][0], prefix)
		}
	}

	// Over 60 MB after a million, however flat, misses.
	res := &results{Memory: []memoryRow{{Protocol: protocolRaft, Kind: "headless", Messages: 1_000_000, RSS: 61_000_000,
		Samples: []rssSample{{100_000, 61_000_000}, {1_000_000, 61_000_000}}}}}
	if got := targetsTable(res).Rows[0][1]; !strings.HasSuffix(got, " MISSED") || strings.Contains(got, "not flat") {
		t.Errorf("61 MB flat: %q", got)
	}
	// The baselines' "cannot" alone is not a measurement.
	if rows := targetsTable(&results{}).Rows; len(rows) != 0 {
		t.Errorf("nothing measured, yet rows %q", rows)
	}
}

func TestMemoryGrowth(t *testing.T) {
	// Growth is judged over the second half: from the sample at half the
	// messages (200 of 400) to the last; the first half fills windows.
	r := memoryRow{Samples: []rssSample{{100, 500}, {200, 1000}, {300, 3000}, {400, 2000}}}
	first, last, peak, perMessage := r.growth()
	if first.RSS != 1000 || last.RSS != 2000 || peak.RSS != 3000 || perMessage != 5 {
		t.Errorf("growth = %v %v %v %v", first, last, peak, perMessage)
	}
	if !r.flat() {
		t.Error("5 B/message is flat")
	}
	r.Samples[3].RSS = 1000 + 11*200
	if r.flat() {
		t.Error("11 B/message is not flat")
	}
	if (memoryRow{Samples: r.Samples[:1]}).flat() {
		t.Error("one sample says nothing about flatness")
	}

	// The sampler samples once per step passed, however far past.
	s := &rssSampler{every: 10, next: 10}
	for _, d := range []int{5, 12, 13, 35, 39, 40} {
		if err := s.observe(d); err != nil {
			t.Fatal(err)
		}
	}
	var at []int
	for _, x := range s.samples {
		at = append(at, x.Delivered)
	}
	if want := []int{12, 35, 40}; !slices.Equal(at, want) {
		t.Errorf("sampled at %v, want %v", at, want)
	}
}

// execTemplate runs one of report.md.tmpl's templates on res.
func execTemplate(t *testing.T, name string, res *results) string {
	t.Helper()
	var b strings.Builder
	if err := reportTmpl.ExecuteTemplate(&b, name, newReportView(res, nil)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func rowsByName(tb table) map[string][]string {
	byName := map[string][]string{}
	for _, r := range tb.Rows {
		byName[r[0]] = r[1:]
	}
	return byName
}

func TestCostTable(t *testing.T) {
	tb := costTable(sampleResults())
	if want := []string{"measure", "raft", "sequencer", "isis", "lamport", "none (unordered)",
		"raft ÷ sequencer", "raft ÷ isis", "raft ÷ lamport"}; !slices.Equal(tb.Header, want) {
		t.Errorf("header %q, want %q", tb.Header, want)
	}
	byName := rowsByName(tb)
	want := map[string][]string{
		// none, the floor, has latency figures and no ratio.
		"mean latency ms at maxSleep 500ms (÷ send-order reference)": {"400 (1.01×)", "410 (1.03×)", "720 (1.80×)", "600 (1.50×)", "250 (0.64×)", "0.98×", "0.56×", "0.67×"},
		"median latency ms at light load":                            {"0.800", "0.300", "2.50", "1.20", "0.300", "2.67×", "0.32×", "0.67×"},
		"ordered deliveries/s per mw, n=5, reuse connections":        {"60,000", "30,000", "-", "40,000", "-", "2.00×", "-", "1.50×"},
		"p99 latency ms under saturation, n=5, reuse connections":    {"100", "50.0", "-", "80.0", "-", "2.00×", "-", "1.25×"},
		"ordered deliveries/s per mw, n=3":                           {"70,000", "35,000", "-", "-", "-", "2.00×", "-", "-"},
		"deliveries resume after kill -9 of the leader (median)":     {"700 ms", cannotFailOver, cannotFailOver, cannotFailOver, "-", "-", "-", "-"},
	}
	for name, w := range want {
		if got, ok := byName[name]; !ok || !slices.Equal(got, w) {
			t.Errorf("%q:\n got %q\nwant %q", name, got, w)
		}
	}
	// Nothing compares in the per-message mode: no row.
	if _, ok := byName["ordered deliveries/s per mw, n=5, per message connections"]; ok {
		t.Error("a row with nothing to compare")
	}

	p := execTemplate(t, "consensus", sampleResults())
	for _, s := range []string{"raft ordered 60,000 deliveries/s per middleware: 2.00× the sequencer's 30,000 and 1.50× Lamport's 40,000.",
		"Its p99 latency under that load was 100 ms (the sequencer 50.0 ms, Lamport 80.0 ms).",
		"At maxSleep 500ms its mean latency was 1.01× the send-order reference (the sequencer 1.03×, ISIS 1.80×, Lamport 1.50×; none, no ordering at all, 0.64×).",
		"median/p99 latency was 0.800/3.00 ms (the sequencer 0.300/1.00 ms, ISIS 2.50/6.00 ms, Lamport 1.20/2.00 ms; none 0.300/0.600 ms).",
		"deliveries resumed after 700 ms, median), where the sequencer, ISIS and Lamport stop by design."} {
		if !strings.Contains(p, s) {
			t.Errorf("paragraph lacks %q:\n%s", s, p)
		}
	}
	if p := execTemplate(t, "consensus", &results{Latency: sampleResults().Latency[:1]}); p != "" {
		t.Errorf("raft alone compares with nothing, yet: %q", p)
	}
}

func TestLamportTable(t *testing.T) {
	res := sampleResults()
	tb := lamportTable(res)
	if want := []string{"measure", "lamport", "isis", "raft", "none (unordered)", "lamport ÷ isis", "lamport ÷ raft"}; !slices.Equal(tb.Header, want) {
		t.Errorf("header %q, want %q", tb.Header, want)
	}
	byName := rowsByName(tb)
	want := map[string][]string{
		"mean latency ms at maxSleep 500ms (÷ send-order reference)": {"600 (1.50×)", "720 (1.80×)", "400 (1.01×)", "250 (0.64×)", "0.83×", "1.50×"},
		"p99 latency ms at light load":                               {"2.00", "6.00", "3.00", "0.600", "0.33×", "0.67×"},
		"ordered deliveries/s per mw, n=5, reuse connections":        {"40,000", "-", "60,000", "-", "-", "0.67×"},
		"deliveries resume after kill -9 of the leader (median)":     {cannotFailOver, cannotFailOver, "700 ms", "-", "-", "-"},
	}
	for name, w := range want {
		if got, ok := byName[name]; !ok || !slices.Equal(got, w) {
			t.Errorf("%q:\n got %q\nwant %q", name, got, w)
		}
	}
	p := execTemplate(t, "lamport", res)
	for _, s := range []string{
		"At maxSleep 500ms Lamport's mean latency was 600 ms, 1.50× the send-order reference (ISIS 720 ms, 1.80×; raft 400 ms, 1.01×; none, no ordering at all, 250 ms).",
		"At light load (maxSleep 0) its median/p99 latency was 1.20/2.00 ms (ISIS 2.50/6.00 ms, raft 0.800/3.00 ms; none 0.300/0.600 ms).",
		"Saturated at n=5 it ordered 40,000 deliveries/s per middleware: 0.67× raft's 60,000, with a p99 of 80.0 ms."} {
		if !strings.Contains(p, s) {
			t.Errorf("paragraph lacks %q:\n%s", s, p)
		}
	}
	if p := execTemplate(t, "lamport", &results{Latency: res.Latency[:2]}); p != "" {
		t.Errorf("no Lamport run, yet: %q", p)
	}
}

func TestAgreementCost(t *testing.T) {
	res := sampleResults()
	c, ok := measureAgreementCost(res.Agreement)
	var costs []string
	for _, v := range c.Costs {
		costs = append(costs, pct(v))
	}
	if !ok || c.Pairs != 3 || !slices.Equal(costs, []string{"1.0 %", "-1.0 %", "2.0 %"}) ||
		pct(c.Median) != "1.0 %" || pct(c.Lo) != "-1.0 %" || pct(c.Hi) != "2.0 %" || c.Verdict() != "met" || pct(c.Spread()) != "3.0 %" {
		t.Errorf("cost %+v", c)
	}
	if count(c.With) != "99,333" || c.Without != 100_000 {
		t.Errorf("means %+v", c)
	}
	if c.CPUWith != 10*time.Microsecond || c.CPUWithout != 10*time.Microsecond || c.CPUMedian != 0 || c.CPULo != 0 || c.CPUHi != 0 {
		t.Errorf("processor time per message %v, %v: %+v", c.CPUWith, c.CPUWithout, c)
	}
	// Judged by every pair when they agree, by the median when they
	// spread over at most twice the target, else not resolved.
	for _, tc := range []struct {
		costs []float64
		want  string
	}{
		{[]float64{0.5, 1.9, -1}, "met"},
		{[]float64{2.5, 3, 9}, "MISSED"},
		{[]float64{1, 3, 1.5}, "met"},
		{[]float64{1, 3, 2.5}, "MISSED"},
		{[]float64{-5, 10, 1}, "not resolved"},
	} {
		c := agreementCost{Target: targetAgreementCost}
		c.Median, c.Lo, c.Hi = medianRange(tc.costs)
		if got := c.Verdict(); got != tc.want {
			t.Errorf("costs %v: %s, want %s", tc.costs, got, tc.want)
		}
	}
	// An even number of pairs: the median is between the middle two.
	if c, _ := measureAgreementCost(res.Agreement[:4]); math.Abs(c.Median) > 1e-9 {
		t.Errorf("median of 1 and -1: %v", c.Median)
	}
	if _, ok := measureAgreementCost(res.Agreement[6:]); ok {
		t.Error("a pair without its other half measured something")
	}

	tb := agreementTable(res)
	want := [][]string{
		{"1", "on", "1,000", "99,000", "1.0 %", "10.00", "1.08", "-", "ok"},
		{"1", "off", "1,000", "100,000", "", "10.00", "1.00", "-", "ok"},
		{"2", "off", "1,000", "100,000", "", "10.00", "1.00", "-", "ok"},
		{"2", "on", "1,000", "101,000", "-1.0 %", "10.00", "1.08", "-", "ok"},
		{"3", "on", "1,000", "98,000", "2.0 %", "10.00", "1.08", "-", "ok"},
		{"3", "off", "1,000", "100,000", "", "10.00", "1.00", "-", "ok"},
		{"4", "on", "1,000", "97,000", "-", "10.00", "1.08", "-", "ok"},
	}
	if !slices.EqualFunc(tb.Rows, want, slices.Equal) {
		t.Errorf("rows:\n%q\nwant\n%q", tb.Rows, want)
	}
	p := execTemplate(t, "agreement", res)
	for _, s := range []string{"3 times with the check and 3 times without it",
		"The check cost 1.0 % of the ordered throughput: the median of the pairs, which spread from -1.0 % to 2.0 %",
		"on average 99,333 against 100,000 deliveries/s per middleware). That is under the 2.0 % target, judged by the median: the pairs spread over 3.0 percentage points, less than twice the target.",
		"used 10.00 µs per message with the check and 10.00 µs without: 0.0 % more with it (median of the pairs; from 0.0 % to 0.0 %)"} {
		if !strings.Contains(p, s) {
			t.Errorf("paragraph lacks %q:\n%s", s, p)
		}
	}
}

// A cost the noise hides is said to be not resolved, not judged.
func TestAgreementCostNotResolved(t *testing.T) {
	res := sampleResults()
	res.Agreement[3].Ordered = 110_000 // pair 2: -10 %
	c, _ := measureAgreementCost(res.Agreement)
	if c.Verdict() != "not resolved" {
		t.Fatalf("verdict %q for %+v", c.Verdict(), c)
	}
	if p := execTemplate(t, "agreement", res); !strings.Contains(p, "Against the 2.0 % target this is not resolved: the pairs spread over 12.0 percentage points") {
		t.Errorf("paragraph:\n%s", p)
	}
	tb := targetsTable(res)
	if got := tb.Rows[len(tb.Rows)-1][1]; got != "1.0 % (-10.0 % to 2.0 %) not resolved" {
		t.Errorf("target cell %q", got)
	}
}

func TestDifferingPositions(t *testing.T) {
	incs := twoMiddlewares()
	if n := differingPositions(incs); n != 0 {
		t.Errorf("one order, yet %d positions differ", n)
	}
	// Middleware 2 delivers B then A.
	incs[1].Entries[2].Msg, incs[1].Entries[3].Msg = incs[1].Entries[3].Msg, incs[1].Entries[2].Msg
	if n := differingPositions(incs); n != 2 {
		t.Errorf("%d positions differ, want 2", n)
	}
}

func TestFsyncTable(t *testing.T) {
	res := sampleResults()
	tb := fsyncTable(res)
	want := [][]string{
		{"median latency ms at light load (100 msg/s per mw, maxSleep 0)", "0.800", "4.00", "5.00×"},
		{"p99 latency ms at light load (100 msg/s per mw, maxSleep 0)", "3.00", "12.0", "4.00×"},
		{"ordered deliveries/s per mw, n=5, reuse connections", "60,000", "10,000", "0.17×"},
		{"p99 latency ms under saturation", "100", "400", "4.00×"},
	}
	if !slices.EqualFunc(tb.Rows, want, slices.Equal) {
		t.Errorf("rows:\n%q\nwant\n%q", tb.Rows, want)
	}
	if note := execTemplate(t, "fsyncNote", res); !strings.Contains(note, "ext4") {
		t.Errorf("note %q does not name the file system", note)
	}
	res.StateFS = "tmpfs"
	if note := execTemplate(t, "fsyncNote", res); !strings.Contains(note, "understate") {
		t.Errorf("tmpfs note %q does not warn", note)
	}
	// Without -fsync runs, no table.
	res = &results{Latency: res.Latency[:2]}
	if rows := fsyncTable(res).Rows; len(rows) != 0 {
		t.Errorf("rows without -fsync runs: %q", rows)
	}
}

func TestFailoverTable(t *testing.T) {
	tb := failoverTable(sampleResults().Failover)
	want := [][]string{
		{"raft", "1", "400", "0", "0.000", "OK"},
		{"raft", "2", "1200", "0", "0.000", "OK"},
		{"raft", "3", "700", "0", "0.000", "OK"},
		{"raft", "4", "-", "0", "-", runFailed},
		{"raft", "median", "700", "", "", ""},
		{"sequencer", "-", cannotFailOver, "", "", ""},
		{"isis", "-", cannotFailOver, "", "", ""},
		{"lamport", "-", cannotFailOver, "", "", ""},
	}
	if !slices.EqualFunc(tb.Rows, want, slices.Equal) {
		t.Errorf("rows:\n%q\nwant\n%q", tb.Rows, want)
	}
	if rows := failoverTable(nil).Rows; len(rows) != 0 {
		t.Errorf("no runs, yet rows %q", rows)
	}
}

func TestReport(t *testing.T) {
	res := sampleResults()
	res.Steps = []stepRecord{{Name: "a", LoadFrom: 1.5, LoadTo: 3.25}, {Name: "b", LoadFrom: 0.5, LoadTo: 2}}
	res.Notes = []string{"note one", "note two"}
	var md bytes.Buffer
	if err := writeMarkdown(&md, res, map[string]string{"memory-vs-messages.png": "memory-vs-messages.png"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Targets", "## What consensus costs", "## Lamport against ISIS and raft", "## What the live agreement check costs",
		"## What -fsync costs", "## Latency", "## Throughput", "## Memory", "## Fail-over", "## Runs",
		"| raft -fsync | reuse |", "| raft | 500ms |", "| none (unordered) | 500ms |", "| unordered, 37 positions differ |",
		"send-order reference", "lower bound", "then the textbook baselines: the sequencer, ISIS and Lamport.",
		"`-protocol none`, which orders nothing, is measured for latency only",
		"The 1-minute load average ranged from 0.50 to 3.25 on 0 cores", "one message every 100 ms (10/s)",
		"![Resident memory along the run](memory-vs-messages.png)", "100k: 30.0, 200k: 30.2",
		"The sequencer, ISIS and Lamport are not run", "## Notes\n\n- note one\n- note two\n\n## Runs"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	// Rendered whole: no template leftovers, no blank-line runs, one
	// newline at the end.
	for _, s := range []string{"<no value>", "%!", "{{", "\n\n\n"} {
		if strings.Contains(md.String(), s) {
			t.Errorf("report holds %q:\n%s", s, md.String())
		}
	}
	if !strings.HasSuffix(md.String(), "|\n") || strings.HasSuffix(md.String(), "\n\n") {
		t.Errorf("report ends %q", md.String()[max(0, md.Len()-20):])
	}
	if strings.Contains(md.String(), "bound at") || strings.Contains(md.String(), "send-order bound") {
		t.Error("the report still calls the send-order reference a bound")
	}
	// Raft comes first in every table that lists protocols.
	for _, tb := range []table{latencyTable(res.Latency), throughputTable(res.Throughput), memoryTable(res.Memory)} {
		if tb.Rows[0][0] != protocolRaft {
			t.Errorf("%s: first row is %q", tb.Title, tb.Rows[0][0])
		}
	}
	var text bytes.Buffer
	if err := writeTables(&text, res); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"What consensus costs", "What -fsync costs", "Targets", "ext4", "Lamport against ISIS and raft",
		"Lamport's mean latency was 600 ms", "The check cost 1.0 %", "raft ordered 60,000"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("terminal output lacks %q", s)
		}
	}
	c, ok := memoryChart(res)
	if !ok || len(c.Series) != 3 || c.Series[0].Name != protocolRaft || len(c.Series[0].Points) != 10 {
		t.Errorf("memory chart: %v series", len(c.Series))
	}
	// The floor's CDF has no reference line: it orders nothing.
	res.Latency[0].samples, res.Latency[0].sendOrderSamples = us(1, 2), us(1, 2)
	res.Latency[9].samples, res.Latency[9].sendOrderSamples = us(1), us(1)
	c, ok = latencyCDFChart(res)
	var names []string
	for _, s := range c.Series {
		names = append(names, s.Name)
	}
	if want := []string{"raft latency", "none (unordered) latency", "raft run's send-order reference"}; !ok || !slices.Equal(names, want) {
		t.Errorf("CDF series %q, want %q", names, want)
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
	if err := writeMarkdown(&md, &results{Failures: []failure{{Step: "s", What: "run failed: x", Logs: "/somewhere/logs"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "/somewhere") || !strings.Contains(md.String(), "## FAILURES\n\n- s: run failed: x (its events logs were kept") ||
		!strings.HasSuffix(md.String(), "first.\n\n## FAILURES\n\n- s: run failed: x (its events logs were kept: the terminal output says where)\n") || strings.Contains(md.String(), "\n\n\n") {
		t.Errorf("failures in the report:\n%s", md.String())
	}
}

func TestPlanSteps(t *testing.T) {
	names := func(quick bool, only string) []string {
		b := &bench{res: &results{}}
		var out []string
		for _, s := range planSteps(b, newPlan(quick), only, t.TempDir()) {
			out = append(out, s.name)
		}
		return out
	}
	quick := names(true, "")
	want := []string{
		"raft latency maxSleep=100ms 10 msg/s", "raft latency maxSleep=0 100 msg/s", "raft -fsync latency maxSleep=0 100 msg/s",
		"sequencer latency maxSleep=100ms 10 msg/s", "sequencer latency maxSleep=0 100 msg/s",
		"isis latency maxSleep=100ms 10 msg/s", "isis latency maxSleep=0 100 msg/s",
		"lamport latency maxSleep=100ms 10 msg/s", "lamport latency maxSleep=0 100 msg/s",
		"none latency maxSleep=100ms 10 msg/s", "none latency maxSleep=0 100 msg/s",
		"raft throughput n=5 reuse", "raft -fsync throughput n=5 reuse", "sequencer throughput n=5 reuse", "isis throughput n=5 reuse",
		"lamport throughput n=5 reuse",
		"raw relay reuse",
		"raft memory headless 100,000 messages", "sequencer memory headless 100,000 messages", "isis memory headless 100,000 messages",
		"lamport memory headless 100,000 messages",
		// Which side of a pair goes first alternates.
		"raft agreement check on, pair 1 of 5", "raft agreement check off, pair 1 of 5",
		"raft agreement check off, pair 2 of 5", "raft agreement check on, pair 2 of 5",
		"raft agreement check on, pair 3 of 5", "raft agreement check off, pair 3 of 5",
		"raft agreement check off, pair 4 of 5", "raft agreement check on, pair 4 of 5",
		"raft agreement check on, pair 5 of 5", "raft agreement check off, pair 5 of 5",
		"raft leader fail-over 1 of 1",
	}
	if !slices.Equal(quick, want) {
		t.Errorf("quick plan:\n%s\nwant:\n%s", strings.Join(quick, "\n"), strings.Join(want, "\n"))
	}
	// Asked for by name, -quick measures a short scale section; none,
	// which orders nothing, is measured for latency only.
	if got, want := names(true, "scale"), []string{"raft throughput n=3 reuse", "raft throughput n=5 reuse",
		"sequencer throughput n=3 reuse", "sequencer throughput n=5 reuse", "isis throughput n=3 reuse", "isis throughput n=5 reuse",
		"lamport throughput n=3 reuse", "lamport throughput n=5 reuse"}; !slices.Equal(got, want) {
		t.Errorf("-quick -only scale: %q, want %q", got, want)
	}

	full := names(false, "")
	count := func(prefix string) int {
		n := 0
		for _, s := range full {
			if strings.HasPrefix(s, prefix) {
				n++
			}
		}
		return n
	}
	for prefix, want := range map[string]int{
		"raft latency":                            5, // four maxSleeps and light load
		"raft -fsync latency":                     1,
		"sequencer latency":                       5,
		"isis latency":                            5,
		"lamport latency":                         5,
		"none latency":                            5,
		"raft throughput":                         2 + 3, // both modes at n=5, then n=3, 9, 16
		"raft -fsync":                             2,     // light-load latency and throughput, kept-open connections
		"sequencer throughput":                    5,
		"isis throughput":                         5,
		"lamport throughput":                      5,
		"none throughput":                         0,
		"raw relay":                               2,
		"raft agreement check":                    14,
		"raft memory headless 1,000,000 messages": 1,
		"sequencer memory headless 1,000,000 messages": 1,
		"isis memory headless 1,000,000 messages":      1,
		"lamport memory headless 1,000,000 messages":   1,
		"none memory":           0,
		"raft leader fail-over": 5,
		"sequencer leader":      0,
		"isis leader":           0,
		"lamport leader":        0,
	} {
		if got := count(prefix); got != want {
			t.Errorf("full plan: %d steps start %q, want %d", got, prefix, want)
		}
	}
	// Raft comes first in every section.
	for _, section := range []string{" latency ", " throughput n=5 reuse", " memory headless"} {
		first := slices.IndexFunc(full, func(s string) bool { return strings.Contains(s, section) })
		if first < 0 || !strings.HasPrefix(full[first], "raft ") {
			t.Errorf("section %q starts with %q", section, full[max(first, 0)])
		}
	}
}

func TestSegments(t *testing.T) {
	pts := [][2]float32{{0, 0}, {10, 0}, {10, 16}}
	if got := segments(pts, false); !slices.Equal(got, [][4]float32{{0, 0, 10, 0}, {10, 0, 10, 16}}) {
		t.Errorf("solid: %v", got)
	}
	// Dashes of 8 every 13 pixels along the whole polyline, around the
	// corner: [0, 8) on the first leg, [13, 21) on the second.
	if got := segments(pts, true); !slices.Equal(got, [][4]float32{{0, 0, 8, 0}, {10, 3, 10, 11}}) {
		t.Errorf("dashed: %v", got)
	}
	// A long dashed line ends, with one dash per period.
	if got := len(segments([][2]float32{{0, 0}, {130_000, 0}}, true)); got != 10_000 {
		t.Errorf("%d dashes over 130,000 pixels, want 10,000", got)
	}
}

// A plot this run has no data for is removed: the folder holds one run.
func TestWritePlotsRemovesStale(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "throughput-vs-n.png")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	plots, err := writePlots(dir, sampleResults())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "memory-vs-messages.png")); err != nil || plots["memory-vs-messages.png"] == "" {
		t.Errorf("memory plot not written: %v, %v", err, plots)
	}
	res := sampleResults()
	res.Scale = nil
	if _, err := writePlots(dir, res); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale plot is still there: %v", err)
	}
}
