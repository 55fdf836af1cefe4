package main

import (
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// The report's words are in report.md.tmpl; this file hands it the
// measured results and the tables built from them (report.go), and
// nothing else: what a figure is called, what it means and what it is
// compared with is the template's business.

//go:embed report.md.tmpl
var reportTemplate string

var reportTmpl = template.Must(template.New("report.md.tmpl").Funcs(template.FuncMap{
	"md":    markdownTable,
	"ms":    ms,
	"count": countAny,
	"ratio": ratio,
	"pct":   pct,
	"mb":    mb,
	"sleep": sleepName,
	"name":  protocolName,
	"f2":    func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
	"us": func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 2, 64)
	},
	"f1":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"div": func(a, b int) int { return a / b },
	"capital": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	// sep goes before item i of a list of n read as a sentence: "", ", "
	// and " and " before the last (n 0: commas only).
	"sep": func(i, n int) string {
		switch {
		case i == 0:
			return ""
		case i == n-1:
			return " and "
		}
		return ", "
	},
}).Parse(reportTemplate))

// reportView is what the template reads: the results, the tables, and
// the figures its paragraphs compare, picked out of the results.
type reportView struct {
	*results
	Plots     map[string]string
	Load      loadRange
	T         reportTables
	Consensus consensusView
	Lamport   lamportView
	Agreement *agreementCost // nil: not measured
	// What the benchmark's own settings are, for the method paragraphs.
	SendChunk, Backlog, PerMessageLimit, FlatBytesPerMessage int
	Light, Moderate                                          int
	// Ordering is the protocols that order and were measured; Unordered
	// those that order nothing and were measured (latency only).
	Ordering, Unordered []string
	// Baselines names the ordering protocols measured besides raft, as in
	// a sentence: "the sequencer, ISIS and Lamport".
	Baselines string
}

// reportTables are the report's tables, each empty when not measured.
type reportTables struct {
	Targets, Cost, Lamport, Fsync, Agreement, Latency, Throughput, Scale, Memory, Failover, Runs table
}

// loadRange is the machine's 1-minute load average over the steps.
type loadRange struct {
	Known  bool
	Lo, Hi float64
}

// figures is one protocol's figures on one load, for a sentence.
type figures struct {
	Protocol string
	Name     string // as in a sentence: "the sequencer", "ISIS"
	// Latency runs: mean, p50 and p99, and the mean ÷ send-order
	// reference.
	Mean, P50, P99 time.Duration
	RefRatio       float64
	// Saturated runs: ordered deliveries/s per middleware and p99.
	Ordered float64
	// Ratio is the subject's figure divided by this one's (throughput:
	// above 1 the subject is faster; latency: above 1 it is slower).
	Ratio float64
}

// comparison is a subject beside the others on one load (nil fields:
// not measured). Floor is the unordered protocol, latency only.
type comparison struct {
	MaxSleep time.Duration
	Subject  figures
	Others   []figures
	Floor    *figures
}

// consensusView is what the "what consensus costs" paragraph says.
type consensusView struct {
	Throughput, Latency, Light *comparison
	Failover                   time.Duration
	HasFailover                bool
	// Stoppers names the protocols that stop when a member dies.
	Stoppers string
}

// Any reports whether raft compared with anything.
func (c consensusView) Any() bool { return c.Throughput != nil || c.Latency != nil || c.Light != nil }

// lamportView is what the paragraph on Lamport against ISIS and raft says.
type lamportView struct {
	Latency    []comparison // one per maxSleep of the moderate load
	Light      *comparison
	Throughput *comparison
}

// Any reports whether Lamport compared with anything.
func (l lamportView) Any() bool { return len(l.Latency) > 0 || l.Light != nil || l.Throughput != nil }

func newReportView(res *results, plots map[string]string) reportView {
	v := reportView{results: res, Plots: plots,
		T: reportTables{
			Targets: targetsTable(res), Cost: costTable(res), Lamport: lamportTable(res), Fsync: fsyncTable(res),
			Agreement: agreementTable(res), Latency: latencyTable(res.Latency), Throughput: throughputTable(res.Throughput),
			Scale: scaleTable(res.Scale), Memory: memoryTable(res.Memory), Failover: failoverTable(res.Failover), Runs: runsTable(res),
		},
		SendChunk: sendChunk, Backlog: backlogPerSender, PerMessageLimit: perMessageLimit, FlatBytesPerMessage: flatBytesPerMessage,
		Light: lightPerSecond, Moderate: moderatePerSecond,
		Ordering: measuredOrdering(res),
	}
	for _, p := range protocols {
		if !orderingProtocol(p) && latencyMeasured(res, p) {
			v.Unordered = append(v.Unordered, p)
		}
	}
	if len(res.Steps) > 0 {
		v.Load = loadRange{Known: true, Lo: res.Steps[0].LoadFrom, Hi: res.Steps[0].LoadFrom}
		for _, s := range res.Steps {
			v.Load.Lo, v.Load.Hi = min(v.Load.Lo, s.LoadFrom, s.LoadTo), max(v.Load.Hi, s.LoadFrom, s.LoadTo)
		}
	}
	if c, ok := measureAgreementCost(res.Agreement); ok {
		v.Agreement = &c
	}
	v.Baselines = baselines(res)
	v.Consensus = newConsensusView(res)
	v.Lamport = newLamportView(res)
	return v
}

func orderingProtocol(p string) bool { return len(orderingProtocols([]string{p})) == 1 }

func latencyMeasured(res *results, p string) bool {
	for _, r := range res.Latency {
		if r.Protocol == p && r.Messages > 0 {
			return true
		}
	}
	return false
}

