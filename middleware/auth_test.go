package middleware

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/core"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// expectClosed waits until the listener closes c (EOF or reset).
func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, err := c.Read(make([]byte, 256))
		if err == nil {
			continue // the challenge
		}
		if isTimeout(err) {
			t.Fatalf("%s: the connection was not closed", what)
		}
		return
	}
}

// expectNothing checks that the listener handed no message to the node.
func expectNothing(t *testing.T, out <-chan *batch[core.Msg]) {
	t.Helper()
	select {
	case b := <-out:
		t.Fatalf("the node heard of an unauthenticated connection: %+v", b.items)
	default:
	}
}

// TestStrangersAreRefused connects as strangers would: silent, with the
// old unauthenticated hello, with a well-formed hello but no secret,
// replaying a real dialer's proof, and reflecting the acceptor's own MAC.
// Each is closed, the node hears nothing, and the refusals cost few log
// lines; a real peer still gets in afterwards.
func TestStrangersAreRefused(t *testing.T) {
	var logs logBuffer
	ln := freeListener(t)
	addr := ln.Addr().String()
	out, _ := startControlListener(t, ln, 2, 3, zerolog.New(&logs))

	t.Run("silent", func(t *testing.T) {
		c := dial(t, addr)
		start := time.Now()
		expectClosed(t, c, "a silent connection")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("a silent connection was closed after %v, want about the 2s handshake timeout", d)
		}
	})
	t.Run("old hello", func(t *testing.T) {
		c := dial(t, addr)
		write(t, c, "HELLO 3 run7\nR 3 1\n")
		expectClosed(t, c, "an unauthenticated HELLO")
	})
	t.Run("wrong key", func(t *testing.T) {
		c := dial(t, addr)
		err := dialHandshake(c, bufio.NewReader(c), []byte("not the secret, not the secret!!"), 3, 2, "r")
		if !errors.Is(err, errNotMember) {
			t.Fatalf("a dialer with the wrong key accepted the listener's challenge: %v", err)
		}
		// Prove anything: a stranger who ignores the failed check.
		write(t, c, authVersion+" PROOF "+strings.Repeat("ab", 32)+"\nR 3 1\n")
		expectClosed(t, c, "a wrong proof")
	})
	t.Run("replay", func(t *testing.T) {
		// Record a real dialer's transcript, then replay its lines.
		c := dial(t, addr)
		rec := &recorder{Conn: c}
		if err := dialHandshake(rec, bufio.NewReader(c), testKey, 3, 2, "r"); err != nil {
			t.Fatal(err)
		}
		c.Close()
		var pending []core.Msg
		if m := takeMsg(t, out, &pending); m.Kind != core.KindLinkClosed {
			t.Fatalf("the real link's close: got %+v", m)
		}
		r := dial(t, addr)
		write(t, r, rec.String()+"R 3 1\n")
		expectClosed(t, r, "a replayed transcript")
	})
	t.Run("reflection", func(t *testing.T) {
		c := dial(t, addr)
		nonce, _ := newNonce()
		write(t, c, fmt.Sprintf("%s HELLO 3 2 r %s\n", authVersion, nonce))
		br := bufio.NewReader(c)
		f, err := handshakeLine(br, "CHALLENGE", 4)
		if err != nil {
			t.Fatal(err)
		}
		write(t, c, authVersion+" PROOF "+f[3]+"\nR 3 1\n") // the acceptor's own MAC
		expectClosed(t, c, "a reflected MAC")
	})
	expectNothing(t, out)
	if n := strings.Count(logs.String(), "refused a connection"); n < 1 || n > 2 {
		t.Errorf("%d refusal lines for 5 strangers, want 1 or 2 (rate-limited):\n%s", n, logs.String())
	}

	// A real peer still gets in.
	c := dial(t, addr)
	if err := dialHandshake(c, bufio.NewReader(c), testKey, 3, 2, "r"); err != nil {
		t.Fatal(err)
	}
	write(t, c, "R 3 9\n")
	var pending []core.Msg
	if m := takeMsg(t, out, &pending); m.From != 3 || m.ID.Num != 9 {
		t.Fatalf("got %+v, want request 9 from 3", m)
	}
}

