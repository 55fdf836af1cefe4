package check

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func msg(k, mw int) string { return fmt.Sprintf("Msg #%d from Middleware %d", k, mw) }

func senderOf(t testing.TB, m string) int {
	var k, mw int
	if _, err := fmt.Sscanf(m, "Msg #%d from Middleware %d", &k, &mw); err != nil {
		t.Fatalf("bad test message %q: %v", m, err)
	}
	return mw
}

// group builds the logs of a clean run: middlewares 1..n each send their
// messages of order (message k is sent at 1000k µs), receive every message
// and deliver order with seq 1, 2, 3…
func group(t testing.TB, n int, order []string) []Incarnation {
	incs := make([]Incarnation, n)
	for i := range incs {
		mw := i + 1
		inc := &incs[i]
		inc.MW = mw
		for k, m := range order {
			if senderOf(t, m) == mw {
				inc.Entries = append(inc.Entries, Entry{Kind: Sent, Msg: m, TS: int64(1000 * k)})
			}
		}
		for k, m := range order {
			inc.Entries = append(inc.Entries, Entry{Kind: Received, Msg: m, TS: int64(1000*k + 100 + 10*mw)})
		}
		for k, m := range order {
			inc.Entries = append(inc.Entries, Entry{Kind: Ready, Msg: m, TS: int64(1000*k + 500), Seq: uint64(k + 1)})
		}
	}
	return incs
}

// roundRobin returns count messages sent by middlewares 1..n in turn.
func roundRobin(n, count int) []string {
	order := make([]string, count)
	for k := range order {
		order[k] = msg(k/n+1, k%n+1)
	}
	return order
}

// readies returns the Ready entries of inc.
func readies(inc *Incarnation) []*Entry {
	var r []*Entry
	for i := range inc.Entries {
		if inc.Entries[i].Kind == Ready {
			r = append(r, &inc.Entries[i])
		}
	}
	return r
}

// dropReady removes inc's Ready entries from seq `from` on, as if it
// crashed after delivering seq from-1.
func dropReady(inc *Incarnation, from uint64) {
	kept := inc.Entries[:0]
	for _, e := range inc.Entries {
		if e.Kind != Ready || e.Seq < from {
			kept = append(kept, e)
		}
	}
	inc.Entries = kept
}

var agree = Options{Agreement: true}

func expectOK(t *testing.T, incs []Incarnation, opt Options) *Report {
	t.Helper()
	rep, err := Check(incs, opt)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.Violation != nil || !strings.HasPrefix(rep.Verdict, "OK: ") {
		t.Fatalf("report disagrees with nil error: violation %v, verdict %q", rep.Violation, rep.Verdict)
	}
	return rep
}

func expectViolation(t *testing.T, incs []Incarnation, opt Options, property string) *Violation {
	t.Helper()
	rep, err := Check(incs, opt)
	var v *Violation
	if !errors.As(err, &v) {
		t.Fatalf("Check: got %v, want a %s violation", err, property)
	}
	if v.Property != property {
		t.Fatalf("got %v, want a %s violation", v, property)
	}
	if rep == nil || rep.Violation != v || !strings.HasPrefix(rep.Verdict, v.Error()) || len(rep.Violations) == 0 || rep.Violations[0] != v {
		t.Fatalf("report does not carry the violation: %+v", rep)
	}
	t.Log(v)
	return v
}

func TestCleanRunPasses(t *testing.T) {
	rep := expectOK(t, group(t, 5, roundRobin(5, 40)), agree)
	if rep.Middlewares != 5 || rep.Messages != 40 {
		t.Errorf("got %d middlewares, %d messages; want 5, 40", rep.Middlewares, rep.Messages)
	}
	want := "OK: total order, integrity, agreement and contiguous seq hold for 5 middlewares, 40 messages"
	if rep.Verdict != want {
		t.Errorf("verdict %q, want %q", rep.Verdict, want)
	}
	if rep.Overall.Ready != 200 || rep.Overall.Sent != 40 || rep.Overall.Received != 200 {
		t.Errorf("overall counts %+v", rep.Overall)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %q", rep.Warnings)
	}
}

func TestTotalOrderSwap(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	r := readies(&incs[2])
	r[1].Msg, r[2].Msg = r[2].Msg, r[1].Msg
	v := expectViolation(t, incs, agree, PropTotalOrder)
	first := `Middleware 1 and 3 disagree at #2: "Msg #1 from Middleware 2" vs "Msg #1 from Middleware 3"`
	want := "2 positions carry different messages at different middlewares; first: " + first
	if v.Detail != want || v.Count != 2 || len(v.Examples) != 2 || v.Examples[0] != first {
		t.Errorf("detail\n %s\nwant\n %s\n(count %d, examples %q)", v.Detail, want, v.Count, v.Examples)
	}
	if got := v.Error(); got != "VIOLATION total order: "+want {
		t.Errorf("Error() = %q", got)
	}
}

