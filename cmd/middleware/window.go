//go:build !nogui

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"totalorder/gui"
	"totalorder/internal/debugserve"
	"totalorder/internal/display"
	"totalorder/middleware"
	"totalorder/timeline"

	_ "totalorder/internal/envfix" // before Fyne: a locale it can parse (see package envfix)
)

// runWindow shows the window "Middleware <id>" over node until the window
// is closed, ctx is done (a signal) or "quit" comes on commands (if not
// nil), then stops node. feed follows the auction for the commands; past
// is what earlier runs delivered (replay.Past), for the Auction tab.
func runWindow(ctx context.Context, node *middleware.Node, opt options, feed *auctionFeed, past []string, commands io.Reader, log zerolog.Logger) error {
	if err := display.Check(); err != nil {
		return err
	}
	stopProfiles, err := debugserve.FromEnv() // off unless TOTALORDER_PPROF is set
	if err != nil {
		return err
	}
	defer stopProfiles()
	id := opt.cfg.ID
	a := app.NewWithID(fmt.Sprintf("lab.totalorder.middleware%d", id))
	w := gui.NewMiddlewareWindow(a, node, gui.MiddlewareConfig{ID: id, N: opt.cfg.N, Auction: opt.app == appAuction, PastReady: past})
	if p := node.EventsPath(); p != "" {
		// A message clicked in the timeline is selected here too.
		w.FollowSelection(filepath.Join(filepath.Dir(p), timeline.SelectionFile))
	}

	if commands != nil {
		defer node.Subscribe(feed.onEvents)() // before Run: every Ready event
		c := &commander{node: node, auction: feed, out: os.Stdout, log: log}
		go readCommands(commands, c, func() { fyne.Do(a.Quit) })
	}
	return gui.RunWhile(ctx, a, w.Window(), node.Run, w.AppStopped)
}
