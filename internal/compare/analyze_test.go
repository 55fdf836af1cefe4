package compare

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"totalorder/middleware/check"
	"totalorder/timeline"
)

func msg(k, i int) string { return fmt.Sprintf("Msg #%d from Middleware %d", k, i) }

// logs builds one incarnation per middleware 1..n from its entries.
type logs map[int][]check.Entry

func (l logs) incs() []check.Incarnation {
	var out []check.Incarnation
	for mw := 1; mw <= len(l); mw++ {
		out = append(out, check.Incarnation{MW: mw, Run: "r", Entries: l[mw]})
	}
	return out
}

func sent(m string, ts int64) check.Entry { return check.Entry{Kind: check.Sent, Msg: m, TS: ts} }
func recv(m string, ts int64) check.Entry { return check.Entry{Kind: check.Received, Msg: m, TS: ts} }
func ready(m string, ts int64, seq uint64) check.Entry {
	return check.Entry{Kind: check.Ready, Msg: m, TS: ts, Seq: seq}
}

func TestLatencies(t *testing.T) {
	a, b := msg(1, 1), msg(1, 2)
	l := logs{
		1: {sent(a, 1000), recv(a, 5000), recv(b, 6000), ready(a, 7000, 1), ready(b, 9000, 2)},
		2: {sent(b, 2000), recv(b, 3000), recv(b, 3500), recv(a, 4000), ready(a, 4000, 1), ready(b, 4500, 2)},
	}
	ord, e2e := Latencies(l.incs())
	// ordering: M1 a 2000, b 3000; M2 a 0, b 1500 (its first copy).
	// end-to-end: a 6000 and 3000; b 7000 and 2500.
	if ord.Count != 4 || ord.Mean != 1625*time.Microsecond || ord.Max != 3*time.Millisecond {
		t.Errorf("ordering %+v", ord)
	}
	if e2e.Count != 4 || e2e.Mean != 4625*time.Microsecond || e2e.Max != 7*time.Millisecond {
		t.Errorf("end-to-end %+v", e2e)
	}
	// A delivery with no Received or no Sent is left out of that measure.
	l = logs{1: {ready(a, 10, 1)}, 2: {sent(a, 5), ready(a, 20, 1)}}
	ord, e2e = Latencies(l.incs())
	if ord.Count != 0 || e2e.Count != 2 {
		t.Errorf("got %d ordering and %d end-to-end samples, want 0 and 2", ord.Count, e2e.Count)
	}
}

func TestFirstDivergence(t *testing.T) {
	m := func(ks ...int) []check.Entry {
		var es []check.Entry
		for i, k := range ks {
			es = append(es, ready(msg(k, 1), int64(i), uint64(i+1)))
		}
		return es
	}
	for _, c := range []struct {
		name string
		l    logs
		want Agreement
		text string
	}{
		{"same", logs{1: m(1, 2, 3), 2: m(1, 2, 3), 3: m(1, 2, 3)}, Agreement{OK: true, Common: 3}, "ok"},
		{"one behind", logs{1: m(1, 2, 3), 2: m(1, 2), 3: m(1, 2, 3)}, Agreement{OK: true, Common: 2}, "ok"},
		{"differ at 3", logs{1: m(1, 2, 3, 4), 2: m(1, 2, 3, 4), 3: m(1, 2, 4, 3)},
			Agreement{At: 3, A: Side{1, msg(3, 1)}, B: Side{3, msg(4, 1)}, Differ: 2, Common: 4},
			"differs at #3: M1 has #3 of M1, M3 has #4 of M1 (2 positions differ)"},
		{"differ at 1", logs{1: m(2, 1), 2: m(1, 2)},
			Agreement{At: 1, A: Side{1, msg(2, 1)}, B: Side{2, msg(1, 1)}, Differ: 2, Common: 2},
			"differs at #1: M1 has #2 of M1, M2 has #1 of M1 (2 positions differ)"},
		{"one position", logs{1: m(1, 2), 2: m(1, 3)},
			Agreement{At: 2, A: Side{1, msg(2, 1)}, B: Side{2, msg(3, 1)}, Differ: 1, Common: 2},
			"differs at #2: M1 has #2 of M1, M2 has #3 of M1"},
	} {
		got := FirstDivergence(c.l.incs())
		if got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
		if got.String() != c.text {
			t.Errorf("%s: %q, want %q", c.name, got.String(), c.text)
		}
	}
}

