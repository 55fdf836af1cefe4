package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// mb renders bytes in MiB.
func mb(b int64) string {
	if b == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64)
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
		Title: "Latency (n=5, reuse connections; ms; bounds are means)",
		Header: []string{"protocol", "maxSleep", "msg/s per sender", "messages",
			"mean", "p50", "p99", "content arrival", "send order", "mean/send order", "check"},
	}
	for _, r := range rows {
		l := r.Latency
		cells := []string{ms(l.Ready.Mean), ms(l.Ready.P50), ms(l.Ready.P99), ms(l.ContentArrival.Mean), ms(l.SendOrder.Mean), ratio(l.Ratio)}
		t.Rows = append(t.Rows, append(append([]string{r.Protocol, sleepName(r.MaxSleep), count(r.PerSecond), count(float64(r.Messages))},
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
		t.Rows = append(t.Rows, append(append([]string{r.Protocol, modeName(r.Reuse), count(float64(r.Messages))}, cells...), r.checkCell()))
	}
	return t
}

func scaleTable(rows []throughputRow) table {
	t := table{
		Title:  "Scale (maxSleep 0, reuse connections, every middleware sending as fast as it can)",
		Header: []string{"protocol", "n", "messages", "ordered/s per mw", "slowest mw", "p99 ms (saturated)", "cores: mws / busiest / netsim / bench", "check"},
	}
	for _, r := range rows {
		cells := unmeasured(r.Messages, []string{count(r.Ordered), count(r.OrderedMin), ms(r.Latency.Ready.P99), cores(r)})
		t.Rows = append(t.Rows, append(append([]string{r.Protocol, strconv.Itoa(r.N), count(float64(r.Messages))}, cells...), r.checkCell()))
	}
	return t
}

func memoryTable(rows []memoryRow) table {
	t := table{
		Title:  "Memory (n=5, maxSleep 0; VmRSS of the largest middleware measured, MiB)",
		Header: []string{"protocol", "middleware", "RSS MiB before", "messages delivered", "RSS MiB after", "peak RSS MiB", "check", "note"},
	}
	for _, r := range rows {
		kind := r.Kind
		if r.MW > 0 {
			kind += fmt.Sprintf(" (Middleware %d)", r.MW)
		}
		t.Rows = append(t.Rows, []string{r.Protocol, kind, mb(r.Idle), count(float64(r.Messages)), mb(r.RSS), mb(r.Peak), r.checkCell(), r.Note})
	}
	return t
}

// Targets, from the issue.
const (
	targetLatencyRatio  = 1.05   // sequencer mean latency / send-order bound
	targetOrderedPerSec = 25_000 // deliveries/s per middleware, n = 5
	targetRawFraction   = 0.5    // ordered / raw relay ceiling
	targetLightP50      = 2 * time.Millisecond
	targetRSS           = 100 << 20 // bytes
	memoryTargetCount   = 100_000   // messages the RSS target is stated for
	lightPerSecond      = 100       // light load: messages per second per middleware
	moderatePerSecond   = 10        // the latency runs' load
	jgroupsNote         = "JGroups 2.12 SEQUENCER on one machine: ~23,000/s per member"
	jgroupsLatencyNote  = "JGroups: ~15 ms"
	protocolSequencer   = "sequencer"
	protocolISIS        = "isis"
)

var protocols = []string{protocolSequencer, protocolISIS}

// targetsTable compares the figures with the targets, one column
// per protocol. Only "met" or "MISSED" judge; "-" means not measured.
func targetsTable(res *results) table {
	t := table{Title: "Targets", Header: []string{"target", protocolSequencer, protocolISIS}}
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
			measured = measured || c != "-"
		}
		if measured { // leave out what this run did not measure
			t.Rows = append(t.Rows, row)
		}
	}
	latencyAt := func(protocol string, maxSleep time.Duration, perSecond float64) *latencyRow {
		for i := range res.Latency {
			r := &res.Latency[i]
			if r.Protocol == protocol && r.MaxSleep == maxSleep && r.PerSecond == perSecond && r.Messages > 0 {
				return r
			}
		}
		return nil
	}
	throughputOf := func(protocol string, reuse bool) *throughputRow {
		for i := range res.Throughput {
			r := &res.Throughput[i]
			if r.Protocol == protocol && r.Reuse == reuse && r.N == 5 && r.Messages > 0 {
				return r
			}
		}
		return nil
	}
	for _, maxSleep := range []time.Duration{500 * time.Millisecond, 2 * time.Second} {
		add(fmt.Sprintf("mean latency ≤ %.2f× send-order bound at maxSleep %v", targetLatencyRatio, maxSleep), func(p string) string {
			r := latencyAt(p, maxSleep, moderatePerSecond)
			if r == nil {
				return "-"
			}
			return judge(r.Latency.Ratio <= targetLatencyRatio, ratio(r.Latency.Ratio))
		})
	}
	add(fmt.Sprintf("ordered ≥ %s deliveries/s per mw, n=5 (%s)", count(targetOrderedPerSec), jgroupsNote), func(p string) string {
		r := throughputOf(p, true)
		if r == nil {
			return "-"
		}
		return judge(r.Ordered >= targetOrderedPerSec, count(r.Ordered)+"/s")
	})
	for _, reuse := range []bool{true, false} {
		add(fmt.Sprintf("ordered ≥ %.1f × raw relay ceiling (%s connections)", targetRawFraction, modeName(reuse)), func(p string) string {
			r := throughputOf(p, reuse)
			if r == nil || r.Raw == 0 {
				return "-"
			}
			return judge(r.Ordered >= targetRawFraction*r.Raw, strconv.FormatFloat(r.Ordered/r.Raw, 'f', 2, 64))
		})
	}
	add(fmt.Sprintf("light load (%d msg/s per mw, maxSleep 0): median latency < %v (%s)", lightPerSecond, targetLightP50, jgroupsLatencyNote), func(p string) string {
		r := latencyAt(p, 0, lightPerSecond)
		if r == nil {
			return "-"
		}
		return judge(r.Latency.Ready.P50 < targetLightP50, ms(r.Latency.Ready.P50)+" ms")
	})
	for _, kind := range []string{"headless", "window"} {
		add(fmt.Sprintf("%s middleware RSS < %d MB after %s messages", kind, targetRSS>>20, count(memoryTargetCount)), func(p string) string {
			i := slices.IndexFunc(res.Memory, func(r memoryRow) bool { return r.Protocol == p && r.Kind == kind && r.RSS > 0 })
			if i < 0 {
				return "-"
			}
			r := res.Memory[i]
			figure := mb(r.RSS) + " MiB"
			if r.Messages < memoryTargetCount {
				return figure + " after " + count(float64(r.Messages)) + " (not judged)"
			}
			return judge(r.RSS < targetRSS, figure)
		})
	}
	return t
}

