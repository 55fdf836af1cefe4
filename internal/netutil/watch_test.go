package netutil

import (
	"net"
	"testing"
	"time"
)

// The other end closing the connection is seen at once (Gone, Closed),
// and the done hook runs after; Close waits for the watcher.
func TestWatchSeesThePeerClose(t *testing.T) {
	a, b := net.Pipe()
	done := make(chan struct{})
	w := Watch(a, func() { close(done) })
	if w.Closed() {
		t.Fatal("closed before anything happened")
	}
	b.Close()
	select {
	case <-w.Gone():
	case <-time.After(10 * time.Second):
		t.Fatal("the peer's close was not seen")
	}
	<-done
	if !w.Closed() {
		t.Error("Closed is false after Gone")
	}
	w.Close()
}

func TestWatchCloseWaitsForTheWatcher(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	ended := false
	w := Watch(a, func() { ended = true })
	w.Close()
	if !ended || !w.Closed() {
		t.Errorf("after Close: watcher ended %v, closed %v", ended, w.Closed())
	}
}
