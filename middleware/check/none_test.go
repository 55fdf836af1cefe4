package check

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// noneRun writes the logs of a run of -protocol none: five middlewares,
// each sends its share of count messages (some with a body), every copy
// arrives after its own random delay, and each middleware delivers what
// arrives at once, in arrival order (Ready is Received). It returns the
// file paths and each middleware's Ready list.
func noneRun(t *testing.T, dir string, count int, seed int64) (paths []string, ready [][]string) {
	t.Helper()
	const n = 5
	rng := rand.New(rand.NewSource(seed))
	logs := make([]strings.Builder, n+1)
	line := func(mw int, event, text string, ts int64, extra string) {
		fmt.Fprintf(&logs[mw], `{"level":"info","event":%q,"msg":%q,"ts_us":%d%s,"mw":%d,"run":"r%d"}`+"\n", event, text, ts, extra, mw, mw)
	}
	type arrival struct {
		ts   int64
		text string
	}
	arrivals := make([][]arrival, n+1)
	for k := range count {
		sender := k%n + 1
		text := msg(k/n+1, sender)
		if k%3 == 0 {
			text += ": Bid " + strconv.Itoa(100+k) + " on Lamp" // a body: part of the message's identity
		}
		sent := int64(1_000_000 + 10_000*k)
		line(sender, "sent", text, sent, "")
		for mw := 1; mw <= n; mw++ {
			arrivals[mw] = append(arrivals[mw], arrival{sent + rng.Int63n(200_000), text})
		}
	}
	ready = make([][]string, n+1)
	for mw := 1; mw <= n; mw++ {
		slices.SortFunc(arrivals[mw], func(a, b arrival) int { return int(a.ts - b.ts) })
		for i, a := range arrivals[mw] {
			line(mw, "received", a.text, a.ts, "")
			line(mw, "ready", a.text, a.ts+5, `,"seq":`+strconv.Itoa(i+1))
			ready[mw] = append(ready[mw], a.text)
		}
		paths = append(paths, writeFile(t, dir, "middleware-"+strconv.Itoa(mw)+".jsonl", logs[mw].String()))
	}
	return paths, ready
}

// A run without ordering fails the checker, which names the first
// position where two Ready lists differ and both messages there.
func TestNoneRunFailsAtTheFirstDivergence(t *testing.T) {
	dir := t.TempDir()
	paths, ready := noneRun(t, dir, 60, 1)
	incs, warns, err := ParseFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q", warns)
	}
	// Where the lists first differ, worked out here independently.
	first := 0
	for k := 0; k < len(ready[1]) && first == 0; k++ {
		for mw := 2; mw <= 5; mw++ {
			if ready[mw][k] != ready[1][k] {
				first = k + 1
				break
			}
		}
	}
	if first == 0 {
		t.Fatal("the synthesized run has one order: the test shows nothing")
	}
	v := expectViolation(t, incs, agree, PropTotalOrder)
	d := func() *Divergence { rep, _ := Check(incs, agree); return rep.Divergence }()
	if d == nil || d.Seq != uint64(first) {
		t.Fatalf("first divergence %+v, want at #%d", d, first)
	}
	if d.Here != ready[d.MW][first-1] || d.There != ready[d.Peer][first-1] || d.Here == d.There {
		t.Errorf("first divergence %+v does not name what Middleware %d and %d delivered at #%d", d, d.MW, d.Peer, first)
	}
	want := fmt.Sprintf("first: Middleware %d and %d disagree at #%d: %q vs %q", d.MW, d.Peer, first, d.Here, d.There)
	if !strings.HasSuffix(v.Detail, want) {
		t.Errorf("detail\n %s\ndoes not end with\n %s", v.Detail, want)
	}
	rep, _ := Check(incs, agree)
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), fmt.Sprintf("The logs first differ at #%d: Middleware %d delivered %q there", first, d.MW, d.Here)) {
		t.Errorf("text report:\n%s", text.String())
	}
	t.Logf("text report:\n%s", text.String())
}

// divergedLine is what a middleware writes when its live agreement check
// finds where its Ready list first differs from peer's.
func divergedLine(mw, peer int, seq uint64, here, there string, ts int64) string {
	return fmt.Sprintf(`{"level":"info","event":"diverged","msg":%q,"ts_us":%d,"seq":%d,"peer":%d,"there":%q,"mw":%d,"run":"r%d","time":"x"}`+"\n",
		here, ts, seq, peer, there, mw, mw)
}

// idOf drops a message's body, as the live check (which compares ids)
// writes it.
func idOf(text string) string { return strings.SplitN(text, ":", 2)[0] }

