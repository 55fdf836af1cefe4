// Package netsim is the lab's network program: it accepts messages framed
// by "<EOM>" on one TCP port and relays every message to every
// destination, each copy after its own uniform random delay in
// [0, maxSleep] — the Go port of the lab's C# program, plus connection
// reuse, retries, live settings and fault injection.
//
// Per destination, one goroutine serves a delay queue (a min-heap by due
// time) with a single timer, so a copy costs no goroutine or timer; copies
// with no delay skip the heap. A destination that is down holds its copies
// and retries with backoff without slowing the others.
package netsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/evlog"
	"totalorder/internal/hostaddr"
	"totalorder/middleware/wire"
)

var eomBytes = []byte(wire.EOM)

// PortInUseError reports that the listening port is taken on one of the
// addresses the server listens on.
type PortInUseError struct {
	Port int
	Host string // where it is taken
	// HostAddr: Host is one of this host's own addresses, the one the
	// original program listens on, rather than one asked for.
	HostAddr bool
	Err      error
}

func (e *PortInUseError) Error() string {
	if e.HostAddr {
		return fmt.Sprintf("port %d is already in use on %s, this host's address where the original network program listens (is Network.exe or another netsim running?): stop it or pass -port", e.Port, e.Host)
	}
	return fmt.Sprintf("port %d is already in use on %s (another network program running?): stop it or pass -port", e.Port, e.Host)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// Stats is a snapshot of the counters. Every copy that entered a queue
// ends up Delivered, Failed or Abandoned; until then it is InFlight.
type Stats struct {
	Accepted   uint64 // messages read from senders
	Delivered  uint64 // copies written to a destination
	InFlight   uint64 // copies waiting out their delay, being retried or written
	Failed     uint64 // copies given up after RetryFor (or beyond MaxQueue)
	Dropped    uint64 // copies dropped by fault injection
	Duplicated uint64 // extra copies made by fault injection
	Abandoned  uint64 // copies still in flight when the grace period ended
	Rejected   uint64 // oversized messages refused
	Incomplete uint64 // sender connections that ended with bytes but no <EOM>: nothing forwarded
	Conns      int    // sender connections open now
	Dests      []DestStats
}

// DestStats are one destination's counters.
type DestStats struct {
	Addr      string // as configured (127.0.0.1:8082 by default)
	At        string // where its copies go: Addr, or the address of this host where it answered
	Up        bool   // false while the destination is unreachable
	Connected bool   // reuse mode: its connection is open
	Connects  uint64 // connections opened to it (one per copy without reuse)
	Delivered uint64
	InFlight  uint64
	Failed    uint64
}

// Server is one running network program.
type Server struct {
	cfg       Config
	seed      int64
	log       zerolog.Logger
	msgLog    zerolog.Logger // per-message lines; silent when Quiet
	ln        net.Listener
	listening []string // every address listened on
	start     time.Time
	dests     []*dest

	maxSleep  atomic.Int64  // time.Duration
	dropBits  atomic.Uint64 // math.Float64bits
	dupBits   atomic.Uint64
	rngMu     sync.Mutex
	rng       *rand.Rand
	running   atomic.Bool
	closeOnce sync.Once
	closing   chan struct{} // closed by Close

	accepted, delivered, failed, dropped, duplicated, abandoned, rejected, incomplete atomic.Uint64
	inFlight                                                                          atomic.Int64
	badInput                                                                          logLimiter // lines about senders' bad input

	connsMu         sync.Mutex
	conns           map[*inConn]struct{}
	connFreed       chan struct{} // a sender connection ended (capacity 1)
	connsClosed     bool
	evicted         int // since the last eviction log line
	lastEvictionLog time.Time

	handlers sync.WaitGroup // one per sender connection
	workers  sync.WaitGroup // destination workers, their dialers and connection watchers

	// hurry is closed when shutdown starts: queued copies are then due at
	// once. hardCtx is cancelled when the grace period ends: whatever is
	// left is abandoned and every blocked dial or write is interrupted.
	hurry      chan struct{}
	hardCtx    context.Context
	hardCancel context.CancelFunc

	events  *eventsLog // nil without Config.EventsPath
	console *console   // nil without Config.OriginalConsole
}

// New checks cfg, applies defaults and binds the listener. A port in use
// on any address it would listen on gives a *PortInUseError: it does not
// start beside another network program.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var hostIPs []net.IP
	if cfg.Listen == "" || cfg.DestHost == "" {
		for _, ip := range hostaddr.IPv4s() {
			if !ip.IsLoopback() || !ip.Equal(net.ParseIP(DefaultHost)) {
				hostIPs = append(hostIPs, ip) // (127.0.0.1 is there already)
			}
		}
	}
	hosts := []string{cfg.Listen}
	if cfg.Listen == "" {
		// Also where the original listens, so that middlewares written for
		// it find this one.
		hosts = []string{DefaultHost}
		for _, ip := range hostIPs {
			hosts = append(hosts, ip.String())
		}
	}
	ln, listening, unbound, err := listenAll(hosts, cfg.Port)
	if err != nil {
		return nil, err
	}
	var events *eventsLog
	if cfg.EventsPath != "" {
		if events, err = openEventsLog(cfg.EventsPath, cfg.Logger); err != nil {
			ln.Close()
			return nil, err
		}
	}
	s := &Server{
		events:    events,
		cfg:       cfg,
		seed:      cfg.Seed,
		log:       cfg.Logger,
		ln:        ln,
		listening: listening,
		start:     time.Now(),
		conns:     make(map[*inConn]struct{}),
		connFreed: make(chan struct{}, 1),
		hurry:     make(chan struct{}),
		closing:   make(chan struct{}),
	}
	s.msgLog = cfg.Logger
	if cfg.Quiet {
		s.msgLog = zerolog.Nop()
	}
	s.hardCtx, s.hardCancel = context.WithCancel(context.Background())
	if s.seed == 0 {
		s.seed = rand.Int64()
	}
	s.rng = rand.New(rand.NewPCG(uint64(s.seed), 0x9e3779b97f4a7c15))
	s.maxSleep.Store(int64(cfg.MaxSleep))
	s.dropBits.Store(math.Float64bits(cfg.Drop))
	s.dupBits.Store(math.Float64bits(cfg.Dup))

	if len(unbound) > 0 {
		s.log.Warn().Strs("hosts", unbound).Msg("cannot also listen on these addresses of this host: senders written for the original program may not reach this one")
	}
	if cfg.OriginalConsole != nil {
		s.console = &console{w: cfg.OriginalConsole}
	}
	addrs := cfg.Dests
	destHost := cfg.DestHost
	if destHost == "" {
		destHost = DefaultHost
	}
	if len(addrs) == 0 {
		port := ln.Addr().(*net.TCPAddr).Port
		for i := 1; i <= cfg.N; i++ {
			addrs = append(addrs, net.JoinHostPort(destHost, strconv.Itoa(port+i)))
		}
	}
	for i, a := range addrs {
		var alts []string
		if len(cfg.Dests) == 0 && cfg.DestHost == "" {
			alts = hostaddr.JoinPort(hostIPs, a)
		}
		s.dests = append(s.dests, newDest(s, i, a, alts))
	}
	return s, nil
}

