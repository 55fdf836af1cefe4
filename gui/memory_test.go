package gui

import (
	"runtime/debug"
	"testing"

	"fyne.io/fyne/v2/test"
)

func TestLightenMemorySetsGCUnlessGOGCIsSet(t *testing.T) {
	a := test.NewTempApp(t)
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	t.Setenv("GOGC", "")
	lightenMemory(a)
	if got := debug.SetGCPercent(100); got != windowGCPercent {
		t.Errorf("GOGC unset: the collector's target is %d, want %d", got, windowGCPercent)
	}

	t.Setenv("GOGC", "100") // the user's choice, read by the runtime at start
	lightenMemory(a)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100 set: the collector's target became %d, want it left at 100", got)
	}
}
