package compare

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// Send is one message of the workload: middleware MW sends at At after the
// start.
type Send struct {
	At time.Duration
	MW int
}

// Schedule is the seeded workload every protocol gets: each of n
// middlewares sends each messages at about rate a second, the k-th in
// [k/rate, (k+1)/rate) at a random point drawn from seed, so the senders
// interleave irregularly but identically in every run. Sends come out in
// time order (ties by middleware).
func Schedule(n, each int, rate float64, seed int64) []Send {
	if n <= 0 || each <= 0 || rate <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x636f6d70617265)) // "compare"
	period := float64(time.Second) / rate
	out := make([]Send, 0, n*each)
	for i := 1; i <= n; i++ {
		for k := 0; k < each; k++ {
			at := time.Duration((float64(k) + rng.Float64()) * period)
			out = append(out, Send{At: at, MW: i})
		}
	}
	slices.SortStableFunc(out, func(a, b Send) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.MW, b.MW))
	})
	return out
}

// Span is when the last send of the schedule is due.
func Span(s []Send) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].At
}

// PauseAt is when a pause of d starts in a workload lasting span: centred
// when the workload is longer than the pause, so that messages are sent
// before, during and after it; otherwise a quarter into the workload.
func PauseAt(span, d time.Duration) time.Duration {
	if span > d {
		return (span - d) / 2
	}
	return span / 4
}
