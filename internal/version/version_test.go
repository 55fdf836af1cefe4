package version

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	v, c := Version, Commit
	defer func() { Version, Commit = v, c }()
	Version, Commit = "1.2.3", "abc1234"
	if got, want := String("netsim"), "netsim 1.2.3 (commit abc1234)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	Version, Commit = "dev", ""
	if got, want := String("netsim"), "netsim dev"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

// -version prints and exits before the other options are looked at, even
// ones that would be errors.
func TestFlagExitsFirst(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var out strings.Builder
	exited := -1
	type stop struct{}
	flagTo(fs, "x", &out, func(code int) { exited = code; panic(stop{}) })
	fs.Int("n", 5, "")
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stop); !ok {
					panic(r)
				}
			}
		}()
		fs.Parse([]string{"-version", "-n", "not a number"})
	}()
	if exited != 0 || out.String() != String("x")+"\n" {
		t.Errorf("exit %d, printed %q; want 0 and %q", exited, out.String(), String("x")+"\n")
	}
}
