package lab_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
)

// The live agreement check on real processes: with -protocol none the
// windows turn red within a few sends each; with every ordering protocol
// they stay green through a pause (and, for raft, a kill -9 and restart),
// and end agreeing through the last position.

var agreementRE = regexp.MustCompile(`agreement=(ok|DIFFERS) "([^"]*)"`)

// agreementOf reads the agreement verdict and text off a status line.
func agreementOf(t *testing.T, line string) (ok bool, text string) {
	t.Helper()
	m := agreementRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("a status line without agreement: %s", line)
	}
	return m[1] == "ok", m[2]
}

// waitAgreement polls every middleware until want(ok, text) holds for each.
func waitAgreement(t *testing.T, l *lab.Lab, timeout time.Duration, want func(ok bool, text string) bool) {
	t.Helper()
	for _, i := range l.IDs() {
		waitStatusFor(t, l, i, timeout, func(line string) bool { return want(agreementOf(t, line)) })
	}
}

func TestAgreementGoesRedWithoutOrder(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, Protocol: "none", MaxSleep: 500 * time.Millisecond, Reuse: true, Seed: 1})
	linked(t, l)
	sendFromAll(t, l, l.IDs(), 3, 20*time.Millisecond)
	waitAll(t, l, l.IDs(), 15, 30*time.Second)
	waitAgreement(t, l, 20*time.Second, func(ok bool, text string) bool {
		return !ok && strings.Contains(text, "differs from Middleware") && strings.Contains(text, " at #")
	})
	l.Stop()
	_, err := l.Check(check.Options{Agreement: true})
	if err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Fatalf("the checker passed a run without order, or without saying where: %v", err)
	}
	recorded := 0
	for _, i := range l.IDs() {
		b, err := os.ReadFile(l.LogPath(i))
		if err != nil {
			t.Fatal(err)
		}
		recorded += strings.Count(string(b), `"event":"diverged"`)
	}
	if recorded == 0 {
		t.Error("no events log recorded a divergence")
	}
}

func TestAgreementStaysGreenUnderFaults(t *testing.T) {
	if !lab.CanPause {
		t.Skip("skipped: its fault is a pause, which needs SIGSTOP and SIGCONT (Windows has neither)")
	}
	for _, proto := range orderingProtocols() {
		t.Run(proto, func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, Protocol: proto, MaxSleep: 300 * time.Millisecond, Reuse: true, Seed: 2})
			linked(t, l)
			sendFromAll(t, l, l.IDs(), 2, 20*time.Millisecond)
			// A member paused for 2 s while the others send.
			if err := l.Pause(2); err != nil {
				t.Fatal(err)
			}
			paused := time.Now()
			sendFromAll(t, l, others(l, 2), 2, 200*time.Millisecond)
			time.Sleep(2*time.Second - time.Since(paused)) // the pause's length, not synchronisation
			if err := l.Resume(2); err != nil {
				t.Fatal(err)
			}
			want := 5*2 + 4*2
			if proto == "raft" {
				// Raft also survives a kill -9 and a restart with its state.
				waitAll(t, l, l.IDs(), want, 60*time.Second)
				l.Kill(3)
				sendFromAll(t, l, others(l, 3), 1, 50*time.Millisecond)
				if err := l.StartMW(3); err != nil {
					t.Fatal(err)
				}
				want += 4
			}
			sendFromAll(t, l, l.IDs(), 2, 20*time.Millisecond)
			want += 10
			waitAll(t, l, l.IDs(), want, 60*time.Second)
			through := regexp.MustCompile(`^same order as 4 of 4 through #(\d+)$`)
			waitAgreement(t, l, 20*time.Second, func(ok bool, text string) bool {
				if !ok {
					t.Fatalf("an ordering protocol went red: %s", text)
				}
				m := through.FindStringSubmatch(text)
				return m != nil && m[1] == strconv.Itoa(want)
			})
			rep := mustCheck(t, l, check.Options{Agreement: true})
			if rep.Messages != want {
				t.Errorf("%d messages checked, want %d", rep.Messages, want)
			}
		})
	}
}