// listenAll listens on port of every host; the first one fixes the port
// when it is 0 (then, should another address have that port taken, it
// tries another port). A port in use anywhere is a *PortInUseError; other
// failures on the hosts after the first are returned in unbound.
func listenAll(hosts []string, port int) (ln net.Listener, listening, unbound []string, err error) {
	for try := 1; ; try++ {
		ln, listening, unbound, err = listenOnce(hosts, port)
		var inUse *PortInUseError
		if err != nil && port == 0 && try < 5 && errors.As(err, &inUse) && inUse.Host != hosts[0] {
			continue
		}
		return ln, listening, unbound, err
	}
}

func listenOnce(hosts []string, port int) (net.Listener, []string, []string, error) {
	var lns []net.Listener
	var listening, unbound []string
	for i, host := range hosts {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if isAddrInUse(err) {
				for _, l := range lns {
					_ = l.Close()
				}
				return nil, nil, nil, &PortInUseError{Port: port, Host: host, HostAddr: len(hosts) > 1 && i > 0, Err: err}
			}
			if i == 0 {
				return nil, nil, nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
			}
			unbound = append(unbound, host)
			continue
		}
		if i == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
		listening = append(listening, ln.Addr().String())
	}
	return hostaddr.Merge(lns...), listening, unbound, nil
}

