package lab

import "errors"

// CanPause tells whether Pause works here: Windows has no SIGSTOP and
// SIGCONT (tests of pauses skip there).
const CanPause = false

var errNoPause = errors.New("pausing a program needs SIGSTOP and SIGCONT, which Windows does not have")

// Pause would stop middleware i where it is; on Windows it fails.
func (l *Lab) Pause(i int) error { return errNoPause }

// Resume would continue middleware i after Pause; on Windows it fails.
func (l *Lab) Resume(i int) error { return errNoPause }