// TestEveryFailureReported breaks several properties at once, many times:
// each kind is reported with its count and its earliest examples, and the
// error carries them all.
func TestEveryFailureReported(t *testing.T) {
	order := roundRobin(3, 600)
	incs := group(t, 3, order)
	r := readies(&incs[2])
	for k := 505; k+1 < 600; k += 2 { // swap pairs from seq 506 on: 94 positions
		r[k].Msg, r[k+1].Msg = r[k+1].Msg, r[k].Msg
	}
	dropReady(&incs[1], 590) // Middleware 2 stops early: agreement
	rep, err := Check(incs, agree)
	var vs Violations
	if !errors.As(err, &vs) {
		t.Fatalf("Check: %v, want Violations", err)
	}
	var v *Violation
	if !errors.As(err, &v) || v != vs[0] {
		t.Fatal("errors.As does not find the first violation")
	}
	got := map[string]*Violation{}
	for _, v := range vs {
		got[v.Property+": "+fmt.Sprintf(v.what, v.Count)] = v
	}
	slot := got["total order: 94 positions carry different messages at different middlewares"]
	if slot == nil {
		t.Fatalf("no count of the positions that differ: %v", err)
	}
	if !strings.Contains(slot.Examples[0], "at #506") || !strings.Contains(slot.Examples[1], "at #507") || len(slot.Examples) != 3 {
		t.Errorf("the first examples are not the earliest seqs: %q", slot.Examples)
	}
	if !strings.HasPrefix(slot.Detail, "94 positions carry different messages at different middlewares; first: ") {
		t.Errorf("detail %q", slot.Detail)
	}
	if got["agreement: 11 messages not delivered by every survivor that had to"] == nil {
		t.Errorf("agreement not reported with its count: %v", err)
	}
	if len(rep.Violations) != len(vs) || !strings.Contains(rep.Verdict, "agreement") || !strings.Contains(rep.Verdict, "total order") {
		t.Errorf("the report does not carry every violation: %q", rep.Verdict)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "VIOLATION total order: 94 positions") || !strings.Contains(text.String(), "  e.g. ") {
		t.Errorf("text report:\n%s", text.String())
	}
	js, _ := json.Marshal(rep)
	if !strings.Contains(string(js), `"count":94`) || !strings.Contains(string(js), `"examples":[`) {
		t.Errorf("JSON lacks counts or examples: %s", js)
	}
}

// TestGapInLogIsIncomplete: Middleware 2's log lost events (a full disk)
// in the middle, including sent and ready events. The checker says its
// log is incomplete and names the gap; it blames nobody.
// cutGap removes inc's entries logged in [from, to) and marks the gap.
func cutGap(inc *Incarnation, from, to int64) {
	slices.SortStableFunc(inc.Entries, func(a, b Entry) int { return cmp.Compare(a.TS, b.TS) }) // log order
	var kept []Entry
	var first, last int64
	lost := 0
	for _, e := range inc.Entries {
		if e.TS >= from && e.TS < to {
			if lost == 0 {
				first = e.TS
			}
			last = e.TS
			lost++
			continue
		}
		if e.TS >= to && len(inc.Gaps) == 0 {
			inc.Gaps = append(inc.Gaps, Gap{After: len(kept), Count: lost, FromTS: first, ToTS: last, Error: "no space left"})
		}
		kept = append(kept, e)
	}
	inc.Entries = kept
}

func TestGapInLogIsIncomplete(t *testing.T) {
	order := roundRobin(3, 30)
	incs := group(t, 3, order)
	inc := &incs[1]
	cutGap(inc, 10000, 20000)
	rep := expectOK(t, incs, agree)
	if len(rep.Incomplete) == 0 || !strings.Contains(rep.Incomplete[0], "Middleware 2's events log is incomplete") ||
		!strings.Contains(rep.Incomplete[0], "no space left") {
		t.Fatalf("incomplete: %q", rep.Incomplete)
	}
	if !strings.Contains(rep.Verdict, "incomplete logs") {
		t.Errorf("verdict %q does not mention the incomplete log", rep.Verdict)
	}
	// Without the gap the same logs blame Middleware 2.
	inc.Gaps = nil
	if _, err := Check(incs, agree); err == nil {
		t.Fatal("the logs pass without their gap: the test shows nothing")
	}

	// Every log loses the same stretch (one full disk under all of them):
	// some messages then have no ready event anywhere.
	incs = group(t, 3, order)
	for i := range incs {
		cutGap(&incs[i], 10300, 20000)
	}
	rep = expectOK(t, incs, agree)
	if !strings.Contains(strings.Join(rep.Incomplete, "\n"), "have no ready event in any log") {
		t.Errorf("incomplete: %q", rep.Incomplete)
	}
	for i := range incs {
		incs[i].Gaps = nil
	}
	if _, err := Check(incs, agree); err == nil {
		t.Fatal("the logs pass without their gaps: the test shows nothing")
	}
}

