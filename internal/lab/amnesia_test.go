package lab_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
)

// A middleware that comes back without its state (its state folder
// deleted) while the others send: it never rejoins unnoticed. It says why
// it takes no part; its peers say it too; nobody panics; raft goes on
// without it, the sequencer stops the group; nothing is delivered twice or
// at a position that holds another message.

// waitStatusFor polls middleware i's status line, for at most timeout,
// until ok holds.
func waitStatusFor(t *testing.T, l *lab.Lab, i int, timeout time.Duration, ok func(line string) bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return waitStatus(t, ctx, l, i, ok)
}

// loseState kills middlewares ids, deletes their state and starts them
// again (with extra flags) while the others send.
func loseState(t *testing.T, l *lab.Lab, ids []int, extra ...string) {
	t.Helper()
	for _, i := range ids {
		l.Kill(i)
		if err := l.WipeState(i); err != nil {
			t.Fatal(err)
		}
	}
	sendFromAll(t, l, others(l, ids...), 2, 20*time.Millisecond)
	for _, i := range ids {
		if err := l.StartMWWith(i, extra...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAmnesia(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proto   string
		victims func(t *testing.T, l *lab.Lab) []int
		// goesOn: the others still order after it (raft).
		goesOn bool
	}{
		{"raft follower", "raft", func(t *testing.T, l *lab.Lab) []int { return []int{others(l, leader(t, l))[0]} }, true},
		{"raft leader", "raft", func(t *testing.T, l *lab.Lab) []int { return []int{leader(t, l)} }, true},
		{"raft two members", "raft", func(t *testing.T, l *lab.Lab) []int { return others(l, leader(t, l))[:2] }, true},
		{"sequencer", "sequencer", func(t *testing.T, l *lab.Lab) []int { return []int{5} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, Protocol: tc.proto, MaxSleep: 100 * time.Millisecond, Reuse: true})
			linked(t, l)
			sendFromAll(t, l, l.IDs(), 4, 20*time.Millisecond)
			waitAll(t, l, l.IDs(), 20, 60*time.Second)
			victims := tc.victims(t, l)
			loseState(t, l, victims)
			for _, v := range victims {
				waitStatusFor(t, l, v, 30*time.Second, func(line string) bool {
					return strings.Contains(line, "came back without its state") && strings.Contains(line, "takes no part")
				})
			}
			rest := others(l, victims...)
			for _, i := range rest {
				waitStatusFor(t, l, i, 30*time.Second, func(line string) bool {
					return strings.Contains(line, "came back without its state; it had acknowledged #")
				})
			}
			want := 20 + 2*len(rest)
			if tc.goesOn {
				sendFromAll(t, l, rest, 2, 20*time.Millisecond)
				want += 2 * len(rest)
				waitAll(t, l, rest, want, 60*time.Second)
			} else {
				waitStatusFor(t, l, rest[0], 30*time.Second, func(line string) bool {
					return strings.Contains(line, "stopped:")
				})
			}
			for _, i := range l.IDs() {
				if out := l.Output(i); strings.Contains(out, "panic") {
					t.Errorf("Middleware %d panicked:\n%s", i, lastLines(out, 20))
				}
			}
			crashed := map[int]bool{}
			for _, v := range victims {
				crashed[v] = true // it takes no part: nothing is asked of it
			}
			rep := mustCheck(t, l, check.Options{Agreement: tc.goesOn, Crashed: crashed})
			if rep.Messages < 20 {
				t.Errorf("checker saw %d messages", rep.Messages)
			}
		})
	}
}

// Brought back on purpose: started again with -rejoin, the raft member is
// taken back by membership change and goes on delivering after what it
// delivered before, nothing twice.
func TestAmnesiaRejoin(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, Protocol: "raft", MaxSleep: 100 * time.Millisecond, Reuse: true})
	linked(t, l)
	sendFromAll(t, l, l.IDs(), 4, 20*time.Millisecond)
	waitAll(t, l, l.IDs(), 20, 60*time.Second)
	victim := others(l, leader(t, l))[0]
	loseState(t, l, []int{victim}, "-rejoin")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		t.Fatal(err)
	}
	sendFromAll(t, l, l.IDs(), 2, 20*time.Millisecond)
	waitAll(t, l, l.IDs(), 20+8+10, 60*time.Second)
	// Promoted to voter once caught up: its status stops saying so.
	waitStatusFor(t, l, victim, 30*time.Second, func(line string) bool {
		if strings.Contains(line, "stopped") {
			t.Fatalf("the rejoined member stopped: %s", line)
		}
		return !strings.Contains(line, "rejoining")
	})
	// And it takes part in the agreement check again: every window agrees
	// with all four others through the last position.
	want := fmt.Sprintf(`agreement=ok "same order as 4 of 4 through #%d"`, 20+8+10)
	for _, i := range l.IDs() {
		waitStatusFor(t, l, i, 30*time.Second, func(line string) bool { return strings.Contains(line, want) })
	}
	mustCheck(t, l, check.Options{Agreement: true})
}