// recorder keeps what was written through it.
type recorder struct {
	net.Conn
	mu  sync.Mutex
	buf strings.Builder
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.buf.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// TestDialerRefusesImpostor: something else listens at a peer's address
// (say, a stranger took the port while the peer was down). It answers the
// hello but cannot prove the secret: the link writes nothing to it and
// never counts as up.
func TestDialerRefusesImpostor(t *testing.T) {
	ln := freeListener(t)
	got := make(chan string, 16)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				if _, err := handshakeLine(br, "HELLO", 6); err != nil {
					return
				}
				nonce, _ := newNonce()
				fmt.Fprintf(c, "%s CHALLENGE %s %s\n", authVersion, nonce, strings.Repeat("00", 32))
				rest, _ := io.ReadAll(br)
				got <- string(rest)
			})
		}
	})
	var logs logBuffer
	link := newPeerLink(1, 2, ln.Addr().String(), "r", testKey, 1000, 50*time.Millisecond, zerolog.New(&logs))
	link.enqueue([]core.Envelope{{To: 2, Msg: core.Msg{Kind: core.KindRequest, ID: core.MsgID{Sender: 1, Num: 1}}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); link.runLink(ctx) }()
	for range 3 {
		select {
		case rest := <-got:
			if rest != "" {
				t.Fatalf("the link wrote %q to a peer that did not prove the secret", rest)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the link did not try the impostor")
		}
		if link.up() {
			t.Fatal("the link counts an impostor as up")
		}
	}
	// (Checked while the link runs: a stopped link abandons its queue.)
	if link.queued() != 1 {
		t.Fatalf("the queued message was lost: %d queued", link.queued())
	}
	cancel()
	<-done
	if !strings.Contains(logs.String(), "did not prove this lab's group secret") {
		t.Fatalf("no log line about the impostor:\n%s", logs.String())
	}
}

// TestHandshakeFloodKeepsPeerIn fills the handshake gate many times over
// with idle connections, and a real peer still links at once: the oldest
// waiting connection makes room for it.
func TestHandshakeFloodKeepsPeerIn(t *testing.T) {
	var logs logBuffer
	ln := freeListener(t)
	addr := ln.Addr().String()
	out, _ := startControlListener(t, ln, 2, 3, zerolog.New(&logs)) // gate of 8
	var idle []net.Conn
	for range 100 {
		idle = append(idle, dial(t, addr))
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	// A real peer retries as its link does (a connection accepted in the
	// middle of the flood can be evicted before its hello is read); it
	// must get in within a few attempts.
	start := time.Now()
	var c net.Conn
	var err error
	for attempt := 1; ; attempt++ {
		c = dial(t, addr)
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if err = dialHandshake(c, bufio.NewReader(c), testKey, 3, 2, "r"); err == nil {
			t.Logf("linked at attempt %d", attempt)
			break
		}
		c.Close()
		if attempt == 5 {
			t.Fatalf("a real peer could not link during a flood in %d attempts: %v", attempt, err)
		}
	}
	defer c.Close()
	write(t, c, "R 3 1\n")
	var pending []core.Msg
	if m := takeMsg(t, out, &pending); m.From != 3 {
		t.Fatalf("got %+v", m)
	}
	t.Logf("linked in %v behind 100 idle connections", time.Since(start))
	if !strings.Contains(logs.String(), "closed the oldest") {
		t.Errorf("no line about the flood:\n%s", logs.String())
	}
}

func TestHandshakeGate(t *testing.T) {
	g := handshakeGate{max: 2}
	a, a2 := net.Pipe()
	b, _ := net.Pipe()
	c, _ := net.Pipe()
	defer a2.Close()
	if g.enter(a) || g.enter(b) {
		t.Fatal("evicted below the cap")
	}
	if !g.enter(c) {
		t.Fatal("no eviction at the cap")
	}
	a2.SetWriteDeadline(time.Now().Add(time.Second)) // an open pipe would block
	if _, err := a2.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatal("the oldest connection was not closed")
	}
	if g.leave(a) || !g.leave(b) || !g.leave(c) {
		t.Fatal("leave reports the wrong connections as evicted")
	}

	// A connection that said hello outlives idle ones that came later.
	g = handshakeGate{max: 2}
	p, p2 := net.Pipe()
	i1, i1b := net.Pipe()
	i2, _ := net.Pipe()
	defer p2.Close()
	defer i1b.Close()
	g.enter(p)
	g.greeted(p)
	g.enter(i1)
	g.enter(i2) // evicts i1, not the greeted p
	i1b.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := i1b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatal("the idle connection was not the one closed")
	}
	if !g.leave(p) {
		t.Fatal("the greeted connection was evicted before an idle one")
	}
}

func TestGroupKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "group.key")
	if err := WriteGroupKey(path); err != nil {
		t.Fatal(err)
	}
	key, err := LoadGroupKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 64 {
		t.Fatalf("key of %d bytes, want 64 hex digits", len(key))
	}
	if err := WriteGroupKey(path); err != nil {
		t.Fatal(err)
	}
	if again, _ := LoadGroupKey(path); string(again) == string(key) {
		t.Fatal("two labs got the same secret")
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
		}
		os.Chmod(path, 0o644)
		if _, err := LoadGroupKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("a key file others can read was accepted: %v", err)
		}
	}
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	if _, err := LoadGroupKey(short); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Fatalf("a 3-byte secret was accepted: %v", err)
	}
	if _, err := LoadGroupKey(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func TestNoKeyOnlyOnLoopback(t *testing.T) {
	cfg := Config{ID: 1, N: 2, Host: "0.0.0.0"}
	if err := cfg.withDefaults(); err == nil || !strings.Contains(err.Error(), "-group-key-file") {
		t.Fatalf("listening on all interfaces without a key: %v", err)
	}
	cfg = Config{ID: 1, N: 2, PeerAddrs: map[int]string{2: "192.0.2.7:9083"}}
	if err := cfg.withDefaults(); err == nil || !strings.Contains(err.Error(), "-group-key-file") {
		t.Fatalf("a peer on another machine without a key: %v", err)
	}
	cfg = Config{ID: 1, N: 2, Host: "0.0.0.0", GroupKey: testKey}
	if err := cfg.withDefaults(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHandshake measures one full handshake over loopback, both
// sides, including the TCP connect.
func BenchmarkHandshake(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				acceptHandshake(c, bufio.NewReader(c), testKey, 2, 3, nil)
			}()
		}
	}()
	for b.Loop() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if err := dialHandshake(c, bufio.NewReader(c), testKey, 1, 2, "r"); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// startPair runs two nodes of a group of two with the given keys and
// returns them with their logs.
func startPair(t *testing.T, key1, key2 []byte) (nodes [2]*Node, logs [2]*logBuffer) {
	t.Helper()
	ctl := [2]net.Listener{freeListener(t), freeListener(t)}
	peers := map[int]string{1: ctl[0].Addr().String(), 2: ctl[1].Addr().String()}
	netAddr := freeAddr(t) // no network program: the nodes only link
	for i, key := range [][]byte{key1, key2} {
		logs[i] = &logBuffer{}
		n, err := New(Config{ID: i + 1, N: 2, GroupKey: key, PeerAddrs: peers, NetAddr: netAddr,
			DataListener: freeListener(t), ControlListener: ctl[i], RetryMax: 100 * time.Millisecond,
			Logger: zerolog.New(logs[i])})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		nodes[i] = n
	}
	return nodes, logs
}

func TestNodesLinkOnlyWithTheSameKey(t *testing.T) {
	t.Run("same key", func(t *testing.T) {
		nodes, logs := startPair(t, testKey, testKey)
		waitFor(t, "both links up", 10*time.Second, func() bool {
			return nodes[0].Status().PeersUp == 1 && nodes[1].Status().PeersUp == 1
		})
		for i := range logs {
			if strings.Contains(logs[i].String(), "anyone on this machine") {
				t.Errorf("Middleware %d warns about the default secret though it has a key", i+1)
			}
		}
	})
	t.Run("different keys", func(t *testing.T) {
		nodes, logs := startPair(t, testKey, []byte("another lab's secret, 32 bytes.."))
		for i := range logs {
			waitFor(t, "the handshake failure in the log", 10*time.Second, func() bool {
				return strings.Contains(logs[i].String(), "did not prove this lab's group secret")
			})
		}
		if nodes[0].Status().PeersUp != 0 || nodes[1].Status().PeersUp != 0 {
			t.Fatal("nodes with different keys linked")
		}
	})
	t.Run("no key", func(t *testing.T) {
		nodes, logs := startPair(t, nil, nil)
		waitFor(t, "both links up", 10*time.Second, func() bool {
			return nodes[0].Status().PeersUp == 1 && nodes[1].Status().PeersUp == 1
		})
		for i := range logs {
			if n := strings.Count(logs[i].String(), "anyone on this machine could join"); n != 1 {
				t.Errorf("Middleware %d warned %d times about the default secret, want once", i+1, n)
			}
		}
	})
}
