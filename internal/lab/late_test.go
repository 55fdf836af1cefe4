package lab_test

import (
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
)

// Next to the lab's original network program (maxSleepTime 20 s; under
// mono its thread pool starts copies up to 7 s later still), middlewares
// started by hand, told nothing of the network, take late copies for late,
// not lost: of the 75 Received entries of three sends each, at most one
// may be recovered from the order rather than arrive from the network.
// (Before, they gave up after 5 s and marked 48–74 of 75 recovered.)
func TestLateCopiesAreNetworkArrivals(t *testing.T) {
	// The labs mostly wait out the delays: they run side by side.
	for _, proto := range orderingProtocols() {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			l := startLab(t, lab.Config{N: 5, Protocol: proto, MaxSleep: 20 * time.Second, Late: 7 * time.Second, NetMaxSleep: -1, Seed: 11})
			linked(t, l)
			sendFromAll(t, l, l.IDs(), 3, 100*time.Millisecond)
			waitAll(t, l, l.IDs(), 15, 2*time.Minute)
			recovered, received := 0, 0
			for _, i := range l.IDs() {
				c, err := l.Counts(i)
				if err != nil {
					t.Fatal(err)
				}
				recovered += c.Recovered
				received += c.Received
			}
			mustCheck(t, l, check.Options{Agreement: true})
			if received != 75 || recovered > 1 {
				t.Fatalf("%d of %d Received entries recovered from the order, want at most 1 of 75: late copies were taken for lost", recovered, received)
			}
			t.Logf("%d of %d Received entries came from the network", received-recovered, received)
		})
	}
}