// Addr is the address senders connect to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Listening lists every address the server listens on: Addr first, then
// this host's own addresses (with the default Config.Listen).
func (s *Server) Listening() []string { return slices.Clone(s.listening) }

// Dests lists the destination addresses in order.
func (s *Server) Dests() []string {
	out := make([]string, len(s.dests))
	for i, d := range s.dests {
		out[i] = d.addr
	}
	return out
}

// Seed is the delay generator's seed (the drawn one when Config.Seed was 0),
// so a run can be repeated.
func (s *Server) Seed() int64 { return s.seed }

// Reuse reports the connection mode.
func (s *Server) Reuse() bool { return s.cfg.Reuse }

// Close stops the server: before Run it releases the port; during Run it
// starts the same shutdown as cancelling Run's context.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		err = s.ln.Close()
	})
	return err
}

// MaxSleep is the current delay bound.
func (s *Server) MaxSleep() time.Duration { return time.Duration(s.maxSleep.Load()) }

// SetMaxSleep changes the delay bound for messages accepted from now on
// (negative means 0). Copies already queued keep their delay.
func (s *Server) SetMaxSleep(d time.Duration) {
	d = max(d, 0)
	if old := time.Duration(s.maxSleep.Swap(int64(d))); old != d {
		s.log.Info().Stringer("from", old).Stringer("to", d).Msg("max-sleep changed")
	}
}

// Drop is the current probability of dropping a copy.
func (s *Server) Drop() float64 { return math.Float64frombits(s.dropBits.Load()) }

// Dup is the current probability of delivering a copy twice.
func (s *Server) Dup() float64 { return math.Float64frombits(s.dupBits.Load()) }

// SetDrop sets the probability of dropping each copy (clamped to [0, 1]).
func (s *Server) SetDrop(p float64) { s.setProbability("drop", &s.dropBits, p) }

// SetDup sets the probability of delivering each copy twice (clamped to [0, 1]).
func (s *Server) SetDup(p float64) { s.setProbability("dup", &s.dupBits, p) }

func (s *Server) setProbability(name string, bits *atomic.Uint64, p float64) {
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	p = min(p, 1)
	if old := math.Float64frombits(bits.Swap(math.Float64bits(p))); old != p {
		s.log.Info().Float64("from", old).Float64("to", p).Msg(name + " probability changed")
	}
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Accepted:   s.accepted.Load(),
		Delivered:  s.delivered.Load(),
		InFlight:   uint64(max(s.inFlight.Load(), 0)),
		Failed:     s.failed.Load(),
		Dropped:    s.dropped.Load(),
		Duplicated: s.duplicated.Load(),
		Abandoned:  s.abandoned.Load(),
		Rejected:   s.rejected.Load(),
		Incomplete: s.incomplete.Load(),
		Dests:      make([]DestStats, len(s.dests)),
	}
	s.connsMu.Lock()
	st.Conns = len(s.conns)
	s.connsMu.Unlock()
	for i, d := range s.dests {
		st.Dests[i] = DestStats{
			Addr:      d.addr,
			At:        d.at(),
			Up:        d.out.Up(),
			Connected: d.out.Connected(),
			Connects:  d.connects.Load(),
			Delivered: d.delivered.Load(),
			InFlight:  uint64(max(d.inFlight.Load(), 0)),
			Failed:    d.failed.Load(),
		}
	}
	return st
}

// shuttingDown reports whether Run has begun to stop.
func (s *Server) shuttingDown() bool {
	select {
	case <-s.hurry:
		return true
	default:
		return false
	}
}

// now is the server clock: monotonic nanoseconds since New.
func (s *Server) now() int64 { return int64(time.Since(s.start)) }

