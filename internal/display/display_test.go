//go:build linux

package display

import (
	"strings"
	"testing"

	"totalorder/internal/xvfb"
)

func TestCheck(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if err := Check(); err == nil || !strings.Contains(err.Error(), "DISPLAY is not set") {
		t.Errorf("no DISPLAY: %v", err)
	}
	t.Setenv("DISPLAY", ":4097")
	if err := Check(); err == nil || !strings.Contains(err.Error(), "cannot open display :4097") {
		t.Errorf("a display nobody serves: %v", err)
	}
	x, err := xvfb.Start(320, 200)
	if err != nil {
		t.Skip(err)
	}
	defer x.Stop()
	t.Setenv("DISPLAY", x.Display+".0")
	if err := Check(); err != nil {
		t.Errorf("a running Xvfb: %v", err)
	}
}