// What the order checker finds beyond the positions is reported; an
// incomplete run (its agreement property) is not an agreement failure.
func TestAgreementWithChecker(t *testing.T) {
	a, b := msg(1, 1), msg(2, 1)
	dup := logs{1: {sent(a, 1), sent(b, 2), ready(a, 3, 1), ready(a, 4, 2)}, 2: {ready(a, 3, 1), ready(a, 4, 2)}}
	rep, err := check.Check(dup.incs(), check.Options{})
	if err == nil {
		t.Fatal("the checker accepted a duplicate delivery")
	}
	got := FirstDivergence(dup.incs())
	got.withChecker(rep)
	if got.OK || got.Checker == "" || !strings.HasPrefix(got.String(), "VIOLATION") {
		t.Errorf("duplicate delivery: %+v (%q)", got, got.String())
	}

	behind := logs{1: {sent(a, 1), ready(a, 3, 1)}, 2: {}}
	rep, err = check.Check(behind.incs(), check.Options{Agreement: true})
	if err == nil {
		t.Fatal("the checker accepted an undelivered message")
	}
	got = FirstDivergence(behind.incs())
	got.withChecker(rep)
	if !got.OK || got.String() != "ok" {
		t.Errorf("an undelivered message made agreement %+v", got)
	}
}

func TestWorkloadControls(t *testing.T) {
	var cs []timeline.Control
	// Idle, 0..1000: heartbeats every 10, a hello and a raft heartbeat
	// every 100, digests.
	// Run, 2000..4000: the same, and 30 MsgApp, 10 propose, 50 digests,
	// 5 bodies.
	for ts := int64(0); ts <= 4000; ts += 10 {
		if ts > 1000 && ts < 2000 {
			continue
		}
		cs = append(cs, timeline.Control{Kind: "heartbeat", Out: ts})
		if ts%100 == 0 {
			cs = append(cs, timeline.Control{Kind: "hello", Out: ts}, timeline.Control{Kind: "MsgHeartbeat", Out: ts})
		}
		if ts%200 == 0 {
			cs = append(cs, timeline.Control{Kind: "digest", Out: ts})
		}
	}
	for i := int64(0); i < 50; i++ {
		ts := 2000 + 40*i
		cs = append(cs, timeline.Control{Kind: "digest", Out: ts}, timeline.Control{Kind: "digestask", Out: ts})
		if i < 30 {
			cs = append(cs, timeline.Control{Kind: "MsgApp", Out: ts})
		}
		if i < 10 {
			cs = append(cs, timeline.Control{Kind: "propose", Out: ts}, timeline.Control{Kind: "body", Out: ts})
		}
	}
	got := WorkloadControls(cs, Window{0, 1000}, Window{2000, 4000})
	// heartbeats: 201 in the run, 101 idle × 2 = 202: 0 (never below);
	// hello, MsgHeartbeat: 21 − 11 × 2: 0; MsgApp 30, propose 10.
	if got != 40 {
		t.Errorf("got %v, want 40", got)
	}
	// No idle window: everything but the digests and bodies counts.
	if got := WorkloadControls(cs, Window{}, Window{2000, 4000}); got != 201+21+21+40 {
		t.Errorf("no idle window: got %v, want %d", got, 201+21+21+40)
	}
}

// pauseRun makes a run of three middlewares, 3 paused from 1 s to 4 s
// (µs 1e6..4e6). Everyone sends every 100 ms from 0 until 6 s except 3
// during the pause; each message takes deliver(sentAt, mw) to be
// delivered at mw, or is never delivered when that is negative.
func pauseRun(deliver func(at int64, mw int) int64) []check.Incarnation {
	return pauseRunUntil(6e6, deliver)
}

// pauseRunUntil is pauseRun with the sending ending at until; when that
// is during the pause, 3 sends one message as it resumes (a send queued
// while it was stopped).
func pauseRunUntil(until int64, deliver func(at int64, mw int) int64) []check.Incarnation {
	l := logs{1: nil, 2: nil, 3: nil}
	type d struct {
		m  string
		at int64
	}
	var all []d
	k := map[int]int{}
	for at := int64(0); at < until; at += 1e5 {
		for mw := 1; mw <= 3; mw++ {
			if mw == 3 && at >= 1e6 && at <= 4e6 {
				continue
			}
			k[mw]++
			m := msg(k[mw], mw)
			ts := at
			if mw == 3 && at == 4.1e6 {
				ts = 4e6 // it resumed just before the pause's end was noted
			}
			l[mw] = append(l[mw], sent(m, ts))
			all = append(all, d{m, ts})
		}
	}
	if until <= 4e6 {
		k[3]++
		m := msg(k[3], 3)
		l[3] = append(l[3], sent(m, 4e6))
		all = append(all, d{m, 4e6})
	}
	for mw := 1; mw <= 3; mw++ {
		var seq uint64
		for _, x := range all {
			if ts := deliver(x.at, mw); ts >= 0 {
				seq++
				l[mw] = append(l[mw], recv(x.m, ts), ready(x.m, ts, seq))
			}
		}
	}
	return l.incs()
}