// A message at two different seqs is a total order violation even where
// no seq holds two messages: here Middleware 2 rejoined at seq 3.
func TestTotalOrderSameMessageTwoSeqs(t *testing.T) {
	a, b := msg(1, 1), msg(2, 1)
	incs := []Incarnation{
		{MW: 1, Entries: []Entry{
			{Kind: Sent, Msg: a, TS: 1}, {Kind: Sent, Msg: b, TS: 2},
			{Kind: Ready, Msg: a, TS: 3, Seq: 1}, {Kind: Ready, Msg: b, TS: 4, Seq: 2},
		}},
		{MW: 2, Run: "first", Entries: []Entry{{Kind: Ready, Msg: a, TS: 3, Seq: 1}}},
		{MW: 2, Run: "second", Entries: []Entry{{Kind: Ready, Msg: b, TS: 9, Seq: 3}}},
	}
	v := expectViolation(t, incs, Options{}, PropTotalOrder)
	want := `Middleware 1 delivered "Msg #2 from Middleware 1" at seq 2 but Middleware 2 (incarnation 2 of 2, run second) delivered it at seq 3`
	if v.Detail != want {
		t.Errorf("detail\n %s\nwant\n %s", v.Detail, want)
	}
}

func TestSeqGap(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	for _, e := range readies(&incs[1])[3:] {
		e.Seq++
	}
	v := expectViolation(t, incs, Options{}, PropContiguousSeq)
	if !strings.Contains(v.Detail, "at seq 5 right after seq 3") {
		t.Errorf("detail %q does not locate the gap", v.Detail)
	}
}

func TestFirstIncarnationStartsAtSeqOne(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	for _, e := range readies(&incs[0]) {
		e.Seq += 2
	}
	v := expectViolation(t, incs, Options{}, PropContiguousSeq)
	if !strings.Contains(v.Detail, "started delivering at seq 3") {
		t.Errorf("detail %q", v.Detail)
	}
}

func TestReadyWithoutSeq(t *testing.T) {
	incs := group(t, 2, roundRobin(2, 4))
	readies(&incs[1])[2].Seq = 0
	expectViolation(t, incs, Options{}, PropContiguousSeq)
}

func TestDuplicateDelivery(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	r := readies(&incs[1])
	r[4].Msg = r[1].Msg
	v := expectViolation(t, incs, Options{}, PropIntegrity)
	if !strings.Contains(v.Detail, "twice") {
		t.Errorf("detail %q", v.Detail)
	}
}

func TestDeliveredButNotSent(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	ghost := msg(99, 3)
	for i := range incs {
		inc := &incs[i]
		inc.Entries = append(inc.Entries,
			Entry{Kind: Received, Msg: ghost, TS: 9000},
			Entry{Kind: Ready, Msg: ghost, TS: 9100, Seq: 7})
	}
	v := expectViolation(t, incs, agree, PropIntegrity)
	if !strings.Contains(v.Detail, "no log shows it sent") {
		t.Errorf("detail %q", v.Detail)
	}
	rep := expectOK(t, incs, Options{Agreement: true, AllowUnsent: true})
	if rep.Messages != 7 {
		t.Errorf("messages %d, want 7 (sent or delivered)", rep.Messages)
	}
}

func TestMissingDeliveryAtQuiescence(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	dropReady(&incs[2], 6)
	v := expectViolation(t, incs, agree, PropAgreement)
	want := `Middleware 3 (last seq 5) never delivered "Msg #2 from Middleware 3" (sent by Middleware 3, seq 6 at Middleware 1)`
	if v.Detail != want {
		t.Errorf("detail\n %s\nwant\n %s", v.Detail, want)
	}
	expectOK(t, incs, Options{})                                                // agreement off
	expectOK(t, incs, Options{Agreement: true, Crashed: map[int]bool{3: true}}) // it crashed
}

