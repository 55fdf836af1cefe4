package compare

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The wait for deliveries ends: when everyone has delivered everything,
// and, with a protocol that stalls, once nothing was delivered for the
// stall time.
func TestWaitDeliveredEnds(t *testing.T) {
	ids := []int{1, 2, 3}
	var calls atomic.Int64
	growing := func(mw int) (int, error) { return int(calls.Add(1)), nil }
	complete, everyone, err := waitDelivered(context.Background(), growing, ids, 10, time.Hour, func(string) {})
	if err != nil || !complete || everyone < 10 {
		t.Fatalf("growing counts: complete %v, everyone %d, %v", complete, everyone, err)
	}

	stuck := func(mw int) (int, error) { return 3 + mw, nil }
	var said []string
	start := time.Now()
	complete, everyone, err = waitDelivered(context.Background(), stuck, ids, 10, 300*time.Millisecond, func(s string) { said = append(said, s) })
	if err != nil || complete || everyone != 4 {
		t.Fatalf("stuck counts: complete %v, everyone %d, %v", complete, everyone, err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the stall time", time.Since(start))
	}
	if len(said) != 1 || !strings.Contains(said[0], "stalled with 4 of 10") {
		t.Errorf("said %q", said)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := waitDelivered(ctx, stuck, ids, 10, time.Hour, func(string) {}); err == nil {
		t.Error("a cancelled wait returned no error")
	}
}
