package compare

import (
	"fmt"
	"time"
)

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
