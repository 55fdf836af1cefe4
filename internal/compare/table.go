package compare

import (
	"fmt"
	"strings"
	"totalorder/internal/launcher"
	"unicode/utf8"
)

// Summary says in one line what was run.
func (r *Result) Summary() string {
	s := fmt.Sprintf("%d middlewares each sending %d messages at about %g a second (seeded send times), maxSleep %v, seed %d",
		r.N, r.Each, r.Rate, r.MaxSleep, r.Seed)
	if r.Pause > 0 {
		who := "the leader (where there is one, else Middleware " + fmt.Sprint(r.N) + ")"
		if r.PauseID > 0 {
			who = fmt.Sprintf("Middleware %d", r.PauseID)
		}
		s += fmt.Sprintf("; %s paused (SIGSTOP) for %s mid-run, then continued", who, secs(r.Pause))
	}
	return s
}

// Table is the comparison as one Markdown table, padded so that it also
// reads as plain text.
func (r *Result) Table() string {
	last, at := "delivery", ""
	if r.Pause > 0 {
		last, at = "during the pause", " (not paused)"
	}
	rows := [][]string{{"protocol", "agreement", "ordering mean / p99" + at, "end-to-end mean / p99" + at, "control/msg", "with heartbeats", last}}
	for _, row := range r.Rows {
		rows = append(rows, row.cells(r.Pause > 0))
	}
	return markdown(rows)
}

// cells is the row in the table.
func (r Row) cells(pause bool) []string {
	name := r.Protocol
	if !r.Orders {
		name += " (orders nothing)"
	}
	if r.Err != "" {
		return []string{name, "–", "–", "–", "–", "–", r.Err}
	}
	agreement := r.Agreement.String()
	if r.Agreement.OK && !r.Complete {
		agreement = fmt.Sprintf("ok through #%d", r.Agreement.Common)
	}
	all := "–"
	if r.AllControls >= 0 {
		all = fmt.Sprintf("%.1f", r.AllControlPerMsg)
	}
	last := r.Delivery()
	if pause && r.Pause != nil {
		last = r.Pause.String()
	}
	ord, e2e := r.Latencies()
	return []string{name, agreement,
		ms(ord.Mean, ord.Count) + " / " + ms(ord.P99, ord.Count),
		ms(e2e.Mean, e2e.Count) + " / " + ms(e2e.P99, e2e.Count),
		fmt.Sprintf("%.1f", r.ControlPerMsg), all, last}
}

// markdown lays out rows (the first is the header) as a Markdown table
// with padded columns; "|" in a cell is escaped.
func markdown(rows [][]string) string {
	width := map[int]int{}
	for _, row := range rows {
		for i, c := range row {
			row[i] = strings.ReplaceAll(c, "|", `\|`)
			width[i] = max(width[i], utf8.RuneCountInString(row[i]), 3)
		}
	}
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for i, c := range row {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " |")
		}
		b.WriteString("\n")
	}
	for k, row := range rows {
		line(row)
		if k == 0 {
			rule := make([]string, len(row))
			for i := range row {
				rule[i] = strings.Repeat("-", width[i])
			}
			line(rule)
		}
	}
	return b.String()
}

// Definitions explain the columns, for the Markdown report.
const Definitions = `- **agreement**: the Ready lists compared position by position (seq): ` + "`ok`" + `, or the first
  position where two middlewares delivered different messages, and those two messages; anything
  else the order checker found (a duplicate, a gap in the seqs) is named there too.
- **ordering**: Received → Ready at each middleware, for every delivery: how long ordering held
  content back after it arrived. **end-to-end**: the sender's Sent → Ready.
  Mean and 99th percentile over every delivery at every middleware, in milliseconds; with a
  pause, at the middlewares not paused (the paused one's are the pause, whatever the protocol:
  compare.json has both).
- **control/msg**: control messages the workload added (all middlewares), per message delivered:
  those sent during the run less what the same lab sent while idle for a while before (at the
  same rate, kind by kind), so heartbeats and other periodic messages drop out; the agreement
  check's digests are left out too. **with heartbeats**: every control message sent during the
  run (the growth of the status lines' ` + "`control-sent`" + `) per message delivered.
- **during the pause**: who was paused, and what the others did meanwhile: "went on without it"
  when no other middleware went half the pause without a delivery (how many of the messages sent
  meanwhile they delivered before it ended, their longest gap, and how soon the paused one caught
  up after SIGCONT); "stalled" when they did (the longest gap); "stopped" when not everything was
  delivered in the end (the wait ends after a stretch with no delivery at all).
`

// Markdown is the report: what was run, the table, the definitions and
// the order checker's verdicts.
func (r *Result) Markdown() string {
	var b strings.Builder
	b.WriteString("# Protocols compared\n\n")
	fmt.Fprintf(&b, "%s.\nMachine: %s. Started %s.\n\n", r.Summary(), r.Machine, r.Started.Format("2006-01-02 15:04 MST"))
	b.WriteString(r.Table())
	b.WriteString("\n![the same as a chart](compare.png)\n\n")
	b.WriteString(Definitions)
	b.WriteString("\nThe order checker on each run:\n\n")
	for _, row := range r.Rows {
		v := row.Verdict
		if row.Err != "" {
			v = row.Err
		}
		fmt.Fprintf(&b, "- %s: %s\n", row.Protocol, v)
	}
	b.WriteString("\nEach run's events logs are in its protocol's folder; draw one with `" + launcher.Command("timeline", "<folder>") + "`.\n")
	return b.String()
}
