package xvfb

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Start and Stop leave no display behind: the socket of the display Xvfb
// chose (and a lock file, which -displayfd does not make) are gone after
// Stop.
func TestStartStopFreesTheDisplay(t *testing.T) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Skip("Xvfb is not installed")
	}
	s, err := Start(320, 200)
	if err != nil {
		t.Fatal(err)
	}
	n := strings.TrimPrefix(s.Display, ":")
	lock, sock := "/tmp/.X"+n+"-lock", "/tmp/.X11-unix/X"+n
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("while Xvfb runs: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{lock, sock} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s left behind after Stop (%v)", f, err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}