// Run serves until ctx is done (or Close is called), then stops
// accepting, delivers the copies still in flight within the grace period,
// abandons the rest and logs a summary. It returns nil after a clean stop.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("netsim: Run called more than once")
	}
	defer s.hardCancel()
	for _, d := range s.dests {
		d.start()
	}
	s.logStart()
	if s.console != nil {
		s.console.write([]byte("Waiting for a connection...\n"))
	}

	stopOnCancel := context.AfterFunc(ctx, func() { _ = s.Close() })
	stopFlusher := s.flushEvents()
	s.acceptLoop()
	stopOnCancel()
	_ = s.Close()

	s.closeConns()
	s.handlers.Wait()

	if n := s.inFlight.Load(); n > 0 {
		s.log.Info().Int64("copies", n).Stringer("grace", s.cfg.ShutdownGrace).
			Msg("shutting down: delivering the copies still in flight now")
	}
	close(s.hurry)
	graceOver := time.AfterFunc(s.cfg.ShutdownGrace, s.hardCancel)
	s.workers.Wait()
	graceOver.Stop()
	s.hardCancel()
	stopFlusher()
	if s.events != nil {
		if err := s.events.close(); err != nil {
			s.log.Error().Err(err).Str("file", s.cfg.EventsPath).Msg("events log")
		}
	}
	s.logSummary()
	return nil
}

// flushEvents flushes the events log every eventsFlushEvery, so that a
// live timeline follows closely, until the returned stop is called.
func (s *Server) flushEvents() (stop func()) {
	if s.events == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(eventsFlushEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				s.events.flush() // (failures are logged by the events log)
			}
		}
	}()
	return func() { close(quit); <-done }
}

func (s *Server) modeName() string {
	if s.cfg.Reuse {
		return "reuse"
	}
	return "connection per copy"
}

// logStart says once where the server listens, what maxSleepTime is and
// where the copies go.
func (s *Server) logStart() {
	var to string
	if len(s.cfg.Dests) > 0 {
		to = strings.Join(s.Dests(), ", ")
	} else {
		first, _ := strconv.Atoi(portOf(s.dests[0].addr))
		host := s.cfg.DestHost
		if host == "" {
			host = DefaultHost
			if len(s.dests[0].alts) > 0 {
				host += " (or this host's address, where a middleware listens only there)"
			}
		}
		to = fmt.Sprintf("ports %d-%d of %s", first, first+len(s.dests)-1, host)
		if len(s.dests) == 1 {
			to = fmt.Sprintf("port %d of %s", first, host)
		}
	}
	e := s.log.Info().
		Str("addr", s.ln.Addr().String()).
		Strs("listening", s.listening).
		Strs("dests", s.Dests()).
		Stringer("max_sleep", s.MaxSleep()).
		Str("mode", s.modeName()).
		Int64("seed", s.seed)
	if s.Drop() > 0 || s.Dup() > 0 {
		e.Float64("drop", s.Drop()).Float64("dup", s.Dup())
	}
	late := ""
	if s.cfg.Late > 0 {
		e.Stringer("late", s.cfg.Late)
		late = fmt.Sprintf(", then up to %v more (-late)", s.cfg.Late)
	}
	e.Msgf("netsim listening on %s; maxSleepTime %v: each copy waits a random time in [0, %v]%s; copies to %s, %s",
		strings.Join(s.listening, " and "), s.MaxSleep(), s.MaxSleep(), late, to, s.modeName())
}

