package check

import (
	"encoding/json"
	"strings"
	"testing"
)

// amnesiac splits middleware mw's log into two incarnations, as if it was
// restarted with an empty state after delivering seq crashAfter: the
// second delivers everything again from seq 1 (the same messages at the
// same positions, since the others told it the order again).
func amnesiac(incs []Incarnation, mw int, crashAfter uint64) []Incarnation {
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
				e.TS += 1_000_000 // delivered again, later
				second.Entries = append(second.Entries, e)
			case e.Kind == Ready:
				e.TS += 1_000_000
				second.Entries = append(second.Entries, e)
			default:
				first.Entries = append(first.Entries, e)
			}
		}
		out = append(out, first, second)
	}
	return out
}

// A middleware restarted with an empty state delivers positions 1–8
// again, the same messages in the same order: each is a second delivery
// of a message to its application. Before the checker looked across
// incarnations, this run passed.
func TestAmnesiacRedeliveryIsAViolation(t *testing.T) {
	incs := amnesiac(group(t, 3, roundRobin(3, 12)), 2, 8)
	v := expectViolation(t, incs, agree, PropIntegrity)
	want := `8 deliveries of a message an earlier incarnation of the same middleware had delivered; first: ` +
		`Middleware 2 (incarnation 2 of 2, run b) delivered again 8 messages its incarnation 1 (run a) had delivered, at seq 1–8; ` +
		`the first: "Msg #1 from Middleware 1" at seq 1 (seq 1 before)`
	if v.Detail != want || v.Count != 8 {
		t.Errorf("detail\n %s\nwant\n %s\n(count %d)", v.Detail, want, v.Count)
	}
	rep, _ := Check(incs, agree)
	if len(rep.Violations) != 1 {
		t.Errorf("violations %v, want only the redeliveries", rep.Violations)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"property":"integrity"`) || !strings.Contains(string(js), `"count":8`) ||
		!strings.Contains(string(js), "delivered again 8 messages") {
		t.Errorf("JSON report lacks the redeliveries: %s", js)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "VIOLATION integrity: 8 deliveries of a message an earlier incarnation") {
		t.Errorf("text report:\n%s", text.String())
	}

	// One message again, at another position: one delivery, named.
	incs = rejoin(group(t, 3, roundRobin(3, 12)), 2, 3, 4)
	second := &incs[2]
	r := readies(second)
	r[len(r)-1].Msg = msg(1, 1) // seq 12 again holds what seq 1 held
	rep, err = Check(incs, Options{})
	want = `Middleware 2 (incarnation 2 of 2, run b) delivered "Msg #1 from Middleware 1" again at seq 12: its incarnation 1 (run a) had delivered it at seq 1`
	if !hasExample(rep, PropIntegrity, want) {
		t.Errorf("got %v, want an integrity violation %q", err, want)
	}
}

// A restarted middleware that fills a position its earlier incarnation
// had filled with another message: its application saw two messages at
// one position. Reported as such, not as two middlewares disagreeing.
func TestRestartRefillsAPosition(t *testing.T) {
	incs := amnesiac(group(t, 3, roundRobin(3, 6)), 3, 6)
	r := readies(&incs[3]) // Middleware 3's second run: seq 1–6 again
	r[1].Msg, r[2].Msg = r[2].Msg, r[1].Msg
	rep, err := Check(incs, Options{})
	if err == nil {
		t.Fatal("no violation")
	}
	want := `Middleware 3 (incarnation 2 of 2, run b) delivered other messages at 2 positions its incarnation 1 (run a) had filled, at seq 2–3; ` +
		`the first: "Msg #1 from Middleware 3" at seq 2, where "Msg #1 from Middleware 2" was`
	if !hasExample(rep, PropTotalOrder, want) {
		t.Errorf("got %v\nwant a total order violation %q", err, want)
	}
	for _, v := range rep.Violations {
		for _, ex := range v.Examples {
			if strings.Contains(ex, "Middleware 3 (incarnation 1 of 2, run a) and Middleware 3") {
				t.Errorf("two runs of one middleware reported as two middlewares: %s", ex)
			}
		}
	}
	// Against the other middlewares the second run disagrees too.
	if d := rep.Divergence; d == nil || d.Seq != 2 || d.MW != 1 || d.Peer != 3 {
		t.Errorf("first divergence %+v, want Middleware 1 and 3 at #2", d)
	}
}

func hasExample(rep *Report, prop, example string) bool {
	if rep == nil {
		return false
	}
	for _, v := range rep.Violations {
		if v.Property == prop && len(v.Examples) > 0 && v.Examples[0] == example {
			return true
		}
	}
	return false
}

// A middleware that delivers a message twice as its very last and
// highest delivery: reported, not a panic.
func TestDuplicateAsTheLastDelivery(t *testing.T) {
	incs := group(t, 2, roundRobin(2, 4))
	incs[0].Entries = append(incs[0].Entries, Entry{Kind: Ready, Msg: msg(1, 1), TS: 9000, Seq: 5})
	v := expectViolation(t, incs, Options{}, PropIntegrity)
	if !strings.Contains(v.Detail, `Middleware 1 delivered "Msg #1 from Middleware 1" twice (again at seq 5)`) {
		t.Errorf("detail %q", v.Detail)
	}
}

// A restart that picks up where it stopped (durable state) repeats
// nothing and passes.
func TestRestartWithStateRepeatsNothing(t *testing.T) {
	incs := rejoin(group(t, 3, roundRobin(3, 12)), 2, 6, 7)
	expectOK(t, incs, agree)
}
