package netsim

import (
	"errors"
	"syscall"
)

// isConnRefused reports a dial refused because nothing listens there:
// Winsock's WSAECONNREFUSED, which syscall does not name.
func isConnRefused(err error) bool { return errors.Is(err, syscall.Errno(10061)) }