// latencyComparison compares subject's latency run at a load with the
// others' (the unordered ones as the floor); nil when the subject or
// every other is missing.
func latencyComparison(res *results, subject string, others []string, maxSleep time.Duration, perSecond float64) *comparison {
	fig := func(p string) *figures {
		r := latencyAt(res, p, false, maxSleep, perSecond)
		if r == nil {
			return nil
		}
		l := r.Latency
		return &figures{Protocol: p, Name: protocolName(p), Mean: l.Ready.Mean, P50: l.Ready.P50, P99: l.Ready.P99, RefRatio: l.Ratio}
	}
	sub := fig(subject)
	if sub == nil {
		return nil
	}
	c := &comparison{MaxSleep: maxSleep, Subject: *sub}
	for _, p := range others {
		f := fig(p)
		switch {
		case f == nil:
		case !orderingProtocol(p):
			c.Floor = f
		default:
			if f.Mean > 0 {
				f.Ratio = float64(sub.Mean) / float64(f.Mean)
			}
			c.Others = append(c.Others, *f)
		}
	}
	if len(c.Others) == 0 {
		return nil
	}
	return c
}

// throughputComparison compares subject's saturated n=5 run (kept-open
// connections) with the others'.
func throughputComparison(res *results, subject string, others []string) *comparison {
	fig := func(p string) *figures {
		r := throughputAt(res, p, false, true)
		if r == nil {
			return nil
		}
		return &figures{Protocol: p, Name: protocolName(p), Ordered: r.Ordered, P99: r.Latency.Ready.P99}
	}
	sub := fig(subject)
	if sub == nil {
		return nil
	}
	c := &comparison{Subject: *sub}
	for _, p := range others {
		if f := fig(p); f != nil && orderingProtocol(p) {
			f.Ratio = sub.Ordered / f.Ordered
			c.Others = append(c.Others, *f)
		}
	}
	if len(c.Others) == 0 {
		return nil
	}
	return c
}

func newConsensusView(res *results) consensusView {
	var v consensusView
	rest := others(protocolRaft)
	v.Throughput = throughputComparison(res, protocolRaft, rest)
	for _, s := range []time.Duration{2 * time.Second, 500 * time.Millisecond, 100 * time.Millisecond} {
		if c := latencyComparison(res, protocolRaft, rest, s, moderatePerSecond); c != nil {
			v.Latency = c // the slowest network measured says it
			break
		}
	}
	v.Light = latencyComparison(res, protocolRaft, rest, 0, lightPerSecond)
	v.Failover, v.HasFailover = failoverMedian(res, protocolRaft)
	var stoppers []string
	for _, p := range measuredOrdering(res) {
		if !failsOver(p) {
			stoppers = append(stoppers, protocolName(p))
		}
	}
	v.Stoppers = andList(stoppers)
	return v
}

// baselines names the ordering protocols measured besides raft.
func baselines(res *results) string {
	var names []string
	for _, p := range measuredOrdering(res) {
		if p != protocolRaft {
			names = append(names, protocolName(p))
		}
	}
	return andList(names)
}

func newLamportView(res *results) lamportView {
	var v lamportView
	rest := []string{protocolISIS, protocolRaft, protocolNone}
	var sleeps []time.Duration
	for _, r := range res.Latency {
		if r.PerSecond == moderatePerSecond && r.Protocol == protocolLamport {
			sleeps = append(sleeps, r.MaxSleep)
		}
	}
	for _, s := range sleeps {
		if c := latencyComparison(res, protocolLamport, rest, s, moderatePerSecond); c != nil {
			v.Latency = append(v.Latency, *c)
		}
	}
	v.Light = latencyComparison(res, protocolLamport, rest, 0, lightPerSecond)
	v.Throughput = throughputComparison(res, protocolLamport, rest)
	return v
}

// andList joins names as in a sentence: "a", "a and b", "a, b and c".
func andList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// countAny is count for the template, which has integers and floats.
func countAny(v any) (string, error) {
	switch v := v.(type) {
	case int:
		return count(float64(v)), nil
	case int64:
		return count(float64(v)), nil
	case float64:
		return count(v), nil
	}
	return "", fmt.Errorf("count: %T is not a number", v)
}

// markdownTable renders a table for the template.
func markdownTable(t table) string {
	var b strings.Builder
	t.writeMarkdown(&b)
	return strings.TrimSuffix(b.String(), "\n")
}

// writeMarkdown writes the report (the template's "report").
func writeMarkdown(w io.Writer, res *results, plots map[string]string) error {
	return reportTmpl.ExecuteTemplate(w, "report", newReportView(res, plots))
}

// writeTables prints every table that has rows for the terminal, then the
// template's paragraphs that compare protocols and say what -fsync and
// the agreement check cost.
func writeTables(w io.Writer, res *results) error {
	v := newReportView(res, nil)
	for _, t := range []table{v.T.Latency, v.T.Throughput, v.T.Scale, v.T.Memory, v.T.Failover, v.T.Cost,
		v.T.Lamport, v.T.Fsync, v.T.Agreement, v.T.Targets} {
		if len(t.Rows) == 0 {
			continue
		}
		fmt.Fprintln(w)
		t.writeText(w)
	}
	var b strings.Builder
	if err := reportTmpl.ExecuteTemplate(&b, "summary", v); err != nil {
		return err
	}
	for _, p := range strings.Split(b.String(), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			fmt.Fprintf(w, "\n%s\n", p)
		}
	}
	return nil
}
