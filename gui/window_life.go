package gui

import (
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"

	"totalorder/assets"
)

// windowLife is what each of the lab's windows has: its Fyne window; its
// goroutines, counted in loopDone, which stop when stopLoop closes; and
// the owner's callback once the window has closed and they have ended.
type windowLife struct {
	win      fyne.Window
	stopLoop chan struct{} // closed once: the window's goroutines stop
	loopDone sync.WaitGroup
	// uiGone is set once the app's loop has ended: from then on no queued
	// update touches a widget (it would run off the UI thread).
	uiGone     atomic.Bool
	stopOnce   sync.Once
	closeOnce  sync.Once
	onClosed   func()
	onStop     func() // what else stops with the goroutines; nil: nothing
	afterLoops func() // Close's clean-up once they have ended; nil: nothing
}

// initLife gives win the lab's icon and makes its closing run Close, then
// the owner's callback.
func (l *windowLife) initLife(win fyne.Window, onStop, afterLoops func()) {
	l.win, l.stopLoop, l.onStop, l.afterLoops = win, make(chan struct{}), onStop, afterLoops
	win.SetIcon(assets.Icon)
	win.SetOnClosed(func() {
		l.Close()
		if l.onClosed != nil {
			l.onClosed()
		}
	})
}

// Window is the Fyne window, for Show, ShowAndRun and the like.
func (l *windowLife) Window() fyne.Window { return l.win }

// SetOnClosed sets fn to run after the window closed and stopped its
// goroutines. Use it instead of Window().SetOnClosed, which would replace
// the window's own clean-up.
func (l *windowLife) SetOnClosed(fn func()) { l.onClosed = fn }

// AppStopped is for the end of the app's loop (gui.RunWhile's uiDone): no
// update touches a widget any more and the goroutines are told to stop,
// without waiting for them (one may be inside a Fyne call that can no
// longer complete).
func (l *windowLife) AppStopped() {
	l.uiGone.Store(true)
	l.stopLoops()
}

func (l *windowLife) stopLoops() {
	l.stopOnce.Do(func() {
		if l.onStop != nil {
			l.onStop()
		}
		close(l.stopLoop)
	})
}

// Close stops the window's goroutines and waits for them; it runs by
// itself when the window closes. It does not close the Fyne window.
// Calling it again does nothing.
func (l *windowLife) Close() {
	l.closeOnce.Do(func() {
		l.stopLoops()
		l.loopDone.Wait()
		if l.afterLoops != nil {
			l.afterLoops()
		}
	})
}
