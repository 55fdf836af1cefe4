//go:build nogui

package main

import (
	"context"
	"errors"
	"io"

	"github.com/rs/zerolog"

	"totalorder/middleware"
)

// runWindow is unavailable in a build without the GUI (-tags nogui).
func runWindow(context.Context, *middleware.Node, options, *auctionFeed, []string, io.Reader, zerolog.Logger) error {
	return errors.New("this build has no window (built with -tags nogui): run with -headless")
}
