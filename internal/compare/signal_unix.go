//go:build !windows

package compare

import (
	"os"
	"syscall"
)

// pauseSignals are the signals that pause and resume a process.
func pauseSignals() (stop, cont os.Signal, err error) { return syscall.SIGSTOP, syscall.SIGCONT, nil }
