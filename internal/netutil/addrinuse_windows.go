package netutil

import "syscall"

// errAddrInUse is Winsock's WSAEADDRINUSE, which syscall does not name
// (its syscall.EADDRINUSE is an invented number no call returns).
const errAddrInUse = syscall.Errno(10048)