// count is "1 message", "2 messages", "1 copy", "2 copies".
func count(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		noun = strings.TrimSuffix(noun, "y") + "ie"
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// logSummary says what happened, once, when the server has stopped.
func (s *Server) logSummary() {
	st := s.Stats()
	up := time.Since(s.start).Round(time.Millisecond)
	e := s.log.Info()
	if st.Failed > 0 || st.Abandoned > 0 {
		e = s.log.Warn()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "netsim stopped after %v: %s accepted, %s delivered", up,
		count(st.Accepted, "message"), count(st.Delivered, "copy"))
	for _, c := range []struct {
		n    uint64
		what string
	}{
		{st.Failed, "failed (destination unreachable)"},
		{st.Abandoned, "abandoned at shutdown"},
		{st.Dropped, "dropped (fault injection)"},
		{st.Duplicated, "duplicated (fault injection)"},
	} {
		if c.n > 0 {
			fmt.Fprintf(&b, ", %d %s", c.n, c.what)
		}
	}
	if st.Rejected > 0 {
		fmt.Fprintf(&b, ", %s over the size limit", count(st.Rejected, "message"))
	}
	if st.Incomplete > 0 {
		fmt.Fprintf(&b, ", %s closed without <EOM>", count(st.Incomplete, "connection"))
	}
	dests := make([]string, len(st.Dests))
	for i, d := range st.Dests {
		dests[i] = fmt.Sprintf("%s delivered=%d failed=%d", d.At, d.Delivered, d.Failed)
	}
	e.Uint64("accepted", st.Accepted).
		Uint64("delivered", st.Delivered).
		Uint64("failed", st.Failed).
		Uint64("dropped", st.Dropped).
		Uint64("duplicated", st.Duplicated).
		Uint64("abandoned", st.Abandoned).
		Uint64("rejected", st.Rejected).
		Uint64("incomplete", st.Incomplete).
		Strs("per_dest", dests).
		Stringer("uptime", up).
		Msg(b.String())
}

// acceptLoop accepts sender connections until the listener is closed.
func (s *Server) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Typically out of file descriptors: wait for some to free up
			// rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Error().Err(err).Stringer("retry_in", backoff).Msg("accept failed")
			select {
			case <-time.After(backoff):
			case <-s.closing:
			}
			continue
		}
		backoff = 0
		if s.console != nil {
			s.console.write([]byte("Waiting for a connection...\n"))
		}
		s.admit(c)
	}
}

// inConn is one sender connection. Its Read refreshes the idle deadline
// and records activity for the connection cap's choice of victim.
type inConn struct {
	net.Conn
	s          *Server
	lastActive atomic.Int64 // server clock
	sentAny    atomic.Bool  // sent at least one whole message
	evicted    atomic.Bool
}

func (c *inConn) Read(p []byte) (int, error) {
	if idle := c.s.cfg.IdleTimeout; idle > 0 {
		if err := c.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastActive.Store(c.s.now())
	}
	return n, err
}

func (s *Server) admit(c net.Conn) {
	ic := &inConn{Conn: c, s: s}
	ic.lastActive.Store(s.now())
	s.connsMu.Lock()
	if s.connsClosed {
		s.connsMu.Unlock()
		_ = c.Close()
		return
	}
	for len(s.conns) >= s.cfg.MaxConns && !s.evictLocked() {
		// Every connection is busy: leave new ones in the kernel's
		// backlog until one ends or goes idle.
		s.connsMu.Unlock()
		select {
		case <-s.connFreed:
		case <-time.After(100 * time.Millisecond):
		case <-s.closing:
			_ = c.Close()
			return
		}
		s.connsMu.Lock()
		if s.connsClosed {
			s.connsMu.Unlock()
			_ = c.Close()
			return
		}
	}
	s.conns[ic] = struct{}{}
	s.handlers.Add(1)
	s.connsMu.Unlock()
	go s.serveConn(ic)
}

// minIdleToEvict protects a connection that is just being read: one
// accepted a moment ago may hold a whole message not yet read.
const minIdleToEvict = 250 * time.Millisecond

// evictLocked closes the connection idle longest, preferring ones that
// never sent a message, so a flood of idle connections cannot lock out
// real senders; only connections idle for minIdleToEvict qualify. It
// reports whether it closed one. Called with connsMu held.
func (s *Server) evictLocked() bool {
	var victim *inConn
	busySince := s.now() - int64(minIdleToEvict)
	for c := range s.conns {
		if c.lastActive.Load() > busySince {
			continue
		}
		if victim == nil {
			victim = c
			continue
		}
		cs, vs := c.sentAny.Load(), victim.sentAny.Load()
		if cs != vs {
			if !cs {
				victim = c
			}
			continue
		}
		if c.lastActive.Load() < victim.lastActive.Load() {
			victim = c
		}
	}
	if victim == nil {
		return false
	}
	delete(s.conns, victim)
	victim.evicted.Store(true)
	_ = victim.Close()
	s.evicted++
	if now := time.Now(); now.Sub(s.lastEvictionLog) >= 10*time.Second {
		s.log.Warn().Int("limit", s.cfg.MaxConns).Int("closed", s.evicted).
			Msg("sender connection limit reached: closing the connections idle longest")
		s.lastEvictionLog = now
		s.evicted = 0
	}
	return true
}

