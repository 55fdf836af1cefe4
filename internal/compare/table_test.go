package compare

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"totalorder/middleware/check"
)

func exampleResult(pause bool) *Result {
	r := &Result{N: 5, Each: 20, Rate: 4, MaxSleep: time.Second, Seed: 1, Machine: "test"}
	raft := Row{Protocol: "raft", Orders: true, Sent: 100, Delivered: 100, Complete: true, Everyone: 100,
		Agreement:     Agreement{OK: true, Common: 100},
		Ordering:      check.Stats{Count: 500, Mean: 12 * time.Millisecond, P99: 45 * time.Millisecond},
		EndToEnd:      check.Stats{Count: 500, Mean: 600 * time.Millisecond, P99: 990 * time.Millisecond},
		ControlPerMsg: 3.46, AllControls: 4000, AllControlPerMsg: 40, Verdict: "OK: raft"}
	none := Row{Protocol: "none", Sent: 100, Delivered: 100, Complete: true, Everyone: 100,
		Agreement: Agreement{At: 7, A: Side{1, msg(2, 3)}, B: Side{4, msg(1, 5)}, Differ: 93, Common: 100},
		Ordering:  check.Stats{Count: 500}, EndToEnd: check.Stats{Count: 500, Mean: 500 * time.Millisecond, P99: 980 * time.Millisecond},
		AllControls: -1, Verdict: "VIOLATION total order: …"}
	isis := Row{Protocol: "isis", Orders: true, Sent: 100, Delivered: 40, Everyone: 37,
		Stopped:   "37 of 100 delivered everywhere; M1: waiting for Middleware 5's proposal | really",
		Agreement: Agreement{OK: true, Common: 37},
		Ordering:  check.Stats{Count: 190, Mean: 1500 * time.Millisecond, P99: 3 * time.Second},
		EndToEnd:  check.Stats{Count: 190, Mean: 2 * time.Second, P99: 3500 * time.Millisecond}, ControlPerMsg: 12}
	broken := Row{Protocol: "lamport", Orders: true, Err: "did not start: port in use"}
	if pause {
		r.Pause = 3 * time.Second
		raft.Pause = &Pause{PauseSpan: PauseSpan{MW: 2, Leader: true, From: 1e6, To: 4e6}, SentDuring: 40, During: 36,
			Gap: 700 * time.Millisecond, CaughtUp: true, CatchUp: 5 * time.Millisecond}
		none.Pause = &Pause{PauseSpan: PauseSpan{MW: 5, From: 1e6, To: 4e6}, SentDuring: 40, During: 40, Gap: 90 * time.Millisecond, CaughtUp: true}
		isis.Pause = &Pause{PauseSpan: PauseSpan{MW: 5, From: 1e6, To: 4e6}, SentDuring: 40, Gap: 9 * time.Second, Stopped: isis.Stopped}
	}
	r.Rows = []Row{raft, isis, broken, none}
	for i := range r.Rows {
		if p := r.Rows[i].Pause; p != nil {
			p.Ordering, p.EndToEnd = r.Rows[i].Ordering, r.Rows[i].EndToEnd
		}
	}
	return r
}

func TestTable(t *testing.T) {
	for _, pause := range []bool{false, true} {
		r := exampleResult(pause)
		if pause { // the latencies shown are the others'
			r.Rows[0].Pause.Ordering = check.Stats{Count: 400, Mean: 11 * time.Millisecond, P99: 44 * time.Millisecond}
		}
		tab := r.Table()
		lines := strings.Split(strings.TrimSuffix(tab, "\n"), "\n")
		if len(lines) != 2+len(r.Rows) {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), 2+len(r.Rows), tab)
		}
		for _, l := range lines {
			if utf8.RuneCountInString(l) != utf8.RuneCountInString(lines[0]) || !strings.HasPrefix(l, "| ") || !strings.HasSuffix(l, " |") {
				t.Fatalf("columns not aligned:\n%s", tab)
			}
		}
		cells := func(i int) []string {
			var out []string
			// split on " | " but not on an escaped "\|"
			for _, c := range strings.Split(strings.Trim(lines[i], "|"), " | ") {
				out = append(out, strings.TrimSpace(c))
			}
			return out
		}
		head := cells(0)
		wantLast := "delivery"
		if pause {
			wantLast = "during the pause"
		}
		if head[0] != "protocol" || head[1] != "agreement" || head[len(head)-1] != wantLast {
			t.Errorf("header %q", head)
		}
		raft, isis, broken, none := cells(2), cells(3), cells(4), cells(5)
		want := []string{"raft", "ok", "12 ms / 45 ms", "600 ms / 990 ms", "3.5", "40.0"}
		if pause {
			want[2] = "11 ms / 44 ms"
			if head[2] != "ordering mean / p99 (not paused)" {
				t.Errorf("header %q", head)
			}
		}
		for i, w := range want {
			if raft[i] != w {
				t.Errorf("raft column %d: %q, want %q", i, raft[i], w)
			}
		}
		if none[0] != "none (orders nothing)" || none[1] != "differs at #7: M1 has #2 of M3, M4 has #1 of M5 (93 positions differ)" ||
			none[2] != "0.0 ms / 0.0 ms" || none[5] != "–" {
			t.Errorf("none: %q", none)
		}
		if isis[1] != "ok through #37" || !strings.Contains(lines[3], `proposal \| really`) {
			t.Errorf("isis: %q", isis)
		}
		if broken[1] != "–" || broken[len(broken)-1] != "did not start: port in use" {
			t.Errorf("lamport: %q", broken)
		}
		last := raft[len(raft)-1]
		if !pause && last != "all 100 delivered everywhere" {
			t.Errorf("raft delivery: %q", last)
		}
		if pause && last != "M2 (leader): went on without it (36 of 40 sent meanwhile delivered, longest gap 700 ms); it caught up 5 ms after resuming" {
			t.Errorf("raft pause: %q", last)
		}
		if isisLast := isis[len(isis)-1]; pause && !strings.HasPrefix(isisLast, "M5: stalled 9.0 s; stopped: 37 of 100") ||
			!pause && !strings.HasPrefix(isisLast, "stalled: 37 of 100 delivered everywhere; M1: waiting") {
			t.Errorf("isis last cell: %q", isisLast)
		}
	}
}

func TestMarkdown(t *testing.T) {
	r := exampleResult(true)
	md := r.Markdown()
	for _, want := range []string{"# Protocols compared", r.Summary(), "Machine: test", r.Table(), "compare.png",
		"- raft: OK: raft", "- lamport: did not start: port in use", "**control/msg**"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(r.Summary(), "paused (SIGSTOP) for 3.0 s") {
		t.Errorf("summary %q", r.Summary())
	}
}
