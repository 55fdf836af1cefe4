package gui

import (
	"context"

	"fyne.io/fyne/v2"
)

// RunWhile shows win and runs the app while serve runs: serve gets a
// context that ends when the window is closed (or ctx ends), and a signal
// that ends ctx closes the window the usual way. uiDone (if not nil) runs
// as soon as the app's loop has ended, before serve is waited for: a
// window's own goroutines must stop there, for a widget touched after the
// loop ended is touched off the UI thread. It returns serve's error.
func RunWhile(ctx context.Context, a fyne.App, win fyne.Window, serve func(context.Context) error, uiDone func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	appDone := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			fyne.Do(a.Quit)
		case <-appDone:
		}
	}()
	win.ShowAndRun()
	close(appDone)
	if uiDone != nil {
		uiDone()
	}
	cancel()
	return <-done
}
