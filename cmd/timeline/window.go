//go:build !nogui

package main

import (
	"os"
	"path/filepath"

	"fyne.io/fyne/v2/app"

	"totalorder/gui"
	"totalorder/timeline"

	_ "totalorder/internal/envfix" // before Fyne: a locale it can parse (see package envfix)
)

// runWindow shows the Timeline window until it is closed. A live window
// also tells the middleware windows which message is selected.
func runWindow(src *timeline.Source, live bool) error {
	a := app.NewWithID("lab.totalorder.timeline")
	opt := gui.TimelineOptions{Live: live}
	if os.Getenv("TIMELINE_STATS") != "" {
		opt.Stats = os.Stderr // redraws a second, for measurements
	}
	if live {
		opt.SelectionFile = filepath.Join(src.Dir(), timeline.SelectionFile)
	}
	w := gui.NewTimelineWindow(a, src, opt)
	gui.ShowAndRun(a, w.Window())
	w.AppStopped()
	w.Close()
	return nil
}
