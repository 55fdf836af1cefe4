package gui

import (
	"os"
	"runtime/debug"

	"fyne.io/fyne/v2"
)

// windowGCPercent is the garbage collector's target for a window
// process (GOGC), unless the environment sets GOGC. A window's heap is
// mostly what it keeps for good (the fonts Fyne parses, about 20 MB),
// and Go's default (100) lets the heap grow to twice what is live before
// collecting: 20 MB of memory held for garbage. At 50 it grows to one and
// a half times. Each collection then comes sooner but costs the same (it
// scans what is live), and an idle window makes almost no garbage; the
// figures are in docs/memory.md.
const windowGCPercent = 50

// lightenMemory sets the window process's garbage collector, and once
// the app runs returns to the system the memory that building the
// windows used and let go (measuring and shaping text makes most of it):
// the collector would otherwise keep it, at the heap's peak, for good.
func lightenMemory(a fyne.App) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(windowGCPercent)
	}
	a.Lifecycle().SetOnStarted(debug.FreeOSMemory)
}
