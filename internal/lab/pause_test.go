package lab_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// A middleware paused (SIGSTOP, as a debugger breakpoint does) while all
// send: the leader, then a member. Nothing is counted as crashed.
func TestPause(t *testing.T) {
	if !lab.CanPause {
		t.Skip("skipped: pausing a program needs SIGSTOP and SIGCONT, which Windows does not have")
	}
	for _, tc := range []struct {
		name     string
		proto    string
		leader   bool
		duration time.Duration
	}{
		{"raft leader 3s", "raft", true, 3 * time.Second},
		{"raft member 5s", "raft", false, 5 * time.Second},
		{"raft leader 0.5s", "raft", true, 500 * time.Millisecond},
		{"sequencer 2s", "sequencer", true, 2 * time.Second},
		{"isis member 2s", "isis", false, 2 * time.Second},
		{"lamport member 2s", "lamport", false, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, Protocol: tc.proto, MaxSleep: 100 * time.Millisecond, Reuse: true})
			victim := 2
			if hasLeader := core.Protocol(tc.proto).HasLeader(); hasLeader && tc.leader {
				victim = leader(t, l)
			} else if hasLeader {
				victim = others(l, leader(t, l))[0]
			}
			sendFromAll(t, l, l.IDs(), 3, 10*time.Millisecond)
			if err := l.Pause(victim); err != nil {
				t.Fatal(err)
			}
			// The others go on sending during the pause (the victim's
			// commands wait in its stdin).
			end := time.Now().Add(tc.duration)
			rounds := 0
			for time.Now().Before(end) {
				sendFromAll(t, l, l.IDs(), 1, 50*time.Millisecond)
				rounds++
			}
			if err := l.Resume(victim); err != nil {
				t.Fatal(err)
			}
			sendFromAll(t, l, l.IDs(), 3, 10*time.Millisecond)
			want := 5 * (6 + rounds)
			waitAll(t, l, l.IDs(), want, 60*time.Second)
			rep := mustCheck(t, l, check.Options{Agreement: true})
			if rep.Messages != want {
				t.Fatalf("checker saw %d messages, want %d", rep.Messages, want)
			}
			if tc.duration >= 2*time.Second {
				checkPauseMarks(t, l.LogPath(victim), tc.duration)
			}
		})
	}
}

// checkPauseMarks checks that the paused middleware marked the pause on
// its events log (the timeline draws it): "paused", then "resumed", about
// d apart (at least d; a loaded machine may stretch it).
func checkPauseMarks(t *testing.T, path string, d time.Duration) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var paused, resumed int64
	for _, line := range strings.Split(string(data), "\n") {
		var ev struct {
			Event, Label string
			TS           int64 `json:"ts_us"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != "mark" {
			continue
		}
		switch ev.Label {
		case "paused":
			paused = ev.TS
		case "resumed":
			resumed = ev.TS
		}
	}
	if paused == 0 || resumed == 0 {
		t.Fatalf("no paused/resumed marks in %s", path)
	}
	if got := time.Duration(resumed-paused) * time.Microsecond; got < d-100*time.Millisecond || got > d+10*time.Second {
		t.Errorf("marked a pause of %v, paused for %v", got, d)
	}
}
