package compare

import (
	"slices"
	"testing"
	"time"
)

func TestScheduleIsSeededAndPaced(t *testing.T) {
	const n, each, rate = 5, 20, 4.0
	a := Schedule(n, each, rate, 7)
	if !slices.Equal(a, Schedule(n, each, rate, 7)) {
		t.Fatal("the same seed gave two schedules")
	}
	if slices.Equal(a, Schedule(n, each, rate, 8)) {
		t.Fatal("two seeds gave the same schedule")
	}
	if len(a) != n*each {
		t.Fatalf("%d sends, want %d", len(a), n*each)
	}
	period := time.Duration(float64(time.Second) / rate)
	k := map[int]int{}
	for i, s := range a {
		if i > 0 && s.At < a[i-1].At {
			t.Fatalf("send %d at %v comes before %v", i, s.At, a[i-1].At)
		}
		if s.MW < 1 || s.MW > n {
			t.Fatalf("send %d from middleware %d", i, s.MW)
		}
		// The k-th message of a sender falls in [k, k+1) periods.
		if lo := time.Duration(k[s.MW]) * period; s.At < lo || s.At >= lo+period {
			t.Fatalf("message %d of M%d at %v, want in [%v, %v)", k[s.MW], s.MW, s.At, lo, lo+period)
		}
		k[s.MW]++
	}
	if Span(a) < time.Duration(each-1)*period || Span(a) >= time.Duration(each)*period {
		t.Errorf("span %v", Span(a))
	}
	if Schedule(0, each, rate, 1) != nil || Schedule(n, each, 0, 1) != nil {
		t.Error("an empty workload has sends")
	}
}

func TestPauseAt(t *testing.T) {
	if got := PauseAt(5*time.Second, 3*time.Second); got != time.Second {
		t.Errorf("5 s workload, 3 s pause: starts at %v, want 1s (centred)", got)
	}
	if got := PauseAt(2*time.Second, 3*time.Second); got != 500*time.Millisecond {
		t.Errorf("2 s workload, 3 s pause: starts at %v, want 500ms", got)
	}
}
