package netsim

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/wire"
)

// waitLimit bounds every wait in the tests; a healthy run needs a small
// fraction of it.
const waitLimit = 10 * time.Second

// arrival is one message as a sink received it.
type arrival struct {
	msg string
	at  time.Time
}

// sink is a destination standing in for our middleware: it accepts any
// number of connections and records every message in arrival order,
// splitting at each <EOM> and ignoring bytes after the last one (the
// tail a copy may carry, as the original forwards it). rawSink, in
// compat_test.go, records copies byte for byte instead.
type sink struct {
	t      testing.TB
	ln     net.Listener
	mu     sync.Mutex
	got    []arrival
	conns  map[net.Conn]struct{}
	closed bool
	accept int // connections accepted
	notify chan struct{}
	wg     sync.WaitGroup
}

func newSink(t testing.TB) *sink { return newSinkAt(t, "127.0.0.1:0") }

func newSinkAt(t testing.TB, addr string) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("sink listen: %v", err)
	}
	k := &sink{t: t, ln: ln, conns: make(map[net.Conn]struct{}), notify: make(chan struct{}, 1)}
	k.wg.Add(1)
	go k.acceptLoop()
	t.Cleanup(k.close)
	return k
}

func (k *sink) addr() string { return k.ln.Addr().String() }

func (k *sink) acceptLoop() {
	defer k.wg.Done()
	for {
		c, err := k.ln.Accept()
		if err != nil {
			return
		}
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			_ = c.Close()
			return
		}
		k.conns[c] = struct{}{}
		k.accept++
		k.mu.Unlock()
		k.wg.Add(1)
		go k.read(c)
	}
}

func (k *sink) read(c net.Conn) {
	defer k.wg.Done()
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.mu.Unlock()
		_ = c.Close()
	}()
	r := wire.NewReader(c, 0)
	for {
		msg, err := r.Next()
		if err != nil {
			return
		}
		if !r.Terminated() {
			continue // a tail: io.EOF follows
		}
		now := time.Now()
		k.mu.Lock()
		k.got = append(k.got, arrival{msg: string(msg), at: now})
		k.mu.Unlock()
		select {
		case k.notify <- struct{}{}:
		default:
		}
	}
}

func (k *sink) close() {
	k.mu.Lock()
	k.closed = true
	_ = k.ln.Close()
	for c := range k.conns {
		_ = c.Close()
	}
	k.mu.Unlock()
	k.wg.Wait()
}

// dropConns closes the connections open now, as a restarting middleware would.
func (k *sink) dropConns() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for c := range k.conns {
		_ = c.Close()
	}
}

func (k *sink) received() []arrival {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]arrival(nil), k.got...)
}

func (k *sink) connections() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.accept
}

// waitFor returns once the sink holds at least n messages.
func (k *sink) waitFor(n int) []arrival {
	k.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		if got := k.received(); len(got) >= n {
			return got
		}
		select {
		case <-k.notify:
		case <-deadline.C:
			k.t.Fatalf("sink %s: got %d messages, want %d", k.addr(), len(k.received()), n)
		}
	}
}

func messages(as []arrival) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.msg
	}
	return out
}

// testLogger writes through t.Log, so logs show with -v or on failure.
func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: zerolog.NewTestWriter(t), NoColor: true}).
		With().Timestamp().Logger()
}

// running is a server under test.
type running struct {
	*Server
	cancel context.CancelFunc
	done   chan error
}

// startServer runs a server on a free loopback port with cfg.Dests set to
// the sinks. Cleanup stops it and checks that no goroutine of it is left.
func startServer(t testing.TB, cfg Config, sinks ...*sink) *running {
	t.Helper()
	cfg.Port = 0
	if cfg.Dests == nil {
		for _, k := range sinks {
			cfg.Dests = append(cfg.Dests, k.addr())
		}
	}
	cfg.Logger = testLogger(t)
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		checkNoServerGoroutines(t)
	})
	return r
}

// stop cancels Run and waits for it (idempotent).
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return %v after cancel", waitLimit)
	}
}

// waitStats polls the counters until cond holds: counters have no signal
// of their own, so a short poll with a deadline is the honest wait.
func (r *running) waitStats(t testing.TB, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		st := r.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: stats %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendEach sends every message on a connection of its own, as our
// middleware does by default and the original program expects, one after
// the other (the server may still read them in any order).
func sendEach(t testing.TB, addr string, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		send(t, addr, m)
	}
}

// send writes the messages on one connection, in one write, and closes it.
// Without reuse the server takes the write as one message, as the original
// does; with reuse each is a message.
func send(t testing.TB, addr string, msgs ...string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	var buf []byte
	for _, m := range msgs {
		buf = wire.AppendFrame(buf, []byte(m))
	}
	if _, err := c.Write(buf); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// sendRaw writes raw bytes in the given pieces and closes the connection.
func sendRaw(t testing.TB, addr string, pieces ...[]byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	for _, p := range pieces {
		if _, err := c.Write(p); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("close write: %v", err)
	}
	// Wait for the server to finish reading and close its end, so the
	// pieces were consumed before the caller moves on.
	_ = c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("waiting for server close: %v", err)
	}
}

// checkNoServerGoroutines fails if goroutines running the package's
// non-test code outlive the server. Goroutines exit a moment after
// signalling they are done, so it retries briefly.
func checkNoServerGoroutines(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked := serverGoroutines()
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines outlived the server:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "/netsim/") && !strings.Contains(g, "_test.go") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}
