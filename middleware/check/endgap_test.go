package check

import (
	"strconv"
	"strings"
	"testing"
)

// cutEnd removes inc's deliveries logged at or after from, as if its
// disk stayed full until it exited, and marks them as a final gap of
// count events (what its "lost" line with "final":true says). Only
// deliveries are cut, so that the test is about them alone.
func cutEnd(inc *Incarnation, from int64, count int) {
	var kept []Entry
	var first, last int64
	for _, e := range inc.Entries {
		if e.Kind == Ready && e.TS >= from {
			if first == 0 {
				first = e.TS
			}
			last = e.TS
			continue
		}
		kept = append(kept, e)
	}
	inc.Entries = kept
	inc.Gaps = append(inc.Gaps, Gap{After: len(kept), Count: count, FromTS: first, ToTS: last, Error: "no space left", End: true})
}

// A middleware whose disk stayed full until it exited could not log its
// last deliveries: its log says so in a final "lost" line, and the
// checker reports the log as incomplete instead of blaming it for not
// delivering them.
func TestEndGapIsIncompleteNotADisagreement(t *testing.T) {
	order := roundRobin(3, 12)
	incs := group(t, 3, order)
	// Middleware 2 logged nothing from 8.5 ms on: its readies of seq 9–12
	// (at 8.5, 9.5, 10.5, 11.5 ms), 4 events.
	cutEnd(&incs[1], 8500, 4)
	rep := expectOK(t, incs, agree)
	if len(rep.Incomplete) != 1 || !strings.Contains(rep.Incomplete[0],
		"Middleware 2's events log is incomplete: its last 4 events, from 00:00:00.008500 to 00:00:00.011500 (UTC), were not written before it exited (no space left)") {
		t.Errorf("incomplete %q", rep.Incomplete)
	}
	// Without its final line the same log is a disagreement, as before.
	bare := group(t, 3, order)
	cutEnd(&bare[1], 8500, 4)
	bare[1].Gaps = nil
	v := expectViolation(t, bare, agree, PropAgreement)
	if !strings.Contains(v.Detail, "Middleware 2 (last seq 8) never delivered") {
		t.Errorf("detail %q", v.Detail)
	}
	// A final gap excuses no more deliveries than it had events.
	short := group(t, 3, order)
	cutEnd(&short[1], 8500, 3)
	v = expectViolation(t, short, agree, PropAgreement)
	if !strings.Contains(v.Detail, `never delivered "Msg #4 from Middleware 3"`) || v.Count != 1 {
		t.Errorf("detail %q (count %d), want only seq 12 required", v.Detail, v.Count)
	}
	// A gap after its last logged delivery that its writer did not mark
	// final (another middleware freed room on the shared disk just
	// before it closed, so its marker came out as an ordinary one, with
	// a received event after it) may hold those deliveries as well.
	trailing := group(t, 3, order)
	cutEnd(&trailing[1], 8500, 4)
	trailing[1].Gaps[0].End = false
	trailing[1].Entries = append(trailing[1].Entries, Entry{Kind: Received, Msg: msg(9, 9), TS: 20000})
	rep = expectOK(t, trailing, agree)
	if len(rep.Incomplete) != 1 || !strings.Contains(rep.Incomplete[0], "4 events from 00:00:00.008500 to 00:00:00.011500 (UTC) were not written") {
		t.Errorf("incomplete %q", rep.Incomplete)
	}
	// A gap before its last logged delivery excuses nothing after it.
	mid := group(t, 3, order)
	cutEnd(&mid[1], 3500, 2) // seq 4 and 5
	mid[1].Gaps[0].End = false
	for _, e := range readies(&group(t, 3, order)[1])[5:8] { // seq 6–8 logged after the gap
		mid[1].Entries = append(mid[1].Entries, *e)
	}
	v = expectViolation(t, mid, agree, PropAgreement)
	if !strings.Contains(v.Detail, "Middleware 2 (last seq 8) never delivered") || v.Count != 4 {
		t.Errorf("detail %q (count %d), want seq 9–12 required", v.Detail, v.Count)
	}
}

// The final "lost" line of a log becomes a gap at its end.
func TestParseFinalLostLine(t *testing.T) {
	ev := func(kind, m string, ts, seq int) string {
		s := `{"level":"info","event":"` + kind + `","msg":"` + m + `","ts_us":` + strconv.Itoa(ts)
		if seq > 0 {
			s += `,"seq":` + strconv.Itoa(seq)
		}
		return s + `,"mw":1,"run":"r1"}` + "\n"
	}
	log := ev("sent", msg(1, 1), 1, 0) + ev("ready", msg(1, 1), 2, 1) +
		`{"level":"warn","event":"lost","count":2,"from_ts_us":3,"to_ts_us":4,"error":"no space left","final":true,"mw":1,"run":"r1","ts_us":5}` + "\n"
	incs, warns, err := ParseReader(strings.NewReader(log), "middleware-1.jsonl")
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v, warnings %q", err, warns)
	}
	if len(incs) != 1 || len(incs[0].Gaps) != 1 {
		t.Fatalf("got %+v", incs)
	}
	if g := incs[0].Gaps[0]; g != (Gap{After: 2, Count: 2, FromTS: 3, ToTS: 4, Error: "no space left", End: true}) {
		t.Errorf("gap %+v", g)
	}
}
