package middleware

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/core"
	"totalorder/middleware/wire"
)

// startDataListener serves a data listener into a channel until the test ends.
func startDataListener(t *testing.T, maxConns int, idle time.Duration, maxMessage int, log zerolog.Logger) (*dataListener, <-chan *batch[string]) {
	out := make(chan *batch[string], 100)
	d := &dataListener{ln: freeListener(t), maxConns: maxConns, idle: idle, maxMessage: maxMessage, out: out, log: log}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.run(ctx, &wg) })
	t.Cleanup(func() {
		cancel()
		d.ln.Close()
		d.conns.closeAll()
		wg.Wait()
	})
	return d, out
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// receive takes n messages from out (in any order) within a generous deadline.
func receive(t *testing.T, out <-chan *batch[string], n int) []string {
	t.Helper()
	var got []string
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case b := <-out:
			got = append(got, b.items...)
		case <-deadline:
			t.Fatalf("received %d of %d messages: %q", len(got), n, got)
		}
	}
	slices.Sort(got)
	return got
}

func TestDataListenerFraming(t *testing.T) {
	t.Run("one message per connection", func(t *testing.T) {
		d, out := startDataListener(t, 16, time.Minute, 0, testLogger(t))
		for i := 1; i <= 3; i++ {
			c := dial(t, d.ln.Addr().String())
			write(t, c, fmt.Sprintf("Msg #%d from Middleware 1<EOM>", i))
			c.Close()
		}
		want := []string{"Msg #1 from Middleware 1", "Msg #2 from Middleware 1", "Msg #3 from Middleware 1"}
		if got := receive(t, out, 3); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("many per connection, split terminators, unterminated message", func(t *testing.T) {
		d, out := startDataListener(t, 16, time.Minute, 0, testLogger(t))
		c := dial(t, d.ln.Addr().String())
		write(t, c, "a<EOM>b<E")
		write(t, c, "OM>c<EOM")
		write(t, c, ">")
		c.Close()
		c = dial(t, d.ln.Addr().String())
		write(t, c, "d") // nothing before it: a message
		c.Close()
		if got, want := receive(t, out, 4), []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("tail after <EOM> belongs to its message", func(t *testing.T) {
		// Copies as the original network program forwards them: whatever
		// the sender wrote after <EOM> comes along, then the connection
		// closes. Neither a message nor a log line may come of the tail.
		var logs logBuffer
		d, out := startDataListener(t, 16, time.Minute, 0, zerolog.New(&logs).Level(zerolog.InfoLevel))
		sends := []string{"Msg #1 from Middleware 1<EOM>\n", "Msg #2 from Middleware 1<EOM>\n,N1 7", "Msg #3 from Middleware 1<EOM>"}
		for _, m := range sends {
			c := dial(t, d.ln.Addr().String())
			write(t, c, m)
			c.Close()
		}
		c := dial(t, d.ln.Addr().String())
		write(t, c, "Msg #4 from Middleware 1<EOM>")
		write(t, c, "\n") // a tail in a later read
		c.Close()
		want := []string{"Msg #1 from Middleware 1", "Msg #2 from Middleware 1", "Msg #3 from Middleware 1", "Msg #4 from Middleware 1"}
		if got := receive(t, out, 4); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		// The connections are done once the listener tracks none of them.
		waitFor(t, "the connections to end", 10*time.Second, func() bool {
			d.conns.mu.Lock()
			defer d.conns.mu.Unlock()
			return len(d.conns.conns) == 0
		})
		select {
		case b := <-out:
			t.Fatalf("a tail became a message: %q", b.items)
		default:
		}
		if l := logs.String(); l != "" {
			t.Fatalf("want no log lines, got %q", l)
		}
	})
	t.Run("oversized message dropped, connection goes on", func(t *testing.T) {
		var logs logBuffer
		d, out := startDataListener(t, 16, time.Minute, 100, zerolog.New(&logs))
		c := dial(t, d.ln.Addr().String())
		write(t, c, strings.Repeat("x", 250)+"<EOM>good<EOM>")
		if got := receive(t, out, 1); got[0] != "good" {
			t.Fatalf("got %q, want good", got)
		}
		if l := logs.String(); strings.Count(l, "exceeds the 100-byte limit") != 1 || strings.Count(l, "\n") != 1 {
			t.Fatalf("want one log line about the oversized message, got %q", l)
		}
	})
	t.Run("idle connection closed", func(t *testing.T) {
		d, _ := startDataListener(t, 16, 50*time.Millisecond, 0, testLogger(t))
		c := dial(t, d.ln.Addr().String())
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("read on idle connection: %v, want EOF (closed by the listener)", err)
		}
	})
	t.Run("connection cap", func(t *testing.T) {
		d, out := startDataListener(t, 2, time.Minute, 0, testLogger(t))
		c1, c2 := dial(t, d.ln.Addr().String()), dial(t, d.ln.Addr().String())
		write(t, c1, "one<EOM>")
		write(t, c2, "two<EOM>")
		receive(t, out, 2) // both are being served
		c3 := dial(t, d.ln.Addr().String())
		write(t, c3, "three<EOM>")
		select {
		case b := <-out:
			t.Fatalf("a third connection was served over the cap of 2: %q", b.items)
		case <-time.After(50 * time.Millisecond):
		}
		c1.Close()
		if got := receive(t, out, 1); got[0] != "three" {
			t.Fatalf("got %q, want three", got)
		}
	})
}

// Content that is not a lab message (garbage, a middleware id outside the
// group) shows in Received whole, marked foreign, and is never delivered;
// the log says so in a few rate-limited lines; a lab message after it goes
// on as usual.
func TestNodeShowsForeignContent(t *testing.T) {
	var logs logBuffer
	nd, err := New(Config{
		ID: 1, N: 2, NetAddr: freeAddr(t), PeerAddrs: map[int]string{2: freeAddr(t)},
		DataListener: freeListener(t), ControlListener: freeListener(t),
		Logger: zerolog.New(&logs).Level(zerolog.ErrorLevel),
	})
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan Event, 200)
	nd.Subscribe(func(batch []Event) {
		for _, e := range batch {
			if e.Kind == EventReceived {
				received <- e
			}
			if e.Kind == EventReady && e.Foreign {
				t.Errorf("foreign content delivered: %q", e.Msg)
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx) }()
	defer func() { cancel(); <-done }()

	c := dial(t, nd.DataAddr().String())
	write(t, c, strings.Repeat("garbage<EOM>", 100)+"Msg #1 from Middleware 7<EOM>Msg #1 from Middleware 2 10:00:01<EOM>Msg #1 from Middleware 2<EOM>")
	want := append(slices.Repeat([]string{"garbage"}, 100), "Msg #1 from Middleware 7", "Msg #1 from Middleware 2 10:00:01")
	for k, w := range want {
		select {
		case e := <-received:
			if e.Msg != w || !e.Foreign {
				t.Fatalf("Received entry %d: %q (foreign %v), want %q, foreign", k+1, e.Msg, e.Foreign, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d foreign entries arrived", k, len(want))
		}
	}
	select {
	case e := <-received:
		if e.Msg != "Msg #1 from Middleware 2" || e.Foreign {
			t.Fatalf("received %q (foreign %v), want the lab message", e.Msg, e.Foreign)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the good message after the garbage never arrived")
	}
	// The status is refreshed after the subscribers' batch, not before.
	waitFor(t, fmt.Sprintf("the status to count %d foreign entries", len(want)), 10*time.Second, func() bool {
		return nd.Status().Foreign == len(want)
	})
	l := logs.String()
	if n := strings.Count(l, "not a lab message"); n < 1 || n > 10 {
		t.Fatalf("want a few rate-limited lines about foreign content, got %d:\n%s", n, l)
	}
	if strings.Count(l, "\n") != strings.Count(l, "not a lab message") {
		t.Fatalf("unexpected log lines:\n%s", l)
	}
}

// sink is a fake network program: it records each message with the
// connection it came on.
type sink struct {
	ln    net.Listener
	mu    sync.Mutex
	msgs  map[string]int // message -> times received
	conns []int          // messages per connection
	got   chan struct{}  // a message arrived
	wg    sync.WaitGroup
	cset  connSet
}

func startSink(t *testing.T, addr string) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, msgs: map[string]int{}, got: make(chan struct{}, 1)}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !s.cset.add(c) {
				c.Close()
				return
			}
			s.mu.Lock()
			k := len(s.conns)
			s.conns = append(s.conns, 0)
			s.mu.Unlock()
			s.wg.Go(func() {
				defer c.Close()
				r := wire.NewReader(c, 0)
				for {
					m, err := r.Next()
					if err != nil {
						return
					}
					s.mu.Lock()
					s.msgs[string(m)]++
					s.conns[k]++
					s.mu.Unlock()
					select {
					case s.got <- struct{}{}:
					default:
					}
				}
			})
		}
	})
	t.Cleanup(s.stop)
	return s
}

func (s *sink) stop() {
	s.ln.Close()
	s.cset.closeAll()
	s.wg.Wait()
}

// waitAll waits until every message in want has arrived.
func (s *sink) waitAll(t *testing.T, want []string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		missing := 0
		for _, m := range want {
			if s.msgs[m] == 0 {
				missing++
			}
		}
		s.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("%d of %d messages never reached the network program", missing, len(want))
		}
	}
}

