package sender

import (
	"bufio"
	"context"
	"errors"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitLimit bounds every wait for something that should happen; no test
// waits this long when it passes.
const waitLimit = 10 * time.Second

// sink is a far end: it reads lines and counts connections. stop closes
// it; start listens again at the same address.
type sink struct {
	t     *testing.T
	addr  string
	got   chan string
	conns atomic.Int64

	mu   sync.Mutex
	ln   net.Listener
	open map[net.Conn]bool
	wg   sync.WaitGroup
}

func newSink(t *testing.T) *sink {
	k := &sink{t: t, got: make(chan string, 1<<16), open: map[net.Conn]bool{}}
	k.start("127.0.0.1:0")
	t.Cleanup(k.stop)
	return k
}

func (k *sink) start(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		k.t.Fatal(err)
	}
	k.mu.Lock()
	k.ln, k.addr = ln, ln.Addr().String()
	k.mu.Unlock()
	k.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k.conns.Add(1)
			k.mu.Lock()
			k.open[c] = true
			k.mu.Unlock()
			k.wg.Go(func() {
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					k.got <- sc.Text()
				}
				c.Close()
			})
		}
	})
}

func (k *sink) stop() {
	k.mu.Lock()
	if k.ln != nil {
		k.ln.Close()
		k.ln = nil
	}
	for c := range k.open {
		c.Close()
	}
	clear(k.open)
	k.mu.Unlock()
	k.wg.Wait()
}

// expect reads the next lines and compares them with want, in order.
func (k *sink) expect(want ...string) {
	k.t.Helper()
	for _, w := range want {
		select {
		case g := <-k.got:
			if g != w {
				k.t.Fatalf("got %q, want %q", g, w)
			}
		case <-time.After(waitLimit):
			k.t.Fatalf("%q never arrived", w)
		}
	}
}

// expectAny reads len(want) lines and compares them with want in any
// order (a connection per item: each connection is read on its own).
func (k *sink) expectAny(want ...string) {
	k.t.Helper()
	var got []string
	for range want {
		select {
		case g := <-k.got:
			got = append(got, g)
		case <-time.After(waitLimit):
			k.t.Fatalf("got %q of %q", got, want)
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		k.t.Fatalf("got %q, want %q", got, want)
	}
}

func lines(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func appendLine(dst []byte, s string) []byte { return append(append(dst, s...), '\n') }

func dialTo(addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// recorder collects what the hooks report.
type recorder struct {
	mu      sync.Mutex
	sent    []string
	dropped map[Reason][]string
	failed  chan bool // outage flag of each failure
	up      chan time.Duration
	closed  chan error
}

func newRecorder() *recorder {
	return &recorder{dropped: map[Reason][]string{}, failed: make(chan bool, 1000), up: make(chan time.Duration, 100), closed: make(chan error, 100)}
}

func (r *recorder) hooks() Hooks[string] {
	return Hooks[string]{
		Sent: func(items []string) {
			r.mu.Lock()
			r.sent = append(r.sent, items...)
			r.mu.Unlock()
		},
		Dropped: func(items []string, why Reason) {
			r.mu.Lock()
			r.dropped[why] = append(r.dropped[why], items...)
			r.mu.Unlock()
		},
		Failed: func(_ error, outage bool, _ time.Duration) { r.failed <- outage },
		Up:     func(d time.Duration) { r.up <- d },
		Closed: func(err error) { r.closed <- err },
	}
}

func (r *recorder) droppedFor(why Reason) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.dropped[why])
}

func (r *recorder) sentCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

// run starts s.Run and returns a function that stops it (stop and abort
// at once) and waits for it.
func run[T any](t *testing.T, s *Sender[T]) (stopAndWait func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, ctx) }()
	var once sync.Once
	stopAndWait = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stopAndWait)
	return stopAndWait
}

func await[V any](t *testing.T, what string, ch <-chan V) V {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s", what)
	}
	panic("unreachable")
}

// A full queue: DropOldest makes room by dropping the oldest, Refuse keeps
// what is queued and refuses the rest. What is kept is sent in order.
func TestFullQueue(t *testing.T) {
	for _, tc := range []struct {
		whenFull      WhenFull
		queued        int      // of the second Put's three
		dropped, sent []string // reported Overflow, then sent
	}{
		{DropOldest, 3, lines(1, 2), lines(3, 5)},
		{Refuse, 1, lines(4, 5), lines(1, 3)},
	} {
		k := newSink(t)
		r := newRecorder()
		s := New(Config[string]{Dial: dialTo(k.addr), Append: appendLine, Reuse: true, Limit: 3, WhenFull: tc.whenFull, Hooks: r.hooks()})
		s.Put(lines(1, 2)...)
		if n := s.Put(lines(3, 5)...); n != tc.queued {
			t.Errorf("policy %d: Put queued %d, want %d", tc.whenFull, n, tc.queued)
		}
		if q := s.Queued(); q != 3 {
			t.Errorf("policy %d: queued %d, want the limit of 3", tc.whenFull, q)
		}
		if got := r.droppedFor(Overflow); !slices.Equal(got, tc.dropped) {
			t.Errorf("policy %d: dropped %q, want %q", tc.whenFull, got, tc.dropped)
		}
		stopAndWait := run(t, s)
		k.expect(tc.sent...)
		stopAndWait()
	}
}

