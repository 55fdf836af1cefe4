//go:build !nogui

package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2/app"

	"totalorder/gui"
	"totalorder/internal/debugserve"
	"totalorder/internal/display"
	"totalorder/netsim"

	_ "totalorder/internal/envfix" // before Fyne: a locale it can parse (see package envfix)
)

// networkView adapts the server to what the Network window shows.
type networkView struct{ *netsim.Server }

func (v networkView) Stats() gui.NetworkStats {
	s := v.Server.Stats()
	return gui.NetworkStats{Accepted: s.Accepted, Delivered: s.Delivered, InFlight: s.InFlight,
		Failed: s.Failed, Dropped: s.Dropped, Duplicated: s.Duplicated}
}

// runWindow serves while the Network window is open; closing it (or a
// signal) stops the server, which delivers or reports what is in flight.
func runWindow(ctx context.Context, srv *netsim.Server) error {
	if err := display.Check(); err != nil {
		return err
	}
	stopProfiles, err := debugserve.FromEnv() // off unless TOTALORDER_PPROF is set
	if err != nil {
		return err
	}
	defer stopProfiles()
	a := app.NewWithID("lab.totalorder.network")
	w := gui.NewNetworkWindow(a, networkView{srv}, func(s string) (time.Duration, error) { return netsim.ParseMaxSleep(s) })
	// The timeline reads the lab's logs: beside the events log, or logs/.
	logs := "logs"
	if p := srv.EventsPath(); p != "" {
		logs = filepath.Dir(p)
	}
	var opt gui.TimelineOptions
	if os.Getenv("TIMELINE_STATS") != "" {
		opt.Stats = os.Stderr // redraws a second, for measurements
	}
	w.EnableTimeline(a, logs, opt)
	return gui.RunWhile(ctx, a, w.Window(), srv.Run, w.AppStopped)
}
