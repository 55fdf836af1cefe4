package check

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var us []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		us = append(us, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(us)
	want := Stats{Count: 100, Mean: 50500 * time.Microsecond, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("1..100 ms: got %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Stats{}) {
		t.Errorf("no samples: got %+v", got)
	}
	if got := Summarize([]time.Duration{7}); got != (Stats{Count: 1, Mean: 7, P50: 7, P99: 7, Max: 7}) {
		t.Errorf("one sample: got %+v", got)
	}
	// p99 is the nearest rank: with 1000 samples the 990th smallest.
	us = us[:0]
	for i := 1; i <= 1000; i++ {
		us = append(us, time.Duration(i))
	}
	rand.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })
	if got := Summarize(us); got.P99 != 990 || got.Max != 1000 {
		t.Errorf("1..1000: p99 %d max %d, want 990 1000", got.P99, got.Max)
	}
}
