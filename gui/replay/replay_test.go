package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"totalorder/auction"
)

// logLine is a line as the middleware's events log writes it.
func logLine(event, msg string, seq uint64, mw int, run string) string {
	seqField := ""
	if event == "ready" {
		seqField = fmt.Sprintf(`"seq":%d,`, seq)
	}
	return fmt.Sprintf(`{"level":"info","event":%q,"msg":%q,"ts_us":1700000000000000,%s"mw":%d,"run":%q,"time":"2023-11-14T22:13:20Z"}`,
		event, msg, seqField, mw, run)
}

func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "middleware-2.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPast(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{"ready lines, other events and other middlewares' lines skipped", []string{
			logLine("sent", "Msg #1 from Middleware 2: Bid 110 on Lamp", 0, 2, "a"),
			logLine("received", "Msg #1 from Middleware 2: Bid 110 on Lamp", 0, 2, "a"),
			logLine("ready", "Msg #1 from Middleware 2: Bid 110 on Lamp", 1, 2, "a"),
			logLine("ready", "Msg #1 from Middleware 9", 1, 3, "x"), // another middleware's
			`{"event":"control","dir":"out","peer":1,"kind":"ready","ts_us":1,"mw":2}`,
			logLine("ready", "Msg #1 from Middleware 1", 2, 2, "a"),
		}, []string{"Msg #1 from Middleware 2: Bid 110 on Lamp", "Msg #1 from Middleware 1"}},
		{"runs continue; a position logged twice counts once; a fragment is skipped", []string{
			logLine("ready", "A", 1, 2, "a"),
			logLine("ready", "B", 2, 2, "a"),
			`{"level":"info","event":"ready","msg":"C","ts_`, // killed mid-write
			logLine("ready", "B", 2, 2, "b"),
			logLine("ready", "C", 3, 2, "b"),
		}, []string{"A", "B", "C"}},
		{"lost positions are holes", []string{
			logLine("ready", "A", 1, 2, "a"),
			logLine("ready", "D", 4, 2, "a"),
		}, []string{"A", "", "", "D"}},
		{"a lab started afresh over the log: the later order wins", []string{
			logLine("ready", "A", 1, 2, "a"),
			logLine("ready", "B", 2, 2, "a"),
			logLine("ready", "C", 3, 2, "a"),
			logLine("ready", "X", 1, 2, "b"),
			logLine("ready", "Y", 2, 2, "b"),
		}, []string{"X", "Y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Past(writeLog(t, tt.lines...), 2)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if past, err := Past(filepath.Join(t.TempDir(), "none.jsonl"), 2); err != nil || past != nil {
		t.Errorf("no log: %q, %v; want nothing and no error", past, err)
	}
}

// summary is the replica's one-line state.
func summary(a *Auction) string { return a.Replica().Summary() }

// A restarted middleware: its log's Ready positions, then live events
// from the next position on. The replica is the one a middleware that
// never stopped would have.
func TestAuctionReplaysThenGoesOnLive(t *testing.T) {
	order := []string{
		"Msg #1 from Middleware 2: Bid 110 on Lamp",
		"Msg #1 from Middleware 3",
		"Msg #1 from Middleware 4: Bid 130 on Lamp",
		"Msg #2 from Middleware 3: Bid 120 on Lamp", // refused: not above 130
		"Msg #2 from Middleware 1: Close Lamp",
		"Msg #2 from Middleware 4: Bid 250 on Bike",
	}
	whole := NewAuction(auction.Items(5), nil)
	for i, m := range order {
		whole.Apply(uint64(i+1), m)
	}

	var lines []string
	for i, m := range order[:4] {
		lines = append(lines, logLine("ready", m, uint64(i+1), 2, "first"))
	}
	past, err := Past(writeLog(t, lines...), 2)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuction(auction.Items(5), past)
	if got := a.Replica().Seen(); got != 3 {
		t.Errorf("%d auction messages replayed, want 3", got)
	}
	// The live events go on at #5; one of the log's positions comes again
	// (a node whose state lagged its log) and counts once.
	if _, changed := a.Apply(4, order[3]); changed {
		t.Error("position 4 again changed the replica")
	}
	for i, m := range order[4:] {
		if _, changed := a.Apply(uint64(i+5), m); !changed {
			t.Errorf("live #%d changed nothing", i+5)
		}
	}
	if got, want := summary(a), summary(whole); got != want {
		t.Errorf("after the restart:\n%s\nwant, as without one:\n%s", got, want)
	}
	if n, through := a.Missing(); n != 0 || through != 6 {
		t.Errorf("missing %d through #%d, want 0 through #6", n, through)
	}
	if a.FromLog() != 4 || a.FirstLive() != 5 {
		t.Errorf("from the log %d, first live #%d; want 4 and #5", a.FromLog(), a.FirstLive())
	}
}

// What neither the log nor the live events hold is counted, never
// guessed.
func TestAuctionCountsWhatItLacks(t *testing.T) {
	// No log: live from #7 on.
	a := NewAuction(auction.Items(5), nil)
	a.Apply(7, "Msg #3 from Middleware 1: Bid 300 on Bike")
	if n, through := a.Missing(); n != 6 || through != 7 || a.FirstLive() != 7 || a.FromLog() != 0 {
		t.Errorf("live from #7: missing %d through #%d, first live #%d, from the log %d", n, through, a.FirstLive(), a.FromLog())
	}
	// A log with a hole, and live events after a gap.
	a = NewAuction(auction.Items(5), []string{"Msg #1 from Middleware 1", "", "Msg #2 from Middleware 2: Bid 110 on Lamp"})
	if _, changed := a.Apply(2, "Msg #1 from Middleware 3: Bid 500 on Lamp"); changed {
		t.Error("a hole filled out of order changed the replica")
	}
	a.Apply(6, "Msg #3 from Middleware 4: Bid 120 on Lamp")
	if n, through := a.Missing(); n != 3 || through != 6 {
		t.Errorf("missing %d through #%d, want 3 (#2, #4, #5) through #6", n, through)
	}
	if s, _ := a.Replica().Item("Lamp"); s.Price != 120 || s.Leader != 4 {
		t.Errorf("Lamp at %d by M%d, want 120 by M4", s.Price, s.Leader)
	}
}

// A log left by another lab (state folders wiped, logs kept): the first
// live position differs from the log's, and the replica is rebuilt from
// the live order.
func TestAuctionRebuiltWhenTheLogWasAnotherOrder(t *testing.T) {
	a := NewAuction(auction.Items(5), []string{
		"Msg #1 from Middleware 2: Bid 900 on Lamp",
		"Msg #2 from Middleware 1: Close Lamp",
	})
	if _, changed := a.Apply(1, "Msg #1 from Middleware 3: Bid 110 on Lamp"); !changed {
		t.Error("a rebuild changed nothing")
	}
	a.Apply(2, "Msg #1 from Middleware 1")
	s, _ := a.Replica().Item("Lamp")
	if s.Price != 110 || s.Leader != 3 || s.Closed {
		t.Errorf("Lamp %+v: the old lab's bids and close are still applied", s)
	}
	if n, through := a.Missing(); n != 0 || through != 2 {
		t.Errorf("missing %d through #%d, want 0 through #2", n, through)
	}
}