func TestSentButDeliveredByNobody(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	lost := msg(9, 2)
	incs[1].Entries = append(incs[1].Entries, Entry{Kind: Sent, Msg: lost, TS: 9000})
	v := expectViolation(t, incs, agree, PropAgreement)
	if !strings.Contains(v.Detail, "was never delivered by Middleware 1 (last seq 6), Middleware 2 (last seq 6), Middleware 3 (last seq 6)") {
		t.Errorf("detail %q", v.Detail)
	}
	// Sent by a middleware that then crashed, reaching nobody: allowed.
	expectOK(t, incs, Options{Agreement: true, Crashed: map[int]bool{2: true}})
}

func TestCrashedSenderReachingSomeSurvivors(t *testing.T) {
	// Middleware 4 sends the last message and crashes; 1 and 2 deliver it,
	// 3 does not.
	order := roundRobin(4, 8)
	incs := group(t, 4, order)
	dropReady(&incs[3], 7) // the crashed one got no further than seq 6
	dropReady(&incs[2], 8)
	crashed4 := Options{Agreement: true, Crashed: map[int]bool{4: true}}
	v := expectViolation(t, incs, crashed4, PropAgreement)
	if !strings.Contains(v.Detail, `"Msg #2 from Middleware 4" sent by crashed Middleware 4 was delivered by Middleware 1 (seq 8) but not by Middleware 3 (last seq 7)`) {
		t.Errorf("detail %q", v.Detail)
	}
	// Delivered by no survivor at all: fine.
	dropReady(&incs[0], 8)
	dropReady(&incs[1], 8)
	expectOK(t, incs, crashed4)
}

func TestCrashedPrefixIsFine(t *testing.T) {
	incs := group(t, 5, roundRobin(5, 20))
	dropReady(&incs[4], 9)
	expectOK(t, incs, Options{Agreement: true, Crashed: map[int]bool{5: true}})
	expectViolation(t, incs, agree, PropAgreement)
}

// rejoin splits middleware mw's log into two incarnations: the first
// crashes after delivering seq crashAfter, the second rejoins and delivers
// from seq rejoinAt on.
func rejoin(incs []Incarnation, mw int, crashAfter, rejoinAt uint64) []Incarnation {
	var out []Incarnation
	for _, inc := range incs {
		if inc.MW != mw {
			out = append(out, inc)
			continue
		}
		first := Incarnation{MW: mw, Run: "a"}
		second := Incarnation{MW: mw, Run: "b"}
		for _, e := range inc.Entries {
			switch {
			case e.Kind == Ready && e.Seq <= crashAfter:
				first.Entries = append(first.Entries, e)
			case e.Kind == Ready && e.Seq >= rejoinAt:
				second.Entries = append(second.Entries, e)
			case e.Kind != Ready && e.TS < 6000:
				first.Entries = append(first.Entries, e)
			case e.Kind != Ready:
				second.Entries = append(second.Entries, e)
			}
		}
		out = append(out, first, second)
	}
	return out
}

func TestRejoinedIncarnationStartingAtSeven(t *testing.T) {
	incs := rejoin(group(t, 3, roundRobin(3, 12)), 2, 3, 7)
	rep := expectOK(t, incs, agree)
	if got := rep.PerMW[1].Incarnations; got != 2 {
		t.Errorf("middleware 2 incarnations = %d, want 2", got)
	}

	// The rejoined incarnation must still deliver to the end.
	short := rejoin(group(t, 3, roundRobin(3, 12)), 2, 3, 7)
	dropReady(&short[2], 12)
	v := expectViolation(t, short, agree, PropAgreement)
	if !strings.Contains(v.Detail, "Middleware 2 (incarnation 2 of 2, run b) (last seq 11)") {
		t.Errorf("detail %q does not name the incarnation", v.Detail)
	}
}

func TestEmptyInput(t *testing.T) {
	rep := expectOK(t, nil, agree)
	if rep.Messages != 0 || rep.Middlewares != 0 {
		t.Errorf("report %+v", rep)
	}
}

