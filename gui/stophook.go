package gui

import "fyne.io/fyne/v2"

// skipStopHook removes the hook Fyne runs when its loop ends (it saves
// preferences, which the lab does not use), so no lifecycle event is queued
// at the end. Fyne 2.7.1 queues that event just before it closes its main
// queue, and the goroutine that runs it can then send on the closed queue:
// "panic: send on closed channel" at exit, seen on a loaded machine. The
// save is also what prints "Preferences load error: EOF" at exit
// (fyne-io/fyne#2936). Nothing is done for an app without that hook.
func skipStopHook(a fyne.App) {
	l, ok := a.Lifecycle().(interface{ SetOnStoppedHookExecuted(func()) })
	if ok {
		l.SetOnStoppedHookExecuted(nil)
	}
}

// ShowAndRun shows win and runs the app until its loop ends, without the
// stop hook that can make Fyne panic at exit (see skipStopHook), with the
// garbage collector set for a window (see lightenMemory).
func ShowAndRun(a fyne.App, win fyne.Window) {
	skipStopHook(a)
	lightenMemory(a)
	win.ShowAndRun()
}
