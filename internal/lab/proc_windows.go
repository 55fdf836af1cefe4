package lab

import (
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// sysProcAttr puts each program in a process group of its own, so that
// interrupt can send Ctrl-Break to it alone.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// interrupt sends Ctrl-Break to the program's process group (Windows has
// no SIGTERM; Go programs see Ctrl-Break as os.Interrupt). It fails when
// this process has no console to share with the program: the caller then
// kills it.
func interrupt(p *os.Process) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}
