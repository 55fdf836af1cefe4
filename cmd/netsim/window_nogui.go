//go:build nogui

package main

import (
	"context"
	"errors"

	"totalorder/netsim"
)

// runWindow is unavailable in a build without the GUI (-tags nogui).
func runWindow(context.Context, *netsim.Server) error {
	return errors.New("this build has no window (built with -tags nogui): run without -gui")
}