func TestBlockWaitsForRoom(t *testing.T) {
	k := newSink(t)
	s := New(Config[string]{Dial: dialTo(k.addr), Append: appendLine, Reuse: true, Limit: 2, WhenFull: Block})
	s.Put(lines(1, 2)...)
	returned := make(chan int)
	go func() { returned <- s.Put(lines(3, 4)...) }()
	for range 100 {
		runtime.Gosched()
	}
	select {
	case <-returned:
		t.Fatal("Put returned while the queue was full and nothing took from it")
	default:
	}
	run(t, s)
	if n := await(t, "return from the blocked Put", returned); n != 2 {
		t.Errorf("the blocked Put queued %d, want 2", n)
	}
	k.expect(lines(1, 4)...)
}

// A Put blocked on a full queue returns when the sender ends, and what it
// could not queue is abandoned.
func TestBlockEndsWithTheSender(t *testing.T) {
	r := newRecorder()
	s := New(Config[string]{Dial: dialTo("127.0.0.1:1"), Append: appendLine, Limit: 1, WhenFull: Block, Hooks: r.hooks()})
	s.Put("1")
	returned := make(chan int)
	go func() { returned <- s.Put("2") }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Run(ctx, ctx)
	if n := await(t, "return from the blocked Put", returned); n != 0 {
		t.Errorf("Put queued %d into an ended sender", n)
	}
	if got := r.droppedFor(Abandoned); len(got) != 2 {
		t.Errorf("abandoned %q, want both", got)
	}
	if q := s.Queued(); q != 0 {
		t.Errorf("queued %d after the end", q)
	}
}

// The far end restarts: the kept-open connection's loss is seen, the
// outage reported once, and what was queued meanwhile arrives after.
func TestReconnectsAfterTheFarEndRestarts(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		t.Run(map[bool]string{true: "reuse", false: "connection per item"}[reuse], func(t *testing.T) {
			k := newSink(t)
			r := newRecorder()
			s := New(Config[string]{Dial: dialTo(k.addr), Append: appendLine, Reuse: reuse, ConnectEarly: reuse, UpAtStart: !reuse,
				RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond, Resend: true, Hooks: r.hooks()})
			expect := k.expect
			if !reuse {
				expect = k.expectAny
			}
			run(t, s)
			s.Put(lines(1, 3)...)
			expect(lines(1, 3)...)

			k.stop()
			if reuse {
				if err := await(t, "closed connection", r.closed); !errors.Is(err, ErrClosedByPeer) {
					t.Errorf("closed because %v, want ErrClosedByPeer", err)
				}
				if s.Connected() {
					t.Error("Connected after the far end closed the connection")
				}
			} else {
				s.Put("4") // a connection per item notices at the next item
			}
			if !await(t, "failure", r.failed) {
				t.Error("the first failure does not start an outage")
			}
			if s.Up() {
				t.Error("Up while the far end is down")
			}
			s.Put(lines(5, 6)...)
			k.start(k.addr)
			if d := await(t, "end of the outage", r.up); d <= 0 {
				t.Errorf("outage lasted %v", d)
			}
			if reuse {
				expect(lines(5, 6)...)
			} else {
				expect(lines(4, 6)...)
			}
			for len(r.failed) > 0 {
				if <-r.failed {
					t.Error("one outage reported as two")
				}
			}
			if !reuse && k.conns.Load() != 6 {
				t.Errorf("%d connections for 6 items, want one each", k.conns.Load())
			}
		})
	}
}

// Several connection-per-item senders deliver everything.
func TestConnsSendAtOnce(t *testing.T) {
	k := newSink(t)
	s := New(Config[string]{Dial: dialTo(k.addr), Append: appendLine, Conns: 4})
	run(t, s)
	s.Put(lines(1, 100)...)
	k.expectAny(lines(1, 100)...)
}

// At stop what is queued is still sent; then Run returns.
func TestDrainSendsWhatIsQueued(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		k := newSink(t)
		r := newRecorder()
		s := New(Config[string]{Dial: dialTo(k.addr), Append: appendLine, Reuse: reuse, DrainFor: waitLimit, Hooks: r.hooks()})
		stop, cancel := context.WithCancel(context.Background())
		cancel()
		s.Put(lines(1, 50)...)
		s.Run(stop, context.Background())
		if n := r.sentCount(); n != 50 {
			t.Errorf("reuse %v: sent %d of 50 before Run returned", reuse, n)
		}
		k.expectAny(lines(1, 50)...)
	}
}

