//go:build !windows

package main

import (
	"os"
	"syscall"
)

// sysProcAttr keeps the programs in the launcher's process group: Ctrl-C
// in the terminal reaches them all, as with run.sh.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// interrupt asks the program to stop cleanly.
func interrupt(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// job does nothing here: the programs share the terminal's process group.
type job struct{}

func newJob() (*job, error)        { return &job{}, nil }
func (*job) add(*os.Process) error { return nil }
func (*job) close()                {}
