package netsim

import "totalorder/internal/netutil"

// isAddrInUse reports a port in use by its error number (see netutil).
func isAddrInUse(err error) bool { return netutil.IsAddrInUse(err) }
