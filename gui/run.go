package gui

import (
	"context"

	"fyne.io/fyne/v2"
)

// RunWhile shows win and runs the app while serve runs: serve gets a
// context that ends when the window is closed (or ctx ends), and a signal
// that ends ctx closes the window the usual way. It returns serve's error.
func RunWhile(ctx context.Context, a fyne.App, win fyne.Window, serve func(context.Context) error) error {
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
	cancel()
	return <-done
}
