package interrupt

import (
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// ProcAttr puts the program in a process group of its own, so that Send
// can send Ctrl-Break to it alone (a Ctrl-C in the console reaches only
// the caller, which then stops its programs one by one).
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// Send sends Ctrl-Break to the program's process group (Windows has
// no SIGTERM; Go programs see Ctrl-Break as os.Interrupt). It fails when
// this process has no console to share with the program: the caller then
// kills it.
func Send(p *os.Process) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}
