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
			total := totalCounts(t, l)
			recovered, received := total.Recovered, total.Received
			mustCheck(t, l, check.Options{Agreement: true})
			if received != 75 || recovered > 1 {
				t.Fatalf("%d of %d Received entries recovered from the order, want at most 1 of 75: late copies were taken for lost", recovered, received)
			}
			t.Logf("%d of %d Received entries came from the network", received-recovered, received)
		})
	}
}

// Lost is not late: copies the network program still held when it was
// killed never come, and are delivered from the order (recovered).
func TestCopiesLostInARestartAreRecovered(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, MaxSleep: 2 * time.Second, Reuse: true})
	linked(t, l)
	sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
	// Once one copy has arrived, the network program holds the others.
	for totalCounts(t, l).Received == 0 {
		time.Sleep(10 * time.Millisecond) // polling the logs
	}
	l.KillNet()
	if err := l.StartNet(); err != nil {
		t.Fatal(err)
	}
	waitAll(t, l, l.IDs(), 10, time.Minute)
	recovered := totalCounts(t, l).Recovered
	mustCheck(t, l, check.Options{Agreement: true})
	if recovered == 0 {
		t.Fatal("no copy was recovered, though the network program was killed holding copies")
	}
	t.Logf("%d of 50 copies recovered after the network program's restart", recovered)
}

// totalCounts adds up the list events every middleware has logged so far.
func totalCounts(t *testing.T, l *lab.Lab) lab.Counts {
	t.Helper()
	var total lab.Counts
	for _, i := range l.IDs() {
		c, err := l.Counts(i)
		if err != nil {
			t.Fatal(err)
		}
		total.Sent += c.Sent
		total.Received += c.Received
		total.Recovered += c.Recovered
		total.Ready += c.Ready
	}
	return total
}
