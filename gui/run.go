package gui

import (
	"context"

	"fyne.io/fyne/v2"
)

// RunWhile shows win and runs the app while serve runs: serve gets a
// context that ends when the window is closed (or ctx ends), and a signal
// that ends ctx closes the window the usual way. uiDone (if not nil, and
// safe to call twice) runs when a stop is asked for and again once the
// app's loop has ended, before serve is waited for: a window's own
// goroutines must stop touching widgets there, for a widget touched while
// the loop ends is touched off the UI thread. It returns serve's error.
func RunWhile(ctx context.Context, a fyne.App, win fyne.Window, serve func(context.Context) error, uiDone func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	appDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			if uiDone != nil {
				uiDone() // no more updates: the loop is about to end
			}
			fyne.Do(a.Quit)
		case <-appDone:
		}
	}()
	ShowAndRun(a, win)
	close(appDone)
	if uiDone != nil {
		uiDone()
	}
	cancel()
	return <-done
}