func TestAnalyzePause(t *testing.T) {
	span := PauseSpan{MW: 3, Leader: true, From: 1e6, To: 4e6}
	// The others go on; the paused one delivers everything 50 ms after it
	// resumes.
	wentOn := pauseRun(func(at int64, mw int) int64 {
		if mw == 3 && at+2e5 > 1e6 && at < 4e6 {
			return 4.05e6
		}
		return at + 2e5
	})
	p := AnalyzePause(wentOn, span, 7e6, true, "")
	if !p.WentOn() || p.SentDuring != 2*31 || p.During != 2*29 || p.Gap != 100*time.Millisecond || !p.CaughtUp || p.CatchUp != 50*time.Millisecond {
		t.Errorf("went on: %+v", p)
	}
	if got, want := p.String(), "M3 (leader): went on without it (58 of 62 sent meanwhile delivered, longest gap 100 ms); it caught up 50 ms after resuming"; got != want {
		t.Errorf("went on:\n got %q\nwant %q", got, want)
	}
	// The others' latencies leave out the paused one's (up to 3.05 s).
	if p.EndToEnd.Max != 200*time.Millisecond || p.EndToEnd.Count != 2*(2*60+29) {
		t.Errorf("others' end-to-end latency %+v", p.EndToEnd)
	}
	if _, all := Latencies(wentOn); all.Max <= 3*time.Second {
		t.Errorf("all end-to-end latencies %+v", all)
	}
	if p.Short() != "went on" {
		t.Errorf("short: %q", p.Short())
	}

	// The sending ends during the pause and the others go on: the
	// paused one's message sent as it resumes is no stall.
	short := pauseRunUntil(2e6, func(at int64, mw int) int64 {
		if mw == 3 && at+2e5 > 1e6 && at < 4e6 {
			return 4.05e6
		}
		return at + 2e5
	})
	if p := AnalyzePause(short, span, 7e6, true, ""); !p.WentOn() || p.Gap != 100*time.Millisecond || p.SentDuring != 2*10 {
		t.Errorf("sending ends during the pause: %+v", p)
	}

	// Everyone stalls until 200 ms after the pause (the messages sent as
	// it began still get through).
	stalled := pauseRun(func(at int64, mw int) int64 {
		if at+2e5 > 1.2e6 {
			return max(at, 4e6) + 2e5
		}
		return at + 2e5
	})
	p = AnalyzePause(stalled, span, 7e6, true, "")
	if p.WentOn() || p.Gap != 3*time.Second || p.During != 2 {
		t.Errorf("stalled: %+v", p)
	}
	if got, want := p.String(), "M3 (leader): stalled 3.0 s, then caught up"; got != want {
		t.Errorf("stalled: got %q, want %q", got, want)
	}
	if p.Short() != "stalled 3.0 s" {
		t.Errorf("short: %q", p.Short())
	}

	// Nothing more is delivered after the pause begins: stopped.
	stopped := pauseRun(func(at int64, mw int) int64 {
		if at+2e5 > 1e6 {
			return -1
		}
		return at + 2e5
	})
	p = AnalyzePause(stopped, PauseSpan{MW: 3, From: 1e6, To: 4e6}, 7e6, false, "8 of 161 delivered everywhere; M1: sequencer 3 lost")
	if p.WentOn() || p.Gap != 6*time.Second || p.Stopped == "" {
		t.Errorf("stopped: %+v", p)
	}
	if got, want := p.String(), "M3: stalled 6.0 s; stopped: 8 of 161 delivered everywhere; M1: sequencer 3 lost"; got != want {
		t.Errorf("stopped: got %q, want %q", got, want)
	}
	if p.Short() != "stopped" {
		t.Errorf("short: %q", p.Short())
	}
}
