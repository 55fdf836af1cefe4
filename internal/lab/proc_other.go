//go:build !windows

package lab

import (
	"os"
	"syscall"
)

// sysProcAttr: nothing to set up for interrupt.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// interrupt asks the program to stop cleanly (SIGTERM).
func interrupt(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
