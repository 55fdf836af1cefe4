package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// table is one block of figures, rendered for the terminal or Markdown.
type table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// writeText renders t with aligned columns: numbers right-aligned, text
// left-aligned.
func (t table) writeText(w io.Writer) {
	fmt.Fprintln(w, t.Title)
	widths := make([]int, len(t.Header))
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i := range widths {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.numeric(i) {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(t.Header)
	for _, r := range t.Rows {
		line(r)
	}
}

// writeMarkdown renders t as a pipe table; cells that hold numbers are
// right-aligned.
func (t table) writeMarkdown(w io.Writer) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	cells := make([]string, len(t.Header))
	for i, h := range t.Header {
		cells[i] = esc(h)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	for i := range t.Header {
		cells[i] = "---"
		if t.numeric(i) {
			cells[i] = "---:"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(cells, "|"))
	for _, r := range t.Rows {
		for i := range cells {
			cells[i] = ""
			if i < len(r) {
				cells[i] = esc(r[i])
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// numeric reports whether column i holds numbers (its first non-empty cell
// starts with a digit).
func (t table) numeric(i int) bool {
	for _, r := range t.Rows {
		if i < len(r) && r[i] != "" && r[i] != "-" {
			return r[i][0] >= '0' && r[i][0] <= '9'
		}
	}
	return false
}

// ms renders a duration in milliseconds with about three significant
// digits (light-load latencies are fractions of a millisecond, lab ones
// hundreds).
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1 || v <= -1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// count renders an integer with thousands separators: 25,000.
func count(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mb renders bytes in MB (10⁶ bytes, the unit of the memory target).
func mb(b int64) string {
	if b == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64)
}

// short renders a message count briefly, rounded from 10,000 up: 1,234,
// 22k (for 22,250), 1M, 1.5M.
func short(n int) string {
	switch {
	case n >= 1_000_000:
		return strconv.FormatFloat(math.Round(float64(n)/1e5)/10, 'f', -1, 64) + "M"
	case n >= 10_000:
		return strconv.Itoa((n+500)/1000) + "k"
	}
	return count(float64(n))
}

func modeName(reuse bool) string {
	if reuse {
		return "reuse"
	}
	return "per message"
}

func sleepName(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}

func ratio(r float64) string {
	if r == 0 {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

// unmeasured replaces the figures of a run that measured nothing (it
// failed) with dashes.
func unmeasured(messages int, cells []string) []string {
	if messages > 0 {
		return cells
	}
	for i := range cells {
		cells[i] = "-"
	}
	return cells
}

// cores renders a saturated run's processor use.
func cores(r throughputRow) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	return f(r.MWCores) + " / " + f(r.BusiestMWCores) + " / " + f(r.NetCores) + " / " + f(r.HarnessCores)
}

func latencyTable(rows []latencyRow) table {
	t := table{
		Title: "Latency (n=5, kept-open connections; ms; the lower bound and the reference are means)",
		Header: []string{"protocol", "maxSleep", "msg/s per sender", "messages",
			"mean", "p50", "p99", "content arrival (lower bound)", "send-order reference", "mean ÷ reference", "check"},
	}
	for _, r := range rows {
		l := r.Latency
		cells := []string{ms(l.Ready.Mean), ms(l.Ready.P50), ms(l.Ready.P99), ms(l.ContentArrival.Mean), ms(l.SendOrder.Mean), ratio(l.Ratio)}
		t.Rows = append(t.Rows, append(append([]string{label(r.Protocol, r.Fsync), sleepName(r.MaxSleep), count(r.PerSecond), count(float64(r.Messages))},
			unmeasured(r.Messages, cells)...), r.checkCell()))
	}
	return t
}

func throughputTable(rows []throughputRow) table {
	t := table{
		Title: "Throughput (n=5, maxSleep 0, every middleware sending as fast as it can)",
		Header: []string{"protocol", "connections", "messages", "ordered/s per mw", "slowest mw",
			"raw relay/s per sink", "ordered/raw", "p99 ms (saturated)", "cores: mws / busiest / netsim / bench", "check"},
	}
	for _, r := range rows {
		raw, rat := "-", "-"
		if r.Raw > 0 {
			raw, rat = count(r.Raw), strconv.FormatFloat(r.Ordered/r.Raw, 'f', 2, 64)
		}
		cells := unmeasured(r.Messages, []string{count(r.Ordered), count(r.OrderedMin), raw, rat, ms(r.Latency.Ready.P99), cores(r)})
		t.Rows = append(t.Rows, append(append([]string{label(r.Protocol, r.Fsync), modeName(r.Reuse), count(float64(r.Messages))}, cells...), r.checkCell()))
	}
	return t
}

func scaleTable(rows []throughputRow) table {
	t := table{
		Title:  "Scale (maxSleep 0, kept-open connections, every middleware sending as fast as it can)",
		Header: []string{"protocol", "n", "messages", "ordered/s per mw", "slowest mw", "p99 ms (saturated)", "cores: mws / busiest / netsim / bench", "check"},
	}
	for _, r := range rows {
		cells := unmeasured(r.Messages, []string{count(r.Ordered), count(r.OrderedMin), ms(r.Latency.Ready.P99), cores(r)})
		t.Rows = append(t.Rows, append(append([]string{label(r.Protocol, r.Fsync), strconv.Itoa(r.N), count(float64(r.Messages))}, cells...), r.checkCell()))
	}
	return t
}

func memoryTable(rows []memoryRow) table {
	t := table{
		Title: "Memory (n=5, maxSleep 0; VmRSS of the largest middleware measured, MB = 10⁶ bytes)",
		Header: []string{"protocol", "middleware", "MB before", "messages delivered", "MB after",
			"along the run: MB at messages delivered", "growth B/message", "peak MB (VmHWM)", "check", "note"},
	}
	for _, r := range rows {
		kind := r.Kind
		if r.MW > 0 {
			kind += fmt.Sprintf(" (Middleware %d)", r.MW)
		}
		along, growth := "-", "-"
		if len(r.Samples) > 0 {
			var parts []string
			for _, s := range r.Samples {
				parts = append(parts, short(s.Delivered)+": "+mb(s.RSS))
			}
			along = strings.Join(parts, ", ")
		}
		if len(r.Samples) >= 2 {
			_, _, _, perMessage := r.growth()
			growth = strconv.FormatFloat(perMessage, 'f', 1, 64)
		}
		t.Rows = append(t.Rows, []string{label(r.Protocol, false), kind, mb(r.Idle), count(float64(r.Messages)), mb(r.RSS),
			along, growth, mb(r.Peak), r.checkCell(), r.Note})
	}
	return t
}

// Targets, from the issue (stated for raft; the baselines get the same
// table).
const (
	targetLatencyRatio  = 1.02 // mean latency ÷ send-order reference, maxSleep 500 ms and 2 s
	targetLightP50      = 2 * time.Millisecond
	targetOrderedPerSec = 50_000      // deliveries/s per middleware, n = 5, kept-open connections
	targetFailover      = time.Second // median until deliveries resume after kill -9 of the leader
	targetRSS           = 60_000_000  // bytes (60 MB), headless, after memoryTargetCount messages
	memoryTargetCount   = 1_000_000   // messages the memory target is stated for
	// flatBytesPerMessage is the most resident memory may grow per
	// message along the run and still count as flat (10 MB over a million
	// messages; the maps that grew without end took about 190 B).
	flatBytesPerMessage = 10
	windowMessages      = 100_000 // the window's memory run (full benchmark)
	lightPerSecond      = 100     // light load: messages per second per middleware
	moderatePerSecond   = 10      // the latency runs' load
	jgroupsNote         = "JGroups 2.12 SEQUENCER measured here: about 23,000"
	// cannotFailOver is the baselines' fail-over: they stop delivering,
	// and say why, rather than guess.
	cannotFailOver    = "cannot (stops by design)"
	protocolRaft      = string(core.Raft)
	protocolSequencer = string(core.Sequencer)
	protocolISIS      = string(core.ISIS)
)

// protocols are measured in this order: the default first, then the
// textbook baselines (core.Protocols; -protocol keeps one).
var protocols = protocolNames(core.Protocols)

func protocolNames(ps []core.Protocol) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return names
}

// latencyAt finds the measured latency run of a protocol at a load.
func latencyAt(res *results, protocol string, fsync bool, maxSleep time.Duration, perSecond float64) *latencyRow {
	for i := range res.Latency {
		r := &res.Latency[i]
		if r.Protocol == protocol && r.Fsync == fsync && r.MaxSleep == maxSleep && r.PerSecond == perSecond && r.Messages > 0 {
			return r
		}
	}
	return nil
}

// throughputAt finds the measured n=5 throughput run of a protocol.
func throughputAt(res *results, protocol string, fsync, reuse bool) *throughputRow {
	for i := range res.Throughput {
		r := &res.Throughput[i]
		if r.Protocol == protocol && r.Fsync == fsync && r.Reuse == reuse && r.N == 5 && r.Messages > 0 {
			return r
		}
	}
	return nil
}

// scaleAt finds the measured scale run of a protocol at n.
func scaleAt(res *results, protocol string, n int) *throughputRow {
	for i := range res.Scale {
		r := &res.Scale[i]
		if r.Protocol == protocol && r.N == n && !r.Fsync && r.Messages > 0 {
			return r
		}
	}
	return nil
}

// memoryOf finds the measured memory run of a protocol's middleware kind.
func memoryOf(res *results, protocol, kind string) *memoryRow {
	for i := range res.Memory {
		r := &res.Memory[i]
		if r.Protocol == protocol && r.Kind == kind && r.RSS > 0 {
			return r
		}
	}
	return nil
}

// failoverMedian is the median time until deliveries resumed over the
// protocol's fail-over runs that completed.
func failoverMedian(res *results, protocol string) (time.Duration, bool) {
	var resumes []time.Duration
	for _, r := range res.Failover {
		if r.Protocol == protocol && r.Verdict != runFailed {
			resumes = append(resumes, r.Resume)
		}
	}
	if len(resumes) == 0 {
		return 0, false
	}
	slices.Sort(resumes)
	return resumes[len(resumes)/2], true
}

// targetsTable compares the figures with the targets, one column
// per protocol. Only "met" or "MISSED" judge; "-" means not measured.
func targetsTable(res *results) table {
	t := table{Title: "Targets (the issue's targets for raft; the baselines measured against the same)", Header: append([]string{"target"}, protocols...)}
	judge := func(ok bool, figure string) string {
		if ok {
			return figure + " met"
		}
		return figure + " MISSED"
	}
	add := func(name string, cell func(protocol string) string) {
		row := []string{name}
		measured := false
		for _, p := range protocols {
			c := cell(p)
			row = append(row, c)
			measured = measured || (c != "-" && c != cannotFailOver)
		}
		if measured { // leave out what this run did not measure
			t.Rows = append(t.Rows, row)
		}
	}
	for _, maxSleep := range []time.Duration{500 * time.Millisecond, 2 * time.Second} {
		add(fmt.Sprintf("mean latency ≤ %.2f× the send-order reference at maxSleep %v", targetLatencyRatio, maxSleep), func(p string) string {
			r := latencyAt(res, p, false, maxSleep, moderatePerSecond)
			if r == nil {
				return "-"
			}
			return judge(r.Latency.Ratio <= targetLatencyRatio, ratio(r.Latency.Ratio))
		})
	}
	add(fmt.Sprintf("median latency < %v at light load (%d msg/s per mw, maxSleep 0)", targetLightP50, lightPerSecond), func(p string) string {
		r := latencyAt(res, p, false, 0, lightPerSecond)
		if r == nil {
			return "-"
		}
		return judge(r.Latency.Ready.P50 < targetLightP50, ms(r.Latency.Ready.P50)+" ms")
	})
	add(fmt.Sprintf("≥ %s ordered deliveries/s per mw at n=5, kept-open connections (%s)", count(targetOrderedPerSec), jgroupsNote), func(p string) string {
		r := throughputAt(res, p, false, true)
		if r == nil {
			return "-"
		}
		return judge(r.Ordered >= targetOrderedPerSec, count(r.Ordered)+"/s")
	})
	add(fmt.Sprintf("median time until deliveries resume after kill -9 of the leader ≤ %v", targetFailover), func(p string) string {
		if p != protocolRaft {
			return cannotFailOver
		}
		median, ok := failoverMedian(res, p)
		if !ok {
			return "-"
		}
		return judge(median <= targetFailover, ms(median)+" ms")
	})
	add(fmt.Sprintf("headless resident memory < %d MB after %s messages, and flat", targetRSS/1_000_000, count(memoryTargetCount)), func(p string) string {
		r := memoryOf(res, p, "headless")
		if r == nil {
			return "-"
		}
		first, _, peak, perMessage := r.growth()
		figure := mb(r.RSS) + " MB"
		if len(r.Samples) >= 2 {
			figure += fmt.Sprintf(" (%s at %s, peak %s; %+.1f B/msg)", mb(first.RSS), short(first.Delivered), mb(peak.RSS), perMessage)
		}
		if r.Messages < memoryTargetCount {
			return figure + " after " + short(r.Messages) + ", not judged"
		}
		if !r.flat() {
			return figure + " not flat MISSED"
		}
		return judge(r.RSS < targetRSS, figure)
	})
	return t
}

// costTable sets raft beside the sequencer and ISIS on the same runs:
// what consensus costs. The last columns are raft's figure divided by the
// baseline's.
func costTable(res *results) table {
	t := table{
		Title:  "What consensus costs (raft beside the baselines, same runs)",
		Header: []string{"measure", protocolRaft, protocolSequencer, protocolISIS, "raft ÷ sequencer", "raft ÷ isis"},
	}
	type figure struct {
		cell  string
		value float64 // 0: not measured
	}
	add := func(name string, get func(protocol string) figure) {
		raft := get(protocolRaft)
		row := []string{name, orDash(raft.cell)}
		var ratios []string
		compared := false
		for _, p := range protocols[1:] {
			f := get(p)
			row = append(row, orDash(f.cell))
			r := "-"
			if raft.value > 0 && f.value > 0 {
				r, compared = strconv.FormatFloat(raft.value/f.value, 'f', 2, 64)+"×", true
			}
			ratios = append(ratios, r)
		}
		if compared {
			t.Rows = append(t.Rows, append(row, ratios...))
		}
	}
	var sleeps []time.Duration
	for _, r := range res.Latency {
		if r.PerSecond == moderatePerSecond && !slices.Contains(sleeps, r.MaxSleep) {
			sleeps = append(sleeps, r.MaxSleep)
		}
	}
	slices.Sort(sleeps)
	for _, s := range sleeps {
		add(fmt.Sprintf("mean latency ms at maxSleep %s (÷ send-order reference)", sleepName(s)), func(p string) figure {
			r := latencyAt(res, p, false, s, moderatePerSecond)
			if r == nil {
				return figure{}
			}
			return figure{ms(r.Latency.Ready.Mean) + " (" + ratio(r.Latency.Ratio) + ")", float64(r.Latency.Ready.Mean)}
		})
	}
	light := func(name string, stat func(l check.Latency) time.Duration) {
		add(fmt.Sprintf("%s latency ms at light load", name), func(p string) figure {
			r := latencyAt(res, p, false, 0, lightPerSecond)
			if r == nil {
				return figure{}
			}
			return figure{ms(stat(r.Latency)), float64(stat(r.Latency))}
		})
	}
	light("median", func(l check.Latency) time.Duration { return l.Ready.P50 })
	light("p99", func(l check.Latency) time.Duration { return l.Ready.P99 })
	for _, reuse := range []bool{true, false} {
		add(fmt.Sprintf("ordered deliveries/s per mw, n=5, %s connections", modeName(reuse)), func(p string) figure {
			r := throughputAt(res, p, false, reuse)
			if r == nil {
				return figure{}
			}
			return figure{count(r.Ordered), r.Ordered}
		})
	}
	add("p99 latency ms under saturation, n=5, reuse connections", func(p string) figure {
		r := throughputAt(res, p, false, true)
		if r == nil {
			return figure{}
		}
		return figure{ms(r.Latency.Ready.P99), float64(r.Latency.Ready.P99)}
	})
	largest := 0
	for _, r := range res.Scale {
		largest = max(largest, r.N)
	}
	if largest != 5 && largest > 0 {
		add(fmt.Sprintf("ordered deliveries/s per mw, n=%d", largest), func(p string) figure {
			r := scaleAt(res, p, largest)
			if r == nil {
				return figure{}
			}
			return figure{count(r.Ordered), r.Ordered}
		})
	}
	add("headless resident memory MB after the memory run", func(p string) figure {
		r := memoryOf(res, p, "headless")
		if r == nil {
			return figure{}
		}
		return figure{mb(r.RSS) + " after " + short(r.Messages), float64(r.RSS)}
	})
	if median, ok := failoverMedian(res, protocolRaft); ok {
		t.Rows = append(t.Rows, []string{"deliveries resume after kill -9 of the leader (median)", ms(median) + " ms",
			cannotFailOver, cannotFailOver, "-", "-"})
	}
	return t
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// consensusParagraph says in words what the cost table shows, from the
// figures measured (empty when raft and no baseline were both measured).
func consensusParagraph(res *results) string {
	var parts []string
	// others lists the baselines' figures: "sequencer 1.00×, ISIS 1.80×".
	others := func(value func(p string) (string, bool)) string {
		var s []string
		for _, p := range protocols[1:] {
			if v, ok := value(p); ok {
				s = append(s, protocolName(p)+" "+v)
			}
		}
		return strings.Join(s, ", ")
	}
	if raft := throughputAt(res, protocolRaft, false, true); raft != nil {
		var cmp []string
		for _, p := range protocols[1:] {
			if r := throughputAt(res, p, false, true); r != nil {
				cmp = append(cmp, fmt.Sprintf("%.2f× %s's %s", raft.Ordered/r.Ordered, protocolName(p), count(r.Ordered)))
			}
		}
		p99 := others(func(p string) (string, bool) {
			r := throughputAt(res, p, false, true)
			if r == nil {
				return "", false
			}
			return ms(r.Latency.Ready.P99) + " ms", true
		})
		if len(cmp) > 0 {
			parts = append(parts, fmt.Sprintf("At n=5 with kept-open connections raft ordered %s deliveries/s per middleware: %s. "+
				"Its p99 latency under that load was %s ms (%s).", count(raft.Ordered), strings.Join(cmp, " and "), ms(raft.Latency.Ready.P99), p99))
		}
	}
	for _, s := range []time.Duration{2 * time.Second, 500 * time.Millisecond, 100 * time.Millisecond} {
		raft := latencyAt(res, protocolRaft, false, s, moderatePerSecond)
		if raft == nil {
			continue
		}
		cmp := others(func(p string) (string, bool) {
			r := latencyAt(res, p, false, s, moderatePerSecond)
			if r == nil {
				return "", false
			}
			return ratio(r.Latency.Ratio), true
		})
		if cmp != "" {
			parts = append(parts, fmt.Sprintf("At maxSleep %v its mean latency was %s the send-order reference (%s).", s, ratio(raft.Latency.Ratio), cmp))
		}
		break // the slowest network measured says it
	}
	if raft := latencyAt(res, protocolRaft, false, 0, lightPerSecond); raft != nil {
		cmp := others(func(p string) (string, bool) {
			r := latencyAt(res, p, false, 0, lightPerSecond)
			if r == nil {
				return "", false
			}
			return ms(r.Latency.Ready.P50) + "/" + ms(r.Latency.Ready.P99) + " ms", true
		})
		if cmp != "" {
			parts = append(parts, fmt.Sprintf("At light load its median/p99 latency was %s/%s ms (%s).", ms(raft.Latency.Ready.P50), ms(raft.Latency.Ready.P99), cmp))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if median, ok := failoverMedian(res, protocolRaft); ok {
		parts = append(parts, fmt.Sprintf("In return raft goes on when its leader is killed with kill -9 (deliveries resumed after %s ms, median), "+
			"where the sequencer and ISIS stop by design.", ms(median)))
	} else {
		parts = append(parts, "In return raft goes on when its leader dies, where the sequencer and ISIS stop by design.")
	}
	return strings.Join(parts, " ")
}

// protocolName names a protocol in a sentence.
func protocolName(p string) string {
	switch p {
	case protocolISIS:
		return "ISIS"
	case protocolSequencer:
		return "the sequencer"
	}
	return p
}

// fsyncTable sets raft with -fsync beside raft without it on the same
// loads: what durability on disk costs.
func fsyncTable(res *results) table {
	t := table{
		Title:  "What -fsync costs (raft; state flushed to disk before it is acted on)",
		Header: []string{"measure", "raft", "raft -fsync", "with ÷ without"},
	}
	add := func(name string, get func(fsync bool) (string, float64)) {
		off, a := get(false)
		on, b := get(true)
		if b == 0 { // no -fsync run
			return
		}
		r := "-"
		if a > 0 {
			r = strconv.FormatFloat(b/a, 'f', 2, 64) + "×"
		}
		t.Rows = append(t.Rows, []string{name, orDash(off), on, r})
	}
	light := func(name string, stat func(l check.Latency) time.Duration) {
		add(fmt.Sprintf("%s latency ms at light load (%d msg/s per mw, maxSleep 0)", name, lightPerSecond), func(fsync bool) (string, float64) {
			r := latencyAt(res, protocolRaft, fsync, 0, lightPerSecond)
			if r == nil {
				return "", 0
			}
			return ms(stat(r.Latency)), float64(stat(r.Latency))
		})
	}
	light("median", func(l check.Latency) time.Duration { return l.Ready.P50 })
	light("p99", func(l check.Latency) time.Duration { return l.Ready.P99 })
	add("ordered deliveries/s per mw, n=5, reuse connections", func(fsync bool) (string, float64) {
		r := throughputAt(res, protocolRaft, fsync, true)
		if r == nil {
			return "", 0
		}
		return count(r.Ordered), r.Ordered
	})
	add("p99 latency ms under saturation", func(fsync bool) (string, float64) {
		r := throughputAt(res, protocolRaft, fsync, true)
		if r == nil {
			return "", 0
		}
		return ms(r.Latency.Ready.P99), float64(r.Latency.Ready.P99)
	})
	return t
}

// fsyncNote says where the state was, which decides what -fsync costs.
func fsyncNote(res *results) string {
	switch res.StateFS {
	case "":
		return "The state folder's file system is unknown."
	case "tmpfs":
		return "The state folders were on tmpfs (memory): flushing them costs next to nothing, so these rows understate what -fsync costs on a disk; " +
			"run with TMPDIR set to a folder on a disk to measure that."
	}
	return fmt.Sprintf("The state folders were on %s (TMPDIR decides where); the disk's own cache and the virtual machine, if any, decide what a flush really costs.", res.StateFS)
}

// failoverTable lists each leader crash, the median, and the baselines,
// which cannot fail over.
func failoverTable(rows []failoverRow) table {
	t := table{
		Title:  "Leader fail-over (n=5, maxSleep 100ms, every middleware sending 100 msg/s; the raft leader killed with SIGKILL)",
		Header: []string{"protocol", "run", "deliveries resumed after (ms)", "in flight at the kill", "check"},
	}
	var resumes []time.Duration
	for i, r := range rows {
		resume := ms(r.Resume)
		if r.Verdict == runFailed {
			resume = "-"
		}
		t.Rows = append(t.Rows, []string{r.Protocol, strconv.Itoa(i + 1), resume, strconv.Itoa(r.InFlight), r.Verdict})
		if r.Verdict != runFailed {
			resumes = append(resumes, r.Resume)
		}
	}
	if len(resumes) > 1 {
		slices.Sort(resumes)
		t.Rows = append(t.Rows, []string{protocolRaft, "median", ms(resumes[len(resumes)/2]), "", ""})
	}
	if len(rows) > 0 {
		for _, p := range protocols[1:] {
			t.Rows = append(t.Rows, []string{p, "-", cannotFailOver, "", ""})
		}
	}
	return t
}

// writeTables prints every table that has rows, and the paragraphs
// that say what consensus and -fsync cost.
func writeTables(w io.Writer, res *results) {
	for _, t := range resultTables(res) {
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintln(w)
		t.writeText(w)
	}
	if p := consensusParagraph(res); p != "" {
		fmt.Fprintf(w, "\n%s\n", p)
	}
	if len(fsyncTable(res).Rows) > 0 {
		fmt.Fprintf(w, "\n%s\n", fsyncNote(res))
	}
}

func resultTables(res *results) []table {
	return []table{latencyTable(res.Latency), throughputTable(res.Throughput), scaleTable(res.Scale),
		memoryTable(res.Memory), failoverTable(res.Failover), costTable(res), fsyncTable(res), targetsTable(res)}
}

// writeMarkdown writes the report: how it was run, the targets, what
// consensus and -fsync cost, then each table with what it measures, the
// plots, and the runs with the load.
func writeMarkdown(w io.Writer, res *results, plots map[string]string) {
	mode := "full"
	if res.Quick {
		mode = "quick (-quick: fewer points, shorter runs, a smaller memory run)"
	}
	fmt.Fprintf(w, "# Benchmark results\n\n")
	fmt.Fprintf(w, "Run %s, %s, on %d cores with %s. Regenerate with `./run.sh bench` (or `go run ./cmd/bench`; `-quick` for the short version).\n\n",
		res.Started.Format("2006-01-02 15:04 MST"), mode, res.Cores, res.GoVersion)
	fmt.Fprintf(w, "Every figure comes from real processes over loopback: the network program and headless middlewares "+
		"(`-tags nogui` builds), driven through stdin (`send K`) and measured from their events logs; "+
		"every run is verified by the order checker with agreement on. Each section measures raft (the default) first, "+
		"then the textbook baselines, the fixed sequencer and ISIS. %s\n\n", loadSentence(res))
	if len(res.Failures) > 0 {
		fmt.Fprintf(w, "## FAILURES\n\n")
		for _, f := range res.Failures {
			fmt.Fprintf(w, "- %s: %s", f.Step, f.What)
			if f.Logs != "" {
				fmt.Fprint(w, " (its events logs were kept: the terminal output says where)")
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}

	section := func(title, text string, t table) {
		if len(t.Rows) == 0 {
			return
		}
		fmt.Fprintf(w, "## %s\n\n%s\n\n", title, text)
		t.writeMarkdown(w)
		fmt.Fprintln(w)
	}
	section("Targets", "Figures against the issue's targets, stated for raft; the baselines are measured against the same. "+
		"“not judged” means the run was smaller than the target's. Memory is *flat* when it grew by at most "+
		strconv.Itoa(flatBytesPerMessage)+" B a message over the second half of the run (from the sample at half the messages to the last).", targetsTable(res))
	section("What consensus costs", strings.TrimSpace("Raft beside the baselines on the same loads; the last two columns divide raft's figure by the baseline's "+
		"(above 1× means raft's is larger: slower for latency, faster for throughput). "+consensusParagraph(res)), costTable(res))
	section("What -fsync costs", "Raft with its durable state flushed to disk before the messages that depend on it are sent (`-fsync`), "+
		"beside the same load without (the state is still written, without waiting for the disk). "+fsyncNote(res), fsyncTable(res))
	section("Latency",
		"Five middlewares, each sending one message every 100 ms (10/s) for a fixed time, and a light-load row at 100/s each with maxSleep 0; "+
			"the network program keeps connections open (`-reuse`). Latency is ready − sent over every delivery at every middleware. "+
			"*Content arrival* is first receipt − sent: the lower bound, no protocol delivers earlier. The *send-order reference* is a clairvoyant protocol that delivers "+
			"in global send order as soon as a message and everything sent before it that reached this middleware has arrived; "+
			"*mean ÷ reference* is how far a protocol is from it.",
		latencyTable(res.Latency))
	if p := plots["latency-cdf.png"]; p != "" {
		fmt.Fprintf(w, "![Latency CDF at maxSleep %v](%s)\n\n", res.CDFMaxSleep, p)
	}
	section("Throughput",
		"Five middlewares at maxSleep 0, each keeping a backlog of requested messages (topped up with `send "+strconv.Itoa(sendChunk)+
			"` while fewer than "+count(backlogPerSender)+"×n requested messages are undelivered at Middleware n). *ordered/s per mw* is deliveries per second "+
			"at each middleware over the steady part of the run (after a warm-up, until the senders stop), averaged over the middlewares. "+
			"*raw relay* sends the same number of messages from five senders through the same network program binary to five counting sinks, "+
			"no ordering: copies per second per sink. *per message* is one TCP connection per message in both directions, as the original program; "+
			"*reuse* keeps connections open. Runs with a connection per message stop at "+count(perMessageLimit)+" messages: each copy uses up a local port "+
			"for a minute (TIME_WAIT) and Linux has about 28,000 of them per destination. The p99 latency under saturation is mostly the backlog's queueing. "+
			"*cores* is processor time over the window divided by its length: all middlewares together, the busiest middleware, the network program, and this benchmark (tailing the logs, driving the senders).",
		throughputTable(res.Throughput))
	section("Scale", "Saturated as for throughput, with n middlewares all sending.", scaleTable(res.Scale))
	if p := plots["throughput-vs-n.png"]; p != "" {
		fmt.Fprintf(w, "![Throughput per middleware versus n](%s)\n\n", p)
	}
	section("Memory",
		"Resident memory (VmRSS from /proc, MB = 10⁶ bytes) once linked and before the first message, along the run (the largest among the middlewares measured, "+
			"sampled as the deliveries pass each step), and once every middleware delivered the messages; *growth* is bytes per message over the second half of the run, once fixed-size windows have filled; "+
			"peak is VmHWM. The window row runs Middleware 1 as the real window (cgo build) under Xvfb, holding every message in its Received and Ready lists.",
		memoryTable(res.Memory))
	if p := plots["memory-vs-messages.png"]; p != "" {
		fmt.Fprintf(w, "![Resident memory along the run](%s)\n\n", p)
	}
	section("Fail-over",
		"Every middleware sends a message every 10 ms; after a second the raft leader is killed with SIGKILL and the others "+
			"go on for three seconds. *Deliveries resumed* is the end of the longest pause in the first survivor's Ready list after the kill; "+
			"*in flight* counts messages sent before the kill and delivered after it (the run is checked with the leader as crashed). "+
			"The sequencer and ISIS are not run: without a member they stop delivering and say why, by design.",
		failoverTable(res.Failover))
	if len(res.Notes) > 0 {
		fmt.Fprintf(w, "## Notes\n\n")
		for _, n := range res.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
		fmt.Fprintln(w)
	}
	steps := table{Header: []string{"step", "seconds", "load (1 min) at start", "at end", "error"}}
	for _, s := range res.Steps {
		steps.Rows = append(steps.Rows, []string{s.Name, strconv.FormatFloat(s.Elapsed.Seconds(), 'f', 1, 64),
			strconv.FormatFloat(s.LoadFrom, 'f', 2, 64), strconv.FormatFloat(s.LoadTo, 'f', 2, 64), s.Error})
	}
	section("Runs", "Each step with the machine's 1-minute load average around it (the machine is shared; "+
		"a load above the core count means other work competed with the benchmark).", steps)
}

// loadSentence summarises the machine's load during the run.
func loadSentence(res *results) string {
	if len(res.Steps) == 0 {
		return ""
	}
	lo, hi := res.Steps[0].LoadFrom, res.Steps[0].LoadFrom
	for _, s := range res.Steps {
		lo, hi = min(lo, s.LoadFrom, s.LoadTo), max(hi, s.LoadFrom, s.LoadTo)
	}
	return fmt.Sprintf("The 1-minute load average ranged from %.2f to %.2f on %d cores during the runs (the benchmark itself loads the machine; "+
		"other engineers' test runs may have shared it).", lo, hi, res.Cores)
}
