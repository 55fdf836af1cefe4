//go:build !windows

package lab

import "syscall"

// CanPause tells whether Pause works here: Unix has SIGSTOP and SIGCONT.
const CanPause = true

// Pause stops middleware i where it is (SIGSTOP, as a debugger's
// breakpoint does) until Resume: its sockets stay open, it answers nothing.
func (l *Lab) Pause(i int) error { return l.Signal(i, syscall.SIGSTOP) }

// Resume continues middleware i after Pause (SIGCONT).
func (l *Lab) Resume(i int) error { return l.Signal(i, syscall.SIGCONT) }