// TestBounds checks latency, the content-arrival bound and the send-order
// reference on a run small enough to work
// out by hand (times in µs):
//
//	sent:      a by 1 at 0, b by 2 at 10, c by 1 at 20
//	MW 1 recv: a 100, c 120, b 300;          ready a 110, b 310, c 320
//	MW 2 recv: b 50, a 200, c 210, a 250;    ready a 205, b 206, c 215
func TestBounds(t *testing.T) {
	a, b, c := msg(1, 1), msg(1, 2), msg(2, 1)
	incs := []Incarnation{
		{MW: 1, Entries: []Entry{
			{Kind: Sent, Msg: a, TS: 0}, {Kind: Sent, Msg: c, TS: 20},
			{Kind: Received, Msg: a, TS: 100}, {Kind: Ready, Msg: a, TS: 110, Seq: 1},
			{Kind: Received, Msg: c, TS: 120}, {Kind: Received, Msg: b, TS: 300},
			{Kind: Ready, Msg: b, TS: 310, Seq: 2}, {Kind: Ready, Msg: c, TS: 320, Seq: 3},
		}},
		{MW: 2, Entries: []Entry{
			{Kind: Sent, Msg: b, TS: 10}, {Kind: Received, Msg: b, TS: 50},
			{Kind: Received, Msg: a, TS: 200}, {Kind: Ready, Msg: a, TS: 205, Seq: 1},
			{Kind: Ready, Msg: b, TS: 206, Seq: 2}, {Kind: Received, Msg: c, TS: 210},
			{Kind: Ready, Msg: c, TS: 215, Seq: 3}, {Kind: Received, Msg: a, TS: 250},
		}},
	}
	rep := expectOK(t, incs, agree)
	us := func(v ...int64) Stats { // mean, p50, p99, max, count
		return Stats{Count: int(v[4]), Mean: time.Duration(v[0]), P50: time.Duration(v[1]) * time.Microsecond,
			P99: time.Duration(v[2]) * time.Microsecond, Max: time.Duration(v[3]) * time.Microsecond}
	}
	mw1, mw2, all := rep.PerMW[0].Latency, rep.PerMW[1].Latency, rep.Overall.Latency
	checks := []struct {
		name      string
		got, want Stats
	}{
		// latency: MW 1 110, 300, 300; MW 2 205, 196, 195
		{"MW 1 ready", mw1.Ready, us(710_000/3, 300, 300, 300, 3)},
		{"MW 2 ready", mw2.Ready, us(596_000/3, 196, 205, 205, 3)},
		{"all ready", all.Ready, us(1_306_000/6, 196, 300, 300, 6)},
		// content arrival: MW 1 100, 290, 100; MW 2 200, 40, 190
		{"MW 1 arrival", mw1.ContentArrival, us(490_000/3, 100, 290, 290, 3)},
		{"MW 2 arrival", mw2.ContentArrival, us(430_000/3, 190, 200, 200, 3)},
		// send order a, b, c: MW 1 waits for b (300) before c: 100, 290, 280;
		// MW 2 has b at 50 but waits for a (200): 200, 190, 190
		{"MW 1 send order", mw1.SendOrder, us(670_000/3, 280, 290, 290, 3)},
		{"MW 2 send order", mw2.SendOrder, us(580_000/3, 190, 200, 200, 3)},
		{"all send order", all.SendOrder, us(1_250_000/6, 190, 290, 290, 6)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, c.got, c.want)
		}
	}
	if want := 710.0 / 670.0; mw1.Ratio < want-1e-3 || mw1.Ratio > want+1e-3 {
		t.Errorf("MW 1 ratio %.4f, want %.4f", mw1.Ratio, want)
	}
	if got := rep.PerMW[1].DuplicateReceived; got != 1 {
		t.Errorf("MW 2 duplicate receipts = %d, want 1", got)
	}
	var text strings.Builder
	rep.WriteText(&text)
	for _, want := range []string{"0.237 / 0.300 / 0.300", "0.223 / 0.280 / 0.290", "1.06x", rep.Verdict,
		"Lower bound: content arrival", "Reference: delivery in send order (not a bound",
		"content arrival (lower bound)", "send order (reference)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	// Only content arrival is a bound: a middleware may beat send order.
	if l := strings.ToLower(text.String()); strings.Count(l, "bound") != strings.Count(l, "lower bound")+strings.Count(l, "not a bound") {
		t.Errorf("the text report calls something other than content arrival a bound:\n%s", text.String())
	}
}

func BenchmarkCheck5x10000(b *testing.B) {
	incs := group(b, 5, roundRobin(5, 10_000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(incs, agree); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReusedNameWarns(t *testing.T) {
	incs := group(t, 2, roundRobin(2, 4))
	incs[1].Entries = append(incs[1].Entries, Entry{Kind: Sent, Msg: msg(1, 1), TS: 5000})
	rep := expectOK(t, incs, agree)
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], `1 message name(s) sent more than once, e.g. "Msg #1 from Middleware 1" by Middleware 1 and Middleware 2`) {
		t.Errorf("warnings %q", rep.Warnings)
	}
}
