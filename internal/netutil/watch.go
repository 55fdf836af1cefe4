package netutil

import "net"

// Watched is a connection this end only writes to (the middleware's to the
// network program, the network program's to a middleware, kept open with
// -reuse). The other end never writes, so any read result means it closed
// the connection: a goroutine reads it so that this is noticed (Gone)
// before the next batch is written into a dead socket and lost.
type Watched struct {
	net.Conn
	gone  chan struct{}
	ended chan struct{} // the watcher (done included) returned
}

// Watch starts watching conn. done, when set, runs as the watcher ends
// (after Gone is closed), on the watcher's goroutine.
func Watch(conn net.Conn, done func()) *Watched {
	w := &Watched{Conn: conn, gone: make(chan struct{}), ended: make(chan struct{})}
	go func() { // owned by w: Close ends it and waits
		defer close(w.ended)
		if done != nil {
			defer done()
		}
		defer close(w.gone)
		var b [512]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				return
			}
		}
	}()
	return w
}

// Gone is closed once the other end closed the connection (or Close was
// called).
func (w *Watched) Gone() <-chan struct{} { return w.gone }

// Closed reports whether Gone is closed.
func (w *Watched) Closed() bool {
	select {
	case <-w.gone:
		return true
	default:
		return false
	}
}

// Close closes the connection and waits for the watcher (and done) to end.
func (w *Watched) Close() error {
	err := w.Conn.Close()
	<-w.ended
	return err
}
