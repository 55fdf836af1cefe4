//go:build !windows

package main

import "os"

// job does nothing here: the programs share the terminal's process group.
type job struct{}

func newJob() (*job, error)        { return &job{}, nil }
func (*job) add(*os.Process) error { return nil }
func (*job) close()                {}
