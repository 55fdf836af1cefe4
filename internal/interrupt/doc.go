// Package interrupt stops the lab's programs cleanly the way each system
// allows: SIGTERM on Unix, Ctrl-Break to a process group of the program's
// own on Windows (which has no SIGTERM). The launcher and the
// real-process test harness both use it.
package interrupt
