package lab_test

import (
	"context"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// A seeded random fault soak on real processes, at a size CI affords (the
// benchmark runs a longer one): all five send while pauses, cut links,
// network-program restarts and (raft) kills with restarts come one after
// another. Every run is checked by the order checker, agreement included.
// On Windows (no SIGSTOP) the soak has no pauses.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes for a while")
	}
	for _, proto := range orderingProtocols() {
		// kill -9 only where the protocol goes on without a member.
		tc := struct {
			proto string
			kills bool
		}{proto, core.Protocol(proto).FaultTolerant()}
		t.Run(tc.proto, func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, Protocol: tc.proto, MaxSleep: 200 * time.Millisecond, Reuse: true, Seed: 7})
			linked(t, l)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			rep, err := lab.Soak(ctx, l, lab.SoakOptions{
				Seed: 7, Duration: 12 * time.Second, SendEvery: 50 * time.Millisecond, Kills: tc.kills,
				Settle: 90 * time.Second, Logf: t.Logf,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := mustCheck(t, l, check.Options{Agreement: true})
			t.Logf("%s: %v; %d messages checked", tc.proto, rep, r.Messages)
		})
	}
}
