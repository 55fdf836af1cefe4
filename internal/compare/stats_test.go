package compare

import (
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ms(1234*time.Microsecond, 1), "1.2 ms"},
		{ms(12345*time.Microsecond, 1), "12 ms"},
		{ms(0, 0), "–"},
		{secs(2960 * time.Millisecond), "3.0 s"},
		{human(5 * time.Millisecond), "5 ms"},
		{human(1500 * time.Millisecond), "1.5 s"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
