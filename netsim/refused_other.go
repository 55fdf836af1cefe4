//go:build !windows

package netsim

import (
	"errors"
	"syscall"
)

// isConnRefused reports a dial refused because nothing listens there.
func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
