package netsim

import (
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
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

// What the original program forwards, recorded byte for byte: Network.cs
// as the lab provides it, with only maxSleepTime lowered to 300 ms,
// compiled with mcs and run under mono 6.8 on Linux, its five destinations
// (ports 8082-8086 of the host's address) recording every connection
// whole. Every destination got the same bytes. The code that decides
// (Network.cs, MessageHandler):
//
//	readMsg: while (true) {
//	             bytes = new byte[1024];
//	             int bytesRec = await readStream.ReadAsync(bytes, 0, 1024);
//	             data += Encoding.ASCII.GetString(bytes, 0, bytesRec);
//	             if (data.IndexOf("<EOM>") > -1) break;
//	         }
//	sendMsg: byte[] msg = Encoding.ASCII.GetBytes(data);  // to each port, on a new connection
//
// A step is a write, or (wait > 0) a wait until every destination has
// that many copies, so the reads are known where they matter.
type step struct {
	write string
	wait  int
}

type originalCase struct {
	name     string
	steps    []step   // then the sender closes its connection
	original []string // the copies each destination got from the original, one per connection
	// ours, when not nil, is what ours forwards instead, on purpose: why says why.
	ours       []string
	why        string
	incomplete uint64 // connections ended with no <EOM> (nothing forwarded)
}

var originalCases = []originalCase{
	{
		name:     "one message",
		steps:    []step{{write: "Msg #1 from Middleware 1<EOM>"}},
		original: []string{"Msg #1 from Middleware 1<EOM>"},
	},
	{
		// readMsg stops at the first read holding <EOM>: the whole read
		// is one message, however many <EOM>s it holds.
		name:     "two <EOM>s in one write",
		steps:    []step{{write: "Msg #1 from Middleware 1<EOM>Msg #2 from Middleware 1<EOM>"}},
		original: []string{"Msg #1 from Middleware 1<EOM>Msg #2 from Middleware 1<EOM>"},
	},
	{
		name:     "the skeleton's tail",
		steps:    []step{{write: "From 8083: This is a test<EOM>\n"}},
		original: []string{"From 8083: This is a test<EOM>\n"},
	},
	{
		// Forwarded at once, the sender's connection still open.
		name:     "a tail, forwarded while the connection is open",
		steps:    []step{{write: "Msg #1 from Middleware 3<EOM>\n,N3 12"}, {wait: 1}},
		original: []string{"Msg #1 from Middleware 3<EOM>\n,N3 12"},
	},
	{
		// Encoding.ASCII: each byte above 0x7F is one '?'.
		name:     "bytes that are not ASCII",
		steps:    []step{{write: "Msg #1 from Middleware 2: caf\xc3\xa9 \xff\x80<EOM>"}},
		original: []string{"Msg #1 from Middleware 2: caf?? ??<EOM>"},
	},
	{
		name:     "control bytes",
		steps:    []step{{write: "\x00\x1aMsg #1 from Middleware 2 <EOM>"}},
		original: []string{"\x00\x1aMsg #1 from Middleware 2 <EOM>"},
	},
	{
		name:     "an empty message",
		steps:    []step{{write: "<EOM>"}},
		original: []string{"<EOM>"},
	},
	{
		name:     "<EOM> split across writes",
		steps:    []step{{write: "Msg #1 from Middleware 4<E"}, {write: "OM>"}},
		original: []string{"Msg #1 from Middleware 4<EOM>"},
	},
	{
		// The original spins on the closed connection's zero-byte reads
		// (one core at 100% from then on) and forwards nothing.
		name:       "no <EOM> before the connection closes",
		steps:      []step{{write: "no terminator here"}},
		original:   nil,
		incomplete: 1,
	},
	{
		name:     "a message longer than one read",
		steps:    []step{{write: strings.Repeat("c", 1025) + "<EOM>"}},
		original: []string{strings.Repeat("c", 1025) + "<EOM>"},
	},
	{
		// After its message the original never reads the connection again.
		name: "more writes on the connection after its message",
		steps: []step{{write: "Msg #1 from Middleware 5<EOM>"}, {wait: 1},
			{write: "\n,N5 1"}, {write: "Msg #2 from Middleware 5<EOM>"}},
		original: []string{"Msg #1 from Middleware 5<EOM>"},
		ours:     []string{"Msg #1 from Middleware 5<EOM>", "\n,N5 1Msg #2 from Middleware 5<EOM>"},
		why:      "both sides accept many messages per connection (DESIGN, data path): a later message is forwarded, starting where the one before it ended",
	},
	{
		// Reads are 1024 bytes: the rest of the write is never read.
		name:     "two <EOM>s in one write of more than 1024 bytes",
		steps:    []step{{write: strings.Repeat("a", 600) + "<EOM>" + strings.Repeat("b", 900) + "<EOM>"}},
		original: []string{(strings.Repeat("a", 600) + "<EOM>" + strings.Repeat("b", 900))[:1024]},
		ours: []string{(strings.Repeat("a", 600) + "<EOM>" + strings.Repeat("b", 900))[:1024],
			strings.Repeat("b", 900) + "<EOM>"},
		why: "the same: the message the 1024-byte read cut goes on from where its predecessor ended, whole",
	},
}

// TestFramingLikeOriginal sends each recorded case to our network program
// (no reuse, the default) and compares the copies byte for byte.
func TestFramingLikeOriginal(t *testing.T) {
	for _, tc := range originalCases {
		t.Run(tc.name, func(t *testing.T) {
			sinks := []*rawSink{newRawSink(t), newRawSink(t)}
			r := startServer(t, Config{Dests: []string{sinks[0].ln.Addr().String(), sinks[1].ln.Addr().String()}})
			c, err := net.Dial("tcp", r.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, st := range tc.steps {
				if st.wait > 0 {
					for _, k := range sinks {
						k.waitFor(t, st.wait)
					}
					continue
				}
				if _, err := c.Write([]byte(st.write)); err != nil {
					t.Fatal(err)
				}
			}
			closeAndWaitForServer(t, c)
			st := r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
			want := tc.original
			if tc.ours != nil {
				want = tc.ours
				if tc.why == "" {
					t.Fatal("the case differs from the original without saying why")
				}
			}
			want = slices.Sorted(slices.Values(want))
			for i, k := range sinks {
				if got := k.waitFor(t, len(want)); !slices.Equal(got, want) {
					t.Errorf("destination %d got %q, want %q", i+1, got, want)
				}
			}
			if st.Accepted != uint64(len(want)) || st.Incomplete != tc.incomplete {
				t.Errorf("accepted %d, incomplete %d; want %d and %d", st.Accepted, st.Incomplete, len(want), tc.incomplete)
			}
		})
	}
}

// closeAndWaitForServer closes the sending side and waits for the server
// to close its end: it has then read everything and dispatched what it
// will.
func closeAndWaitForServer(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("waiting for the server to close the connection: %v", err)
	}
}

// With reuse each <EOM> ends a message, and the text is still ASCII.
func TestReuseFramingIsASCII(t *testing.T) {
	k := newRawSink(t)
	r := startServer(t, Config{Reuse: true, Dests: []string{k.ln.Addr().String()}})
	sendRaw(t, r.Addr().String(), []byte("caf\xc3\xa9<EOM>two<EOM>rest"))
	r.waitStats(t, "two delivered", func(st Stats) bool { return st.Delivered == 2 })
	r.stop(t) // closes the kept-open connection
	if got := k.waitFor(t, 1); !slices.Equal(got, []string{"caf??<EOM>two<EOM>"}) {
		t.Errorf("the destination got %q", got)
	}
	if st := r.Stats(); st.Accepted != 2 || st.Incomplete != 0 {
		t.Errorf("accepted %d incomplete %d, want 2 and 0 (the rest after the last <EOM> is not a message)", st.Accepted, st.Incomplete)
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