func ids(sender int, from, to uint64) ([]core.Message, []string) {
	var xs []core.Message
	var texts []string
	for k := from; k <= to; k++ {
		x := core.Message{ID: core.MsgID{Sender: sender, Num: k}}
		xs = append(xs, x)
		texts = append(texts, x.Text())
	}
	return xs, texts
}

func TestNetClientQueuesWhileDown(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "connection per message", true: "reuse"}[reuse], func(t *testing.T) {
			addr := freeAddr(t)
			var logs logBuffer
			c := newNetClient(addr, reuse, 100*time.Millisecond, zerolog.New(&logs))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); c.run(ctx) }()
			defer func() { cancel(); <-done }()

			// Phase 1: the network program is not there yet.
			xs, first := ids(3, 1, 5)
			c.enqueue(xs)
			waitFor(t, "the client to notice the network program is down", 10*time.Second, func() bool {
				return !c.up() && strings.Contains(logs.String(), "unreachable")
			})
			if n := c.queued(); n != 5 {
				t.Fatalf("queued %d while down, want 5", n)
			}
			s := startSink(t, addr)
			s.waitAll(t, first)
			waitFor(t, "the queue to empty", 10*time.Second, func() bool { return c.queued() == 0 && c.up() })

			// Phase 2: the network program goes away and comes back.
			s.stop()
			if !reuse {
				// Per-connection mode only notices at the next message.
				xs, _ := ids(3, 6, 6)
				c.enqueue(xs)
			}
			waitFor(t, "the client to notice the network program went away", 10*time.Second, func() bool { return !c.up() })
			xs, second := ids(3, 7, 12)
			c.enqueue(xs)
			s2 := startSink(t, addr)
			s2.waitAll(t, second)
			if !reuse {
				s2.waitAll(t, []string{core.MsgID{Sender: 3, Num: 6}.Text()})
			}

			l := logs.String()
			if n := strings.Count(l, "unreachable"); n != 2 {
				t.Errorf("want one 'unreachable' line per outage (2), got %d:\n%s", n, l)
			}
			if !strings.Contains(l, "retrying every 100ms") {
				t.Errorf("the outage line does not show the wait:\n%s", l)
			}
			for _, sk := range []*sink{s, s2} {
				sk.mu.Lock()
				for k, n := range sk.conns {
					if !reuse && n != 1 {
						t.Errorf("connection %d carried %d messages, want 1 per connection", k, n)
					}
				}
				if reuse && len(sk.conns) > 2 {
					t.Errorf("reuse mode opened %d connections for one outage", len(sk.conns))
				}
				sk.mu.Unlock()
			}
		})
	}
}