// The "diverged" lines of a none run are read, not counted as list
// changes, and reported beside the checker's own findings, each checked
// against the logs; one the logs contradict is also a warning.
func TestRecordedDivergencesAreReported(t *testing.T) {
	dir := t.TempDir()
	paths, ready := noneRun(t, dir, 40, 2)
	firstDiff := func(a, b int) int {
		for k := range ready[a] {
			if ready[a][k] != ready[b][k] {
				return k + 1
			}
		}
		return 0
	}
	k := firstDiff(1, 3)
	if k == 0 {
		t.Fatal("Middleware 1 and 3 agree: the test shows nothing")
	}
	same := 0 // a position where 2 and 4 hold the same message
	for i := range ready[2] {
		if ready[2][i] == ready[4][i] {
			same = i + 1
			break
		}
	}
	if same == 0 {
		t.Fatal("Middleware 2 and 4 agree nowhere: the test shows nothing")
	}
	f, err := os.OpenFile(paths[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(divergedLine(1, 3, uint64(k), idOf(ready[1][k-1]), idOf(ready[3][k-1]), 9_000_000))
	f.Close()
	f, _ = os.OpenFile(paths[1], os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(divergedLine(2, 4, uint64(same), idOf(ready[2][same-1]), "Msg #99 from Middleware 4", 9_100_000))
	f.Close()

	incs, warns, err := ParseFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("parse warnings %q: diverged lines are expected", warns)
	}
	rep, err := Check(incs, agree)
	if err == nil {
		t.Fatal("a none run passes")
	}
	if rep.Overall.Ready != 5*40 {
		t.Errorf("%d ready events, want 200: a diverged line counted as a list change", rep.Overall.Ready)
	}
	if len(rep.Recorded) != 2 {
		t.Fatalf("recorded %+v, want 2", rep.Recorded)
	}
	r1, r2 := rep.Recorded[0], rep.Recorded[1]
	if r1.MW != 1 || r1.Peer != 3 || r1.Seq != uint64(k) || r1.Logs != "confirmed" || r1.TS != 9_000_000 || r1.Run != "r1" {
		t.Errorf("recorded %+v, want Middleware 1 vs 3 at #%d, confirmed", r1, k)
	}
	if r2.MW != 2 || r2.Peer != 4 || !strings.HasPrefix(r2.Logs, "both logs hold") {
		t.Errorf("recorded %+v, want Middleware 2 vs 4 contradicted by the logs", r2)
	}
	if !slices.ContainsFunc(rep.Warnings, func(w string) bool {
		return strings.Contains(w, fmt.Sprintf("Middleware 2 recorded that it differs from Middleware 4 at #%d, but both logs hold", same))
	}) {
		t.Errorf("no warning about the contradicted record: %q", rep.Warnings)
	}

	var text strings.Builder
	rep.WriteText(&text)
	wantLine := fmt.Sprintf("Middleware 1 differs from Middleware 3 at #%d: %q here, %q there (at 00:00:09.000000 UTC; the logs confirm it)",
		k, idOf(ready[1][k-1]), idOf(ready[3][k-1]))
	if !strings.Contains(text.String(), "Divergences the middlewares recorded") || !strings.Contains(text.String(), wantLine) {
		t.Errorf("text report lacks\n %s\n%s", wantLine, text.String())
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Recorded   []Divergence `json:"recorded_divergences"`
		Divergence *Divergence  `json:"divergence"`
	}
	if err := json.Unmarshal(js, &back); err != nil || len(back.Recorded) != 2 || back.Recorded[0].Logs != "confirmed" || back.Divergence == nil {
		t.Errorf("JSON report: %s", js)
	}
}

// A clean run's "diverged"-free logs report no divergence at all.
func TestCleanRunHasNoDivergence(t *testing.T) {
	rep := expectOK(t, group(t, 3, roundRobin(3, 9)), agree)
	if rep.Divergence != nil || rep.Recorded != nil {
		t.Errorf("divergence %+v, recorded %+v", rep.Divergence, rep.Recorded)
	}
}

// Messages with a body are ordinary messages, named by their whole text;
// a delivered one whose sender's log has a gap is not blamed for lacking
// its sent event.
func TestMessagesWithABody(t *testing.T) {
	order := roundRobin(3, 9)
	for k := range order {
		order[k] += ": Bid " + strconv.Itoa(100+k) + " on Lamp from Middleware 9"
	}
	incs := group(t, 3, order)
	rep := expectOK(t, incs, agree)
	if rep.Messages != 9 {
		t.Errorf("%d messages, want 9", rep.Messages)
	}
	// Middleware 2's log lost the sent event of its first message.
	inc := &incs[1]
	for j, e := range inc.Entries {
		if e.Kind == Sent {
			inc.Entries = append(inc.Entries[:j], inc.Entries[j+1:]...)
			inc.Gaps = []Gap{{After: j, Count: 1, FromTS: e.TS, ToTS: e.TS, Error: "no space left"}}
			break
		}
	}
	rep = expectOK(t, incs, agree)
	if !strings.Contains(strings.Join(rep.Incomplete, "\n"), "1 delivered messages have no sent event") {
		t.Errorf("incomplete %q", rep.Incomplete)
	}
	if got := msgID("Msg #4 from Middleware 3: Bid 130 on Lamp from Middleware 5: x"); got != "Msg #4 from Middleware 3" {
		t.Errorf("msgID = %q", got)
	}
}

// A divergence a middleware recorded that the logs cannot show (the
// peer's log stops before that position) is still reported, and the OK
// verdict points to it.
func TestRecordedDivergenceTheLogsDoNotShow(t *testing.T) {
	incs := group(t, 3, roundRobin(3, 6))
	incs[0].Diverged = []Divergence{{Peer: 3, Seq: 9, Here: msg(3, 1), There: msg(3, 2), TS: 7000}}
	rep := expectOK(t, incs, agree)
	if len(rep.Recorded) != 1 || rep.Recorded[0].Logs != "Middleware 1's log has no delivery at #9" {
		t.Errorf("recorded %+v", rep.Recorded)
	}
	if !strings.HasSuffix(rep.Verdict, "(divergences the middlewares recorded: see above)") {
		t.Errorf("verdict %q", rep.Verdict)
	}
}
