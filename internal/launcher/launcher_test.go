package launcher

import (
	"runtime"
	"testing"
)

func TestName(t *testing.T) {
	if got := name("windows"); got != "run.bat" {
		t.Errorf("windows: %q, want run.bat", got)
	}
	for _, goos := range []string{"linux", "darwin"} {
		if got := name(goos); got != "./run.sh" {
			t.Errorf("%s: %q, want ./run.sh", goos, got)
		}
	}
	want := "./run.sh timeline logs"
	if runtime.GOOS == "windows" {
		want = "run.bat timeline logs"
	}
	if got := Command("timeline", "logs"); got != want {
		t.Errorf("Command = %q, want %q", got, want)
	}
}