// startControlListener serves a control listener for node self into a
// channel; stop ends it (and closes its connections).
func startControlListener(t *testing.T, ln net.Listener, self, n int, log zerolog.Logger) (out chan *batch[core.Msg], stop func()) {
	out = make(chan *batch[core.Msg], 100)
	l := &controlListener{ln: ln, self: self, n: n, maxConns: 16, idle: time.Minute, out: out, log: log,
		key: testKey, handshake: 2 * time.Second, gate: handshakeGate{max: 8}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.run(ctx, &wg) })
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			ln.Close()
			l.conns.closeAll()
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return out, stop
}

// takeMsg returns the next control message, taking batches from out as
// needed; pending holds the rest of the last batch.
func takeMsg(t *testing.T, out <-chan *batch[core.Msg], pending *[]core.Msg) core.Msg {
	t.Helper()
	for len(*pending) == 0 {
		select {
		case b := <-out:
			*pending = b.items
		case <-time.After(10 * time.Second):
			t.Fatal("no control message arrived")
		}
	}
	m := (*pending)[0]
	*pending = (*pending)[1:]
	return m
}

func TestControlLinkReconnects(t *testing.T) {
	ln := freeListener(t)
	addr := ln.Addr().String()
	out, stop := startControlListener(t, ln, 2, 3, testLogger(t))

	link := newPeerLink(1, 2, addr, "run1", testKey, 1000, 50*time.Millisecond, testLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); link.runLink(ctx) }()
	defer func() { cancel(); <-done }()

	var pending []core.Msg
	req := func(num uint64) []core.Envelope {
		return []core.Envelope{
			{To: 3, Msg: core.Msg{Kind: core.KindRequest, ID: core.MsgID{Sender: 9, Num: num}}}, // another peer's
			{To: 2, Msg: core.Msg{Kind: core.KindRequest, ID: core.MsgID{Sender: 1, Num: num}}},
		}
	}
	link.enqueue(req(1))
	if m := takeMsg(t, out, &pending); m.From != 1 || m.Kind != core.KindRequest || m.ID != (core.MsgID{Sender: 1, Num: 1}) {
		t.Fatalf("got %+v", m)
	}
	waitFor(t, "the link to be up", 10*time.Second, link.up)

	// The peer restarts: its listener and connections go away.
	stop()
	waitFor(t, "the link to notice the peer went away", 10*time.Second, func() bool { return !link.up() })
	link.enqueue(req(2))
	link.enqueue(req(3))
	if q := link.queued(); q != 2 {
		t.Fatalf("queued %d while the peer is down, want 2", q)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := startControlListener(t, ln2, 2, 3, testLogger(t))
	for num := uint64(2); num <= 3; num++ {
		if m := takeMsg(t, out2, &pending); m.From != 1 || m.ID.Num != num {
			t.Fatalf("after reconnecting got %+v, want request %d", m, num)
		}
	}
}