// A far end that takes nothing: the drain ends at DrainFor, and what is
// left is abandoned.
func TestDrainDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { // ends when ln closes
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	r := newRecorder()
	const drainFor = 200 * time.Millisecond
	big := string(make([]byte, 1<<20))
	s := New(Config[string]{Dial: dialTo(ln.Addr().String()), Append: appendLine, Reuse: true, DrainFor: drainFor, Hooks: r.hooks()})
	for range 64 { // far more than the socket buffers hold
		s.Put(big)
	}
	stop, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	s.Run(stop, context.Background())
	took := time.Since(start)
	c := await(t, "connection", accepted)
	defer c.Close()
	if took < drainFor {
		t.Errorf("Run returned after %v, before the drain's %v", took, drainFor)
	}
	abandoned := len(r.droppedFor(Abandoned))
	if abandoned == 0 || abandoned+r.sentCount() != 64 {
		t.Errorf("sent %d and abandoned %d of 64", r.sentCount(), abandoned)
	}
}

// A far end that is down at stop is not waited for (DrainWhileDown off).
func TestDrainSkipsADownFarEnd(t *testing.T) {
	r := newRecorder()
	s := New(Config[string]{Dial: dialTo(freeAddr(t)), Append: appendLine, Reuse: true, ConnectEarly: true, DrainFor: time.Hour, Hooks: r.hooks()})
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(stop, context.Background()) }()
	await(t, "failure", r.failed)
	s.Put(lines(1, 3)...)
	cancel()
	await(t, "Run's return", done)
	if got := r.droppedFor(Abandoned); !slices.Equal(got, lines(1, 3)) {
		t.Errorf("abandoned %q", got)
	}
}

// While the far end is down GiveUp drops what it says to.
func TestGiveUpWhileDown(t *testing.T) {
	r := newRecorder()
	s := New(Config[string]{Dial: dialTo(freeAddr(t)), Append: appendLine, RetryMin: time.Millisecond, RetryMax: time.Millisecond,
		GiveUp: func(item string) bool { return item != "keep" }, Hooks: r.hooks()})
	run(t, s)
	s.Put("1", "keep", "2")
	for len(r.droppedFor(GaveUp)) < 2 {
		await(t, "failure", r.failed)
	}
	if got := r.droppedFor(GaveUp); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("gave up on %q", got)
	}
	if q := s.Queued(); q != 1 {
		t.Errorf("queued %d, want the one kept", q)
	}
}

// Stopping while Dial hangs ends Dial (its context) and Run.
func TestStopWhileDialing(t *testing.T) {
	for _, reuse := range []bool{true, false} {
		dialing := make(chan struct{}, 8)
		s := New(Config[string]{Append: appendLine, Reuse: reuse, Conns: 2, Dial: func(ctx context.Context) (net.Conn, error) {
			dialing <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		}})
		r := newRecorder()
		s.cfg.Hooks = r.hooks()
		stopAndWait := run(t, s)
		s.Put("1")
		await(t, "dial", dialing)
		stopAndWait()
		if got := r.droppedFor(Abandoned); !slices.Equal(got, []string{"1"}) {
			t.Errorf("reuse %v: abandoned %q, want the item", reuse, got)
		}
		if len(r.failed) > 0 {
			t.Errorf("reuse %v: a stop reported as a failure", reuse)
		}
	}
}

// failingConn's writes fail; it reads nothing until closed.
type failingConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *failingConn) Write([]byte) (int, error) { return 0, errors.New("broken") }
func (c *failingConn) Read([]byte) (int, error) {
	<-c.closed
	return 0, net.ErrClosed
}
func (c *failingConn) Close() error                     { c.once.Do(func() { close(c.closed) }); return nil }
func (c *failingConn) SetWriteDeadline(time.Time) error { return nil }

// A failed write on the kept-open connection: Resend writes it again on
// the next connection, otherwise it is Lost.
func TestFailedWrite(t *testing.T) {
	for _, resend := range []bool{true, false} {
		k := newSink(t)
		r := newRecorder()
		var dials atomic.Int64
		s := New(Config[string]{Append: appendLine, Reuse: true, Resend: resend, RetryMin: time.Millisecond, Hooks: r.hooks(),
			Dial: func(ctx context.Context) (net.Conn, error) {
				if dials.Add(1) == 1 {
					return &failingConn{closed: make(chan struct{})}, nil
				}
				return dialTo(k.addr)(ctx)
			}})
		stopAndWait := run(t, s)
		s.Put("1")
		await(t, "failure", r.failed)
		s.Put("2")
		if resend {
			k.expect("1", "2")
		} else {
			k.expect("2")
			if got := r.droppedFor(Lost); !slices.Equal(got, []string{"1"}) {
				t.Errorf("lost %q, want the item in the failed write", got)
			}
		}
		stopAndWait()
	}
}

func TestAddrsTriesTheOthers(t *testing.T) {
	k := newSink(t)
	down := freeAddr(t)
	a := NewAddrs(down, k.addr, down)
	if got := a.List(); len(got) != 2 {
		t.Fatalf("addrs %q: want the duplicate left out", got)
	}
	var moved []string
	a.Moved = func(at string) { moved = append(moved, at) }
	for range 2 {
		c, err := a.Dial(context.Background(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if a.Current() != k.addr || !slices.Equal(moved, []string{k.addr}) {
		t.Errorf("current %s, moved %q: want the second, said once", a.Current(), moved)
	}
}

// freeAddr is an address nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