// writeTables prints every table that has rows.
func writeTables(w io.Writer, res *results) {
	for _, t := range resultTables(res) {
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintln(w)
		t.writeText(w)
	}
}

func resultTables(res *results) []table {
	return []table{latencyTable(res.Latency), throughputTable(res.Throughput), scaleTable(res.Scale),
		memoryTable(res.Memory), failoverTable(res.Failover), targetsTable(res)}
}

// failoverTable lists each sequencer crash and, last, the median.
func failoverTable(rows []failoverRow) table {
	t := table{
		Title:  "Sequencer fail-over (n=5, maxSleep 100ms, every middleware sending 100 msg/s; the sequencer killed with SIGKILL)",
		Header: []string{"run", "deliveries resumed after (ms)", "in flight at the kill", "check"},
	}
	var resumes []time.Duration
	for i, r := range rows {
		t.Rows = append(t.Rows, []string{strconv.Itoa(i + 1), ms(r.Resume), strconv.Itoa(r.InFlight), r.Verdict})
		if r.Verdict != runFailed {
			resumes = append(resumes, r.Resume)
		}
	}
	if len(resumes) > 1 {
		slices.Sort(resumes)
		t.Rows = append(t.Rows, []string{"median", ms(resumes[len(resumes)/2]), "", ""})
	}
	return t
}

// writeMarkdown writes the report: how it was run, the targets, then each
// table with what it measures, the plots, and the runs with the load.
func writeMarkdown(w io.Writer, res *results, plots map[string]string) {
	mode := "full"
	if res.Quick {
		mode = "quick (-quick: fewer points, shorter runs)"
	}
	fmt.Fprintf(w, "# Benchmark results\n\n")
	fmt.Fprintf(w, "Run %s, %s, on %d cores with %s. Regenerate with `./run.sh bench` (or `go run ./cmd/bench`; `-quick` for the short version).\n\n",
		res.Started.Format("2006-01-02 15:04 MST"), mode, res.Cores, res.GoVersion)
	fmt.Fprintf(w, "Every figure comes from real processes over loopback: the network program and headless middlewares "+
		"(`-tags nogui` builds), driven through stdin (`send K`) and measured from their events logs; "+
		"every run is verified by the order checker with agreement on. %s\n\n", loadSentence(res))
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
	section("Targets", "Figures against the issue's targets; “not judged” means the run was smaller than the target's.", targetsTable(res))
	section("Latency",
		"Five middlewares, each sending one message every 100 ms (10/s) for a fixed time, and a light-load row at 100/s each with maxSleep 0; "+
			"the network program keeps connections open (`-reuse`). Latency is ready − sent over every delivery at every middleware. "+
			"*Content arrival* is first receipt − sent: no protocol delivers earlier. *Send order* is a clairvoyant protocol that delivers "+
			"in global send order as soon as a message and everything sent before it that reached this middleware has arrived; "+
			"*mean/send order* is how far a protocol is from it.",
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
		"Resident memory (VmRSS from /proc) once linked and before the first message, and right after every middleware delivered the messages: "+
			"the largest among the middlewares measured; peak is VmHWM. The window row runs Middleware 1 as the real window (cgo build) under Xvfb, holding every message in its Received and Ready lists.",
		memoryTable(res.Memory))
	section("Fail-over",
		"Every middleware sends a message every 10 ms; after a second the sequencer (Middleware 5) is killed with SIGKILL and the others "+
			"go on for three seconds. *Deliveries resumed* is the end of the longest pause in Middleware 1's Ready list after the kill; "+
			"*in flight* counts messages sent before the kill and delivered after it (none is lost: the run is checked with Middleware 5 as crashed).",
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