func TestControlQueueBound(t *testing.T) {
	var logs logBuffer
	link := newPeerLink(1, 2, freeAddr(t), "r", testKey, 1000, time.Second, zerolog.New(&logs))
	var envs []core.Envelope
	for k := range 5000 {
		envs = append(envs, core.Envelope{To: 2, Msg: core.Msg{Kind: core.KindRequest, ID: core.MsgID{Sender: 1, Num: uint64(k + 1)}}})
	}
	for i := 0; i < len(envs); i += 100 {
		link.enqueue(envs[i : i+100])
	}
	if q := link.queued(); q > 1000 || q < 100 {
		t.Fatalf("queued %d, want at most the bound of 1000 and the newest kept", q)
	}
	// The link delivers what it kept, the newest, in order.
	ln := freeListener(t)
	out, _ := startControlListener(t, ln, 2, 3, testLogger(t))
	link.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); link.runLink(ctx) }()
	defer func() { cancel(); <-done }()
	var pending []core.Msg
	kept := link.queued()
	for k := range kept {
		want := uint64(5000 - kept + 1 + k)
		if m := takeMsg(t, out, &pending); m.ID.Num != want {
			t.Fatalf("message %d of those kept is %d, want %d (the newest kept, in order)", k+1, m.ID.Num, want)
		}
	}
	if !strings.Contains(logs.String(), "dropped the oldest") {
		t.Fatalf("no log line about dropping: %q", logs.String())
	}
}

