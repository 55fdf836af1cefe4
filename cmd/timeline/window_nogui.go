//go:build nogui

package main

import (
	"errors"

	"totalorder/timeline"
)

// runWindow is unavailable in a build without the GUI (-tags nogui).
func runWindow(*timeline.Source, bool) error {
	return errors.New("this build has no window (built with -tags nogui): use -png, -svg or -shiviz")
}
