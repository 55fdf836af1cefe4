package middleware

import (
	"bufio"
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/testbuf"
	"totalorder/middleware/core"
	"totalorder/middleware/wire"
	"totalorder/netsim"
)

// freeListener listens on a free loopback port.
func freeListener(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// freeAddr returns a loopback address nobody listens on (a listener on a
// free port, closed again), for starting a server there later.
func freeAddr(t testing.TB) string {
	ln := freeListener(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer = testbuf.Buffer

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// waitFor polls cond until it holds or the deadline passes; for states
// that have no signal to wait on (a link noticing a closed socket).
func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testRelay is a tiny network program for tests: it reads <EOM> frames
// (one or many per connection) and copies each to every destination after
// an independent random delay in [0, maxSleep], on one kept-open
// connection per destination.
type testRelay struct {
	ln       net.Listener
	dests    []*relayDest
	maxSleep time.Duration
	mu       sync.Mutex
	rng      *rand.Rand
	conns    connSet
	wg       sync.WaitGroup
	frames   atomic.Int64
}

type relayDest struct {
	addr   string
	mu     sync.Mutex
	queue  delayQueue
	order  int
	signal chan struct{}
}

type delayed struct {
	due   time.Time
	order int
	frame []byte
}

type delayQueue []delayed

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	return q[i].due.Before(q[j].due) || (q[i].due.Equal(q[j].due) && q[i].order < q[j].order)
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(delayed)) }
func (q *delayQueue) Pop() any     { o := *q; e := o[len(o)-1]; *q = o[:len(o)-1]; return e }

// startRelay serves on ln until the test ends.
func startRelay(t testing.TB, ln net.Listener, dests []string, maxSleep time.Duration, seed uint64) *testRelay {
	r := &testRelay{ln: ln, maxSleep: maxSleep, rng: rand.New(rand.NewPCG(seed, 1))}
	for _, a := range dests {
		r.dests = append(r.dests, &relayDest{addr: a, signal: make(chan struct{}, 1)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.wg.Go(func() {
		acceptLoop(ctx, ln, "relay", 1024, &r.conns, &r.wg, zerolog.Nop(), func(c net.Conn) { r.serve(ctx, c) })
	})
	for _, d := range r.dests {
		r.wg.Go(func() { d.run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		ln.Close()
		r.conns.closeAll()
		r.wg.Wait()
	})
	return r
}

func (r *testRelay) serve(ctx context.Context, c net.Conn) {
	rd := wire.NewReader(c, 0)
	for {
		msg, err := rd.Next()
		if errors.Is(err, wire.ErrTooLarge) {
			continue
		}
		if err != nil {
			return
		}
		r.frames.Add(1)
		now := time.Now()
		for _, d := range r.dests {
			var delay time.Duration
			if r.maxSleep > 0 {
				r.mu.Lock()
				delay = time.Duration(r.rng.Int64N(int64(r.maxSleep) + 1))
				r.mu.Unlock()
			}
			d.push(now.Add(delay), wire.Frame(msg))
		}
	}
}

func (d *relayDest) push(due time.Time, frame []byte) {
	d.mu.Lock()
	d.order++
	heap.Push(&d.queue, delayed{due: due, order: d.order, frame: frame})
	d.mu.Unlock()
	select {
	case d.signal <- struct{}{}:
	default:
	}
}

// run writes due copies to the destination until ctx is done.
func (d *relayDest) run(ctx context.Context) {
	var conn net.Conn
	var bw *bufio.Writer
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var due [][]byte
	for ctx.Err() == nil {
		due = due[:0]
		now := time.Now()
		var wait time.Duration = -1
		d.mu.Lock()
		for d.queue.Len() > 0 {
			if d.queue[0].due.After(now) {
				wait = d.queue[0].due.Sub(now)
				break
			}
			due = append(due, heap.Pop(&d.queue).(delayed).frame)
		}
		d.mu.Unlock()
		if len(due) > 0 {
			for conn == nil {
				c, err := net.Dial("tcp", d.addr)
				if err != nil {
					if !sleepCtx(ctx, 10*time.Millisecond) {
						return
					}
					continue
				}
				conn, bw = c, bufio.NewWriterSize(c, 64<<10)
			}
			for _, f := range due {
				bw.Write(f)
			}
			if err := bw.Flush(); err != nil {
				return // the node went away: only at the end of a test
			}
			continue
		}
		var timer <-chan time.Time
		var tm *time.Timer
		if wait >= 0 {
			tm = time.NewTimer(wait)
			timer = tm.C
		}
		select {
		case <-d.signal:
		case <-timer:
		case <-ctx.Done():
		}
		if tm != nil {
			tm.Stop()
		}
	}
}

// cluster is n nodes on free ports over a test relay.
type cluster struct {
	nodes  []*Node // 1-based
	relay  *testRelay
	events []string // events log paths, 1-based
	cancel context.CancelFunc
	done   []chan error
}

type clusterOpts struct {
	// netsim, if set, configures the real network program to relay
	// instead of the test relay (Port, Dests and Logger are filled in).
	netsim   *netsim.Config
	n        int
	protocol core.Protocol
	reuse    bool
	maxSleep time.Duration
	events   bool
	logger   zerolog.Logger
}

func startCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	relayLn := freeListener(t)
	dataLns := make([]net.Listener, o.n+1)
	ctlLns := make([]net.Listener, o.n+1)
	var dests []string
	peers := map[int]string{}
	for i := 1; i <= o.n; i++ {
		dataLns[i], ctlLns[i] = freeListener(t), freeListener(t)
		dests = append(dests, dataLns[i].Addr().String())
		peers[i] = ctlLns[i].Addr().String()
	}
	c := &cluster{nodes: make([]*Node, o.n+1), events: make([]string, o.n+1)}
	netAddr := relayLn.Addr().String()
	if o.netsim == nil {
		c.relay = startRelay(t, relayLn, dests, o.maxSleep, 42)
	} else {
		relayLn.Close()
		cfg := *o.netsim
		cfg.Port, cfg.Dests, cfg.Logger = 0, dests, o.logger.With().Str("program", "netsim").Logger()
		srv, err := netsim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		netAddr = srv.Addr().String()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("netsim: %v", err)
			}
		})
	}
	dir := t.TempDir()
	for i := 1; i <= o.n; i++ {
		cfg := Config{
			ID: i, N: o.n, Protocol: o.protocol, NetAddr: netAddr,
			PeerAddrs: peers, Reuse: o.reuse, Logger: o.logger.With().Int("mw", i).Logger(),
			DataListener: dataLns[i], ControlListener: ctlLns[i],
			RetryMax: 200 * time.Millisecond,
		}
		if o.events {
			c.events[i] = dir + "/logs/middleware-" + strconv.Itoa(i) + ".jsonl"
			cfg.EventsPath = c.events[i]
		}
		nd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[i] = nd
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for i := 1; i <= o.n; i++ {
		done := make(chan error, 1)
		c.done = append(c.done, done)
		go func() { done <- c.nodes[i].Run(ctx) }()
	}
	t.Cleanup(c.stop)
	return c
}

// stop stops every node and waits for them; calling it again does nothing.
func (c *cluster) stop() {
	c.cancel()
	for _, d := range c.done {
		if d != nil {
			<-d
		}
	}
	c.done = nil
}

// readyLog records one node's Ready events and signals when it has want.
type readyLog struct {
	mu    sync.Mutex
	msgs  []string
	seqs  []uint64
	want  int
	done  chan struct{}
	extra int // Ready events beyond want (duplicates would show here)
	// progress, if set, gets a token whenever Ready events arrive.
	progress chan struct{}
}

func (r *readyLog) add(batch []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range batch {
		if e.Kind != EventReady {
			continue
		}
		if len(r.msgs) == r.want {
			r.extra++
			continue
		}
		r.msgs = append(r.msgs, e.Msg)
		r.seqs = append(r.seqs, e.Seq)
		if len(r.msgs) == r.want {
			close(r.done)
		}
	}
	if r.progress != nil {
		select {
		case r.progress <- struct{}{}:
		default:
		}
	}
}

func (r *readyLog) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *readyLog) snapshot() ([]string, []uint64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...), append([]uint64(nil), r.seqs...), r.extra
}

// subscribeReady must be called before messages flow.
func subscribeReady(n *Node, want int, progress chan struct{}) *readyLog {
	r := &readyLog{want: want, done: make(chan struct{}), progress: progress}
	n.Subscribe(r.add)
	return r
}