func TestControlListenerBadInput(t *testing.T) {
	var logs logBuffer
	ln := freeListener(t)
	out, _ := startControlListener(t, ln, 2, 3, zerolog.New(&logs))

	bad := dial(t, ln.Addr().String())
	if err := dialHandshake(bad, bufio.NewReader(bad), testKey, 2, 2, "x"); err == nil { // its own id
		bad.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("a HELLO with the listener's own id was not refused: %v", err)
		}
	}

	var pending []core.Msg
	c := dial(t, ln.Addr().String())
	if err := dialHandshake(c, bufio.NewReader(c), testKey, 3, 2, "run7"); err != nil {
		t.Fatal(err)
	}
	write(t, c, "R 3 1\nnonsense\nZ 1 2\nR 3 2\r\n")
	for num := uint64(1); num <= 2; num++ {
		if m := takeMsg(t, out, &pending); m.From != 3 || m.ID.Num != num {
			t.Fatalf("got %+v, want request %d from 3", m, num)
		}
	}
	l := logs.String()
	if !strings.Contains(l, "own id") || !strings.Contains(l, "dropped a line") {
		t.Fatalf("log lacks the refusal or the bad line:\n%s", l)
	}
}

func TestReadLineLimit(t *testing.T) {
	in := "short\n" + strings.Repeat("y", 300) + "\nafter\n" + strings.Repeat("z", 150) + "\n"
	br := bufio.NewReaderSize(strings.NewReader(in), 16) // lines longer than the buffer
	var acc []byte
	var got []string
	for {
		line, a, err := readLine(br, acc, 200)
		acc = a
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errLineTooLong) {
			got = append(got, "TOO LONG")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	want := []string{"short", "TOO LONG", "after", strings.Repeat("z", 150)}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestEventLogFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new-dir", "events.jsonl")
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	id := core.MsgID{Sender: 2, Num: 3}
	notes := []core.Note{
		{Kind: core.NoteSent, ID: id, At: at},
		{Kind: core.NoteReceived, ID: id, At: at, Recovered: true},
		{Kind: core.NoteReady, ID: id, Seq: 7, At: at},
	}
	for range 2 { // the second open appends
		ev, err := openEventLog(path, 4, "1767322000000000")
		if err != nil {
			t.Fatal(err)
		}
		for i := range notes {
			ev.write(&notes[i])
		}
		if err := ev.close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("want 6 lines (3 per run, appended), got %d:\n%s", len(lines), data)
	}
	kinds := []string{"sent", "received", "ready"}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, line)
		}
		want := map[string]any{
			"event": kinds[i%3], "msg": "Msg #3 from Middleware 2",
			"ts_us": float64(at.UnixMicro()), "mw": float64(4), "run": "1767322000000000",
		}
		switch kinds[i%3] {
		case "received":
			want["recovered"] = true
		case "ready":
			want["seq"] = float64(7)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("line %d:\n got %v\nwant %v", i+1, got, want)
		}
	}
	if !strings.HasPrefix(lines[2], `{"event":"ready","msg":"Msg #3 from Middleware 2","ts_us":`) {
		t.Errorf("field order differs from the documented one: %s", lines[2])
	}
}

func TestPortInUse(t *testing.T) {
	taken := freeListener(t)
	// Closed at the end, and so kept alive until then: unreferenced, the
	// listener could be collected, its finalizer freeing the port
	// mid-test (the control case then failed now and then).
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"data", Config{ID: 2, N: 5, DataPort: port, ControlListener: freeListener(t)},
			fmt.Sprintf("data port %d is already in use", port)},
		{"control", Config{ID: 2, N: 5, DataListener: freeListener(t), ControlPort: port},
			fmt.Sprintf("control port %d is already in use", port)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nd, err := New(tc.cfg)
			if err == nil {
				nd.Close()
				t.Fatal("New succeeded on a port in use")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "\n") || !strings.Contains(msg, "-"+tc.name+"-port") {
				t.Fatalf("error %q: want one line starting %q and naming -%s-port", msg, tc.want, tc.name)
			}
		})
	}
	// The advice names the middleware the default layout puts there.
	if err := inUseError("data", DataPortBase+3, "-data-port", DataPortBase).Error(); !strings.Contains(err, "Middleware 3") {
		t.Fatalf("advice %q does not name Middleware 3", err)
	}
}
