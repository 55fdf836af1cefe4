package check

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// verdict is the one-line outcome printed last.
func (r *Report) verdict() string {
	if len(r.Violations) > 0 {
		return Violations(r.Violations).Error()
	}
	if r.Violation != nil {
		return r.Violation.Error()
	}
	props := "total order, integrity and contiguous seq"
	if r.Agreement {
		props = "total order, integrity, agreement and contiguous seq"
	}
	s := fmt.Sprintf("OK: %s hold for %d middlewares, %d messages", props, r.Middlewares, r.Messages)
	var notes []string
	if !r.Agreement {
		notes = append(notes, "agreement not checked")
	}
	if len(r.Crashed) > 0 {
		ids := make([]string, len(r.Crashed))
		for i, id := range r.Crashed {
			ids[i] = strconv.Itoa(id)
		}
		notes = append(notes, "crashed: "+strings.Join(ids, ","))
	}
	if r.AllowUnsent {
		notes = append(notes, "unsent deliveries allowed")
	}
	if len(r.Incomplete) > 0 {
		notes = append(notes, "incomplete logs: see above")
	}
	if len(r.Recorded) > 0 {
		notes = append(notes, "divergences the middlewares recorded: see above")
	}
	if len(notes) > 0 {
		s += " (" + strings.Join(notes, "; ") + ")"
	}
	return s
}

// WriteText writes the report for humans: a table of counts and latency
// per middleware, the lower bound and the reference, warnings, and the
// verdict last.
func (r *Report) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MW\tinc\tlast\tsent\treceived\tdup\tready\tlatency ms mean / p50 / p99\t")
	row := func(name string, s *MWStats, last string) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t\n",
			name, s.Incarnations, last, s.Sent, s.Received, s.DuplicateReceived, s.Ready, ms(s.Latency.Ready))
	}
	for i := range r.PerMW {
		s := &r.PerMW[i]
		last := "up"
		if s.Crashed {
			last = "crashed"
		}
		row(strconv.Itoa(s.MW), s, last)
	}
	row("all", &r.Overall, "")
	tw.Flush()

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Lower bound: content arrival (no protocol delivers before the content is there).")
	fmt.Fprintln(w, "Reference: delivery in send order (not a bound: another total order may deliver sooner).")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MW\tcontent arrival (lower bound) ms mean / p50 / p99\tsend order (reference) ms mean / p50 / p99\tlatency / send order\t")
	compare := func(name string, l *Latency) {
		ratio := "-"
		if l.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", l.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, ms(l.ContentArrival), ms(l.SendOrder), ratio)
	}
	for i := range r.PerMW {
		compare(strconv.Itoa(r.PerMW[i].MW), &r.PerMW[i].Latency)
	}
	compare("all", &r.Overall.Latency)
	tw.Flush()

	if len(r.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, warn := range r.Warnings {
			fmt.Fprintln(w, "warning:", warn)
		}
	}
	if len(r.Incomplete) > 0 {
		fmt.Fprintln(w)
		for _, s := range r.Incomplete {
			fmt.Fprintln(w, "incomplete:", s)
		}
	}
	if len(r.Recorded) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Divergences the middlewares recorded (their live agreement check):")
		for _, d := range r.Recorded {
			fmt.Fprintln(w, " ", d.recordedText())
		}
	}
	if d := r.Divergence; d != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "The logs first differ at #%d: Middleware %d delivered %q there, Middleware %d %q.\n", d.Seq, d.MW, d.Here, d.Peer, d.There)
	}
	if len(r.Violations) > 1 || len(r.Violations) == 1 && r.Violations[0].Count > 1 {
		fmt.Fprintln(w)
		for _, v := range r.Violations {
			fmt.Fprintf(w, "VIOLATION %s: "+v.what+"\n", v.Property, v.Count)
			for _, ex := range v.Examples {
				fmt.Fprintln(w, "  e.g.", ex)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.Verdict)
}

// ms renders mean / p50 / p99 in milliseconds, with about three
// significant digits (lab runs are in hundreds of ms, simulations in µs).
func ms(s Stats) string {
	if s.Count == 0 {
		return "-"
	}
	f := func(d time.Duration) string {
		v := float64(d) / float64(time.Millisecond)
		prec := 3
		switch {
		case v >= 100 || v <= -100:
			prec = 1
		case v >= 1 || v <= -1:
			prec = 2
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	return f(s.Mean) + " / " + f(s.P50) + " / " + f(s.P99)
}

// recordedText words a divergence a middleware recorded, with what the
// logs show there.
func (d *Divergence) recordedText() string {
	logs := d.Logs
	if logs == "confirmed" {
		logs = "the logs confirm it"
	}
	return fmt.Sprintf("Middleware %d differs from Middleware %d at #%d: %q here, %q there (at %s UTC; %s)",
		d.MW, d.Peer, d.Seq, d.Here, d.There, tsString(d.TS), logs)
}
