package compare

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Stats summarises a set of latencies.
type Stats struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Summarize computes count, mean, 99th percentile (nearest rank: the
// smallest value with at least 99% of the samples at or below it) and
// maximum. It sorts us in place.
func Summarize(us []time.Duration) Stats {
	if len(us) == 0 {
		return Stats{}
	}
	slices.Sort(us)
	var sum float64
	for _, d := range us {
		sum += float64(d)
	}
	rank := int(math.Ceil(0.99*float64(len(us)))) - 1
	return Stats{
		Count: len(us),
		Mean:  time.Duration(math.Round(sum / float64(len(us)))),
		P99:   us[max(rank, 0)],
		Max:   us[len(us)-1],
	}
}

// ms formats a latency for the table: milliseconds, one decimal below
// 10 ms, none above; "–" for no samples.
func ms(d time.Duration, count int) string {
	if count == 0 {
		return "–"
	}
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

// secs formats a duration as seconds with one decimal ("3.0 s").
func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// human formats a duration in ms below a second, else in seconds.
func human(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return secs(d)
}