func (s *Server) closeConns() {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	s.connsClosed = true
	for c := range s.conns {
		_ = c.Close()
	}
}

func (s *Server) forget(c *inConn) {
	s.connsMu.Lock()
	delete(s.conns, c)
	s.connsMu.Unlock()
	_ = c.Close()
	select {
	case s.connFreed <- struct{}{}: // an accept may be waiting for a slot
	default:
	}
}

// draw is the fate of one copy, decided when its message is accepted.
type draw struct {
	drop     bool
	delay    time.Duration
	dup      bool
	dupDelay time.Duration
}

// serveConn reads one sender connection. Without reuse it frames as the
// original program does (see originalFramer): what it has read when the
// text first holds "<EOM>" is one message, tail and further "<EOM>"s
// included, forwarded at once. With reuse (our programs at both ends)
// every "<EOM>" ends a message of its own. Either way the text is
// forwarded as ASCII, as the original's is, and a connection that ends
// with no "<EOM>" after its last message forwards nothing more.
func (s *Server) serveConn(c *inConn) {
	defer s.handlers.Done()
	defer s.forget(c)
	from := c.RemoteAddr().String()
	draws := make([]draw, len(s.dests))
	var (
		err       error
		pending   int  // bytes read and never forwarded
		forwarded bool // a message came on this connection
	)
	if s.cfg.Reuse {
		pending, forwarded, err = s.readSplit(c, from, draws)
	} else {
		pending, forwarded, err = s.readOriginal(c, from, draws)
	}
	if pending > 0 {
		if forwarded {
			// The sender's bytes after its last "<EOM>", in a later read
			// than that message: the original would not have read them.
			if e := s.msgLog.Debug(); e != nil {
				e.Str("from", from).Int("bytes", pending).Msg("bytes after the last <EOM> arrived late: not forwarded")
			}
		} else {
			s.incomplete.Add(1)
			if ok, n := s.badInput.allow(time.Now()); ok {
				s.log.Warn().Str("from", from).Int("bytes", pending).Int("suppressed", n).
					Msg("sender connection ended with no <EOM>: nothing forwarded (the original forwards nothing either)")
			}
		}
	}
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.log.Info().Str("from", from).Stringer("idle", s.cfg.IdleTimeout).
			Msg("closing idle sender connection")
	case c.evicted.Load(), errors.Is(err, net.ErrClosed):
		// closed by us: connection cap or shutdown
	default:
		s.log.Warn().Str("from", from).Err(err).Msg("sender connection failed")
	}
}

// readOriginal reads a connection framed as the original reads it, until
// the connection ends: it returns the bytes read and not forwarded,
// whether any message was, and why the connection ended.
func (s *Server) readOriginal(c *inConn, from string, draws []draw) (pending int, forwarded bool, err error) {
	f := newOriginalFramer(c, s.cfg.MaxMessage)
	for {
		msg, n, err := f.Next()
		if err != nil {
			var tooLarge *wire.TooLargeError
			if errors.As(err, &tooLarge) {
				s.reject(from, tooLarge.Dropped)
				continue
			}
			return f.Pending(), forwarded, err
		}
		forwarded = true
		c.sentAny.Store(true)
		s.dispatch(appendASCII(make([]byte, 0, len(msg)), msg), n, from, draws)
	}
}

// readSplit reads a connection on which every "<EOM>" ends a message.
func (s *Server) readSplit(c *inConn, from string, draws []draw) (pending int, forwarded bool, err error) {
	r := wire.NewReader(c, s.cfg.MaxMessage)
	for {
		msg, err := r.Next()
		if err != nil {
			var tooLarge *wire.TooLargeError
			if errors.As(err, &tooLarge) {
				s.reject(from, tooLarge.Dropped)
				continue
			}
			return pending, forwarded, err
		}
		if !r.Terminated() {
			pending = len(msg) // the rest at the end: io.EOF follows
			continue
		}
		forwarded = true
		if len(msg) == 0 {
			s.msgLog.Debug().Str("from", from).Msg("empty message ignored")
			continue
		}
		c.sentAny.Store(true)
		frame := appendASCII(make([]byte, 0, len(msg)+len(eomBytes)), msg)
		s.dispatch(append(frame, eomBytes...), len(msg), from, draws)
	}
}

