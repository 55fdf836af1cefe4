// Package netutil holds the small network helpers the network program and
// the middleware share.
package netutil

import "errors"

// IsAddrInUse reports whether err (from net.Listen or a bind) says that
// the address is already in use. It looks at the error number, not the
// text, which depends on the system and its language.
func IsAddrInUse(err error) bool {
	return err != nil && errors.Is(err, errAddrInUse)
}
