//go:build !windows

package netutil

import "syscall"

const errAddrInUse = syscall.EADDRINUSE