func (s *Server) reject(from string, size int64) {
	s.rejected.Add(1)
	s.log.Error().Str("from", from).Int64("bytes", size).Int("limit", s.cfg.MaxMessage).
		Msg("message over the size limit dropped")
}

// dispatch queues the copies of one accepted message: frame is what every
// destination gets (content, terminator, and any tail written after it),
// the first n bytes the content. draws is scratch space of one entry per
// destination.
func (s *Server) dispatch(frame []byte, n int, from string, draws []draw) {
	content := frame[:n]
	maxSleep := time.Duration(s.maxSleep.Load())
	dropP, dupP := s.Drop(), s.Dup()
	var id uint64
	if maxSleep == 0 && s.cfg.Late == 0 && dropP == 0 && dupP == 0 {
		id = s.accepted.Add(1)
		clear(draws)
	} else {
		// One generator, drawn in acceptance order, so a seed replays.
		s.rngMu.Lock()
		id = s.accepted.Add(1)
		for i := range draws {
			d := &draws[i]
			*d = draw{}
			if dropP > 0 && s.rng.Float64() < dropP {
				d.drop = true
				continue
			}
			d.delay = s.copyDelay(maxSleep)
			if dupP > 0 && s.rng.Float64() < dupP {
				d.dup = true
				d.dupDelay = s.copyDelay(maxSleep)
			}
		}
		s.rngMu.Unlock()
	}
	m := &message{id: id, frame: frame, n: n}
	if e := s.msgLog.Info(); e != nil {
		e.Uint64("id", id).Str("from", from).Int("bytes", len(content)).
			Bytes("msg", preview(content)).Msg("accepted")
	}
	if s.events != nil {
		s.events.write(evlog.Accepted, id, content, 0, 0)
	}
	if s.console != nil {
		s.console.received(frame, s.dests, draws)
	}
	now := s.now()
	for i, d := range s.dests {
		dr := draws[i]
		if dr.drop {
			s.dropped.Add(1)
			if s.events != nil {
				s.events.write(evlog.Drop, id, content, i+1, 0)
			}
			if e := s.msgLog.Info(); e != nil {
				e.Uint64("id", id).Str("to", d.at()).Msg("copy dropped (fault injection)")
			}
			continue
		}
		d.enqueue(copyItem{msg: m, due: now + int64(dr.delay), delay: dr.delay})
		if dr.dup {
			s.duplicated.Add(1)
			d.enqueue(copyItem{msg: m, due: now + int64(dr.dupDelay), delay: dr.dupDelay})
		}
	}
}

// copyDelay draws one copy's delay: [0, maxSleep], and up to Late more
// when Late is set (saturating: maxSleep may be huge); rngMu must be held.
func (s *Server) copyDelay(maxSleep time.Duration) time.Duration {
	d := s.randomDelay(maxSleep)
	if s.cfg.Late > 0 {
		if late := s.randomDelay(s.cfg.Late); d <= math.MaxInt64-late {
			d += late
		} else {
			d = math.MaxInt64
		}
	}
	return d
}

// randomDelay draws uniformly from [0, maxSleep]; rngMu must be held.
func (s *Server) randomDelay(maxSleep time.Duration) time.Duration {
	if maxSleep <= 0 {
		return 0
	}
	if maxSleep == math.MaxInt64 {
		return time.Duration(s.rng.Int64())
	}
	return time.Duration(s.rng.Int64N(int64(maxSleep) + 1))
}

// preview shortens a message for a log line.
func preview(b []byte) []byte {
	const limit = 120
	if len(b) <= limit {
		return b
	}
	out := make([]byte, 0, limit+3)
	return append(append(out, b[:limit]...), "..."...)
}
