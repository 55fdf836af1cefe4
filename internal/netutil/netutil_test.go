package netutil

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

func TestIsAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = net.Listen("tcp", ln.Addr().String())
	if err == nil {
		t.Skip("the system let a second listener bind the same port")
	}
	if !IsAddrInUse(err) {
		t.Errorf("IsAddrInUse(%v) = false for a port taken by a listener", err)
	}
	if !IsAddrInUse(fmt.Errorf("data port: %w", err)) {
		t.Errorf("IsAddrInUse does not see through wrapping")
	}
	_, err = net.Listen("tcp", "127.0.0.1:99999")
	for _, e := range []error{nil, err, errors.New("address already in use")} {
		if IsAddrInUse(e) {
			t.Errorf("IsAddrInUse(%v) = true", e)
		}
	}
}
