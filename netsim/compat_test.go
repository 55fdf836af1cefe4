package netsim

import (
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"totalorder/internal/hostaddr"
)

// rawSink records the bytes of every connection it accepts, whole, as a
// middleware written for the original program reads them.
type rawSink struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []string
	notify chan struct{}
	wg     sync.WaitGroup
}

func newRawSink(t *testing.T) *rawSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sink listen: %v", err)
	}
	k := &rawSink{ln: ln, notify: make(chan struct{}, 1)}
	k.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k.wg.Go(func() {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(waitLimit))
				b, _ := io.ReadAll(c)
				k.mu.Lock()
				k.conns = append(k.conns, string(b))
				k.mu.Unlock()
				select {
				case k.notify <- struct{}{}:
				default:
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		k.wg.Wait()
	})
	return k
}

// waitFor returns the connections' bytes, sorted, once there are n of them.
func (k *rawSink) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		got := slices.Clone(k.conns)
		k.mu.Unlock()
		if len(got) >= n {
			slices.Sort(got)
			return got
		}
		select {
		case <-k.notify:
		case <-deadline.C:
			t.Fatalf("sink %s: %d connections, want %d", k.ln.Addr(), len(got), n)
		}
	}
}

// TestWireCompatibleWithOriginal sends what middlewares written for the
// original program send (one message per connection, then close), with
// bytes after <EOM>: the lab's skeleton "...<EOM>\n", a student's
// "...<EOM>\n,N1<seq>", Java's writeUTF length prefix. Without reuse every
// destination must get each as the original forwards it: one connection
// per copy carrying the whole buffer, tail included, and nothing else.
func TestWireCompatibleWithOriginal(t *testing.T) {
	sends := []string{
		"From 8083: This is a test<EOM>\n",
		"Msg #1 from Middleware 1<EOM>\n",
		"Msg #2 from Middleware 1<EOM>\n,N1 7",
		"Msg #1 from Middleware 3<EOM>\n,N3 12",
		"\x00\x1aMsg #1 from Middleware 2 <EOM>",
		"Msg #1 from Middleware 4<EOM>",
	}
	sinks := make([]*rawSink, 5)
	var dests []string
	for i := range sinks {
		sinks[i] = newRawSink(t)
		dests = append(dests, sinks[i].ln.Addr().String())
	}
	r := startServer(t, Config{Dests: dests, MaxSleep: 20 * time.Millisecond, Seed: 7})
	for _, m := range sends {
		c, err := net.Dial("tcp", r.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := slices.Sorted(slices.Values(sends))
	for i, k := range sinks {
		if got := k.waitFor(t, len(sends)); !slices.Equal(got, want) {
			t.Errorf("destination %d got %q, want %q", i+1, got, want)
		}
	}
	st := r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
	if st.Accepted != uint64(len(sends)) || st.Delivered != uint64(5*len(sends)) {
		t.Errorf("accepted %d delivered %d, want %d and %d", st.Accepted, st.Delivered, len(sends), 5*len(sends))
	}
	for i, k := range sinks {
		k.mu.Lock()
		n := len(k.conns)
		k.mu.Unlock()
		if n != len(sends) {
			t.Errorf("destination %d: %d connections, want %d (an extra message was made)", i+1, n, len(sends))
		}
	}
}

// TestTailHeldUntilClose writes the tail in a second write while the
// connection stays open: the message must wait for it, then leave with it.
func TestTailHeldUntilClose(t *testing.T) {
	k := newSink(t)
	r := startServer(t, Config{}, k)
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("Msg #1 from Middleware 2<EOM>\n,N")); err != nil {
		t.Fatal(err)
	}
	r.waitStats(t, "the message read", func(st Stats) bool { return st.Conns == 1 })
	if _, err := c.Write([]byte("2 5")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got := k.waitFor(1)
	r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
	if len(k.received()) != 1 || got[0].msg != "Msg #1 from Middleware 2" || got[0].tail != "\n,N2 5" {
		t.Errorf("got %+v, want one message with tail %q", k.received(), "\n,N2 5")
	}
}

// A middleware written for the original program listens only on one of
// this host's own addresses: with default addresses our network program
// finds it there (and takes its sends there too).
func TestDefaultAddressesReachHostAddress(t *testing.T) {
	var ip net.IP
	for _, a := range hostaddr.IPv4s() {
		if !a.IsLoopback() {
			ip = a
			break
		}
	}
	if ip == nil {
		t.Skip("this host has no address but loopback: nothing to find")
	}
	s, err := New(Config{N: 1, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	port := s.Addr().(*net.TCPAddr).Port
	sink, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port+1)))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	defer sink.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// The sender, like the original's middlewares, writes to the host's
	// address rather than 127.0.0.1.
	c, err := net.Dial("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("our network program is not reachable at the host's address %s: %v", ip, err)
	}
	c.Write([]byte("Msg #1 from Middleware 1<EOM>"))
	c.Close()
	sink.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	got, err := sink.Accept()
	if err != nil {
		t.Fatalf("no copy reached the sink at the host's address: %v", err)
	}
	defer got.Close()
	b, _ := io.ReadAll(got)
	if string(b) != "Msg #1 from Middleware 1<EOM>" {
		t.Fatalf("the sink got %q", b)
	}
}
