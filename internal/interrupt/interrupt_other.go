//go:build !windows

package interrupt

import (
	"os"
	"syscall"
)

// ProcAttr: nothing to set up for Send here; the program stays in the
// caller's process group, so that Ctrl-C in a terminal reaches it too.
func ProcAttr() *syscall.SysProcAttr { return nil }

// Send asks the program to stop cleanly (SIGTERM).
func Send(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
