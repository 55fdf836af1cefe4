// Package middleware runs one lab middleware: the protocol core
// (middleware/core) wrapped in its I/O adapters, namely the data-port
// listener, the client of the network program, the control links to the
// peers and the events log. One goroutine, the node's loop, owns the core;
// everything else talks to it over channels.
package middleware

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/hostaddr"
	"totalorder/internal/netutil"
	"totalorder/middleware/core"
	"totalorder/middleware/wire"
)

// Defaults of the lab's layout (see DESIGN.md).
const (
	DefaultHost        = "127.0.0.1"
	DefaultNetAddr     = "127.0.0.1:8081"
	DataPortBase       = 8081 // middleware i listens for data on DataPortBase+i
	ControlPortBase    = 9081 // and for control links on ControlPortBase+i
	DefaultRetryMax    = 2 * time.Second
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxConns    = 256
	DefaultMaxQueue    = 1 << 20
)

// maxBatch bounds the inputs the loop takes before it dispatches output,
// which bounds the latency one batch adds.
const maxBatch = 4096

// Config describes one middleware. Zero fields take the defaults noted.
type Config struct {
	ID, N    int
	Protocol core.Protocol // default core.DefaultProtocol (raft)
	// Host is the host the data and control listeners bind (default
	// 127.0.0.1; when empty the data port also listens on the host's own
	// IPv4 addresses, where the original network program sends).
	Host string
	// DataPort is where the network program delivers (default 8081+ID).
	DataPort int
	// NetAddr is the network program's address. Empty (or with an empty
	// host, ":port") it is looked for on 127.0.0.1 and on the host's own
	// IPv4 addresses, where the original network program listens.
	NetAddr string
	// ControlPort is where peers connect their control links (default 9081+ID).
	ControlPort int
	// PeerAddrs holds the control addresses of peers; missing ones default
	// to 127.0.0.1:9081+j.
	PeerAddrs map[int]string
	// Reuse keeps one connection to the network program open instead of
	// one per message (only for a network program that reads many
	// messages per connection, as ours does with -reuse).
	Reuse bool
	// EventsPath, if set, is the events log (JSON lines, appended).
	EventsPath string
	// StateDir, if set, holds the durable protocol state
	// (middleware-ID.state): a middleware started again with the same
	// folder takes up where it stopped. Without it nothing survives a
	// restart.
	StateDir string
	// Fsync flushes the state log to disk before anything that depends on
	// it goes out (survives a power cut, not only kill -9; slower).
	Fsync bool
	// EventsControl also logs every control message sent and received,
	// and leader changes (for the timeline; see eventLog.controlOut).
	EventsControl bool
	// Logger receives the operational log; the zero Logger is silent.
	Logger zerolog.Logger
	// Core overrides the core's timing; ID, N, Protocol are taken from
	// above. An empty Core.Run gets a fresh incarnation id.
	Core core.Config

	// DataListener and ControlListener, when set, are used instead of
	// binding Host:DataPort and Host:ControlPort (tests pass listeners on
	// free ports). The node closes them.
	DataListener, ControlListener net.Listener
	// RetryMax is the longest wait between reconnection attempts, to the
	// network program and to peers (default 2s; attempts start at 50ms).
	RetryMax time.Duration
	// IdleTimeout closes data and control connections silent this long
	// (default 5 min).
	IdleTimeout time.Duration
	// MaxConns caps concurrent connections per listener (default 256).
	MaxConns int
	// MaxMessage is the data-path size limit (default 64 KiB).
	MaxMessage int
	// MaxControlQueue caps the control messages queued per peer while it
	// is unreachable (default 1<<20); the oldest are dropped beyond it.
	MaxControlQueue int

	// GroupKey is the lab's group secret (see LoadGroupKey): every control
	// link proves it both ways before it is used. Empty means the
	// well-known default secret, which is allowed on loopback only.
	GroupKey []byte
	// HandshakeTimeout is how long a connection to the control port has
	// to prove the secret (default 2s).
	HandshakeTimeout time.Duration
	// MaxHandshakes caps the control connections still proving the secret
	// (default 64); a new one beyond it closes the oldest.
	MaxHandshakes int

	// Set by withDefaults: Host, NetAddr's host were left to the default.
	defaultHost, defaultNetHost bool
}

func (c *Config) withDefaults() error {
	if c.N < 1 {
		return fmt.Errorf("group size %d: want at least 1", c.N)
	}
	if c.ID < 1 || c.ID > c.N {
		return fmt.Errorf("id %d out of range 1..%d", c.ID, c.N)
	}
	if c.Protocol == "" {
		c.Protocol = c.Core.Protocol
	}
	p, err := core.ParseProtocol(string(c.Protocol))
	if err != nil {
		return err
	}
	c.Protocol = p
	if c.Host == "" {
		c.Host, c.defaultHost = DefaultHost, true
	}
	if c.DataPort == 0 {
		c.DataPort = DataPortBase + c.ID
	}
	if c.ControlPort == 0 {
		c.ControlPort = ControlPortBase + c.ID
	}
	if c.NetAddr == "" {
		c.NetAddr, c.defaultNetHost = DefaultNetAddr, true
	}
	if h, p, err := net.SplitHostPort(c.NetAddr); err == nil && h == "" {
		c.NetAddr, c.defaultNetHost = net.JoinHostPort(DefaultHost, p), true
	}
	peers := make(map[int]string, c.N)
	for j := 1; j <= c.N; j++ {
		if j == c.ID {
			continue
		}
		addr := c.PeerAddrs[j]
		if addr == "" {
			addr = net.JoinHostPort(DefaultHost, strconv.Itoa(ControlPortBase+j))
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("address of Middleware %d %q: want host:port", j, addr)
		}
		peers[j] = addr
	}
	c.PeerAddrs = peers
	if len(c.GroupKey) == 0 {
		if !isLoopbackHost(c.Host) {
			return fmt.Errorf("listening on %s without a group secret would let anyone on the network join: pass -group-key-file F (the same file for every middleware)", c.Host)
		}
		for j, addr := range peers {
			if host, _, _ := net.SplitHostPort(addr); !isLoopbackHost(host) {
				return fmt.Errorf("Middleware %d is at %s: linking across machines needs a group secret, pass -group-key-file F (the same file for every middleware)", j, addr)
			}
		}
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = DefaultMaxHandshakes
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = wire.DefaultMaxMessage
	}
	if c.MaxControlQueue <= 0 {
		c.MaxControlQueue = DefaultMaxQueue
	}
	c.Core.ID, c.Core.N, c.Core.Protocol = c.ID, c.N, c.Protocol
	if c.Core.StateID == "" {
		// A new state log's identity (kept only if the state log has
		// none): random, so a state folder deleted and made again never
		// passes for the old one.
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.Core.StateID = hex.EncodeToString(b[:])
	}
	if c.Core.Run == "" {
		c.Core.Run = strconv.FormatInt(time.Now().UnixMicro(), 10)
	}
	return nil
}

// Node is one running middleware. It implements the interface the GUI
// consumes: Send, Status, Subscribe.
type Node struct {
	cfg  Config
	log  zerolog.Logger
	core *core.Core // owned by the loop goroutine once Run starts

	data    *dataListener
	control *controlListener
	net     *netClient
	links   []*peerLink // indexed by peer id; nil for this node
	events  *eventLog   // nil without EventsPath
	state   *stateLog   // nil without StateDir

	dataIn    chan *batch[string]   // from data connections
	controlIn chan *batch[core.Msg] // from control links
	wake      chan struct{}         // capacity 1: Send was called
	sends     atomic.Int64          // messages asked for by Send, not yet given to the core
	textsMu   sync.Mutex
	texts     []string // bodies asked for by SendText, not yet given to the core

	subMu sync.Mutex                    // serialises changes to subs
	subs  atomic.Pointer[[]*subscriber] // read by the loop without locking

	statusMu sync.Mutex
	status   Status // refreshed by the loop

	started atomic.Bool

	// isolatedUntil cuts this middleware off from its peers' control
	// links, both ways, until then (unix ns; 0: connected; -1: until
	// told otherwise).
	isolatedUntil atomic.Int64

	// Loop-only state.
	recvAt      map[core.MsgID]time.Time // local Received time of messages not yet Ready
	lastPrune   time.Time
	lastLatency time.Duration
	garbage     logLimiter
	misrouted   logLimiter
	wasIsolated bool
	lastTick    time.Time // the loop's last tick, to notice a pause
	stateErr    error     // the state log failed: this middleware no longer takes part
}

type subscriber struct {
	fn        func([]Event)
	cancelled atomic.Bool
}

// New checks cfg, opens the events log and binds the data and control
// listeners. A port already in use gives an error whose message is one line
// saying which port and what to do.
func New(cfg Config) (*Node, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger,
		dataIn:    make(chan *batch[string], 1024),
		controlIn: make(chan *batch[core.Msg], 1024),
		wake:      make(chan struct{}, 1),
		recvAt:    make(map[core.MsgID]time.Time),
	}

	dataLn := cfg.DataListener
	if dataLn == nil {
		var err error
		// In the usual layout data ports follow the network program's.
		base := DataPortBase
		if _, p, err := net.SplitHostPort(cfg.NetAddr); err == nil {
			if k, err := strconv.Atoi(p); err == nil {
				base = k
			}
		}
		if dataLn, err = listen(cfg.Host, cfg.DataPort, "data", "-data-port", base); err != nil {
			return nil, err
		}
	}
	var hostIPs []net.IP
	if cfg.defaultNetHost || (cfg.defaultHost && cfg.DataListener == nil) {
		hostIPs = hostaddr.IPv4s()
	}
	if cfg.defaultHost && cfg.DataListener == nil {
		dataLn = alsoOnHostName(dataLn, hostIPs, cfg.DataPort, n.log)
	}
	controlLn := cfg.ControlListener
	if controlLn == nil {
		var err error
		if controlLn, err = listen(cfg.Host, cfg.ControlPort, "control", "-control-port", ControlPortBase); err != nil {
			dataLn.Close()
			return nil, err
		}
	}
	if cfg.EventsPath != "" {
		hasPast, lastNum, lastSeq := pastRun(cfg.EventsPath, cfg.ID)
		cfg.Core.HasPast = cfg.Core.HasPast || hasPast
		cfg.Core.LastNum = max(cfg.Core.LastNum, lastNum)
		cfg.Core.LastSeq = max(cfg.Core.LastSeq, lastSeq)
		ev, err := openEventLog(cfg.EventsPath, cfg.ID, cfg.Core.Run)
		if err != nil {
			dataLn.Close()
			controlLn.Close()
			return nil, err
		}
		ev.oplog = n.log
		ev.Control = cfg.EventsControl
		n.events = ev
	}

	closeAll := func() {
		dataLn.Close()
		controlLn.Close()
		if n.events != nil {
			n.events.close()
		}
	}
	if cfg.StateDir != "" {
		st, recs, err := openStateLog(statePath(cfg), cfg.Fsync)
		if err != nil {
			closeAll()
			return nil, err
		}
		n.state = st
		cfg.Core.Restored = recs
	}
	c, err := core.New(cfg.Core, time.Now())
	if err != nil {
		closeAll()
		if n.state != nil {
			n.state.close()
		}
		return nil, fmt.Errorf("%v (delete %s to start this middleware afresh)", err, cfg.StateDir)
	}
	n.core = c
	n.data = &dataListener{
		ln: dataLn, maxConns: cfg.MaxConns, idle: cfg.IdleTimeout, maxMessage: cfg.MaxMessage,
		out: n.dataIn, log: n.log,
	}
	key := cfg.GroupKey
	if len(key) == 0 {
		key = defaultGroupKey
	}
	n.control = &controlListener{
		ln: controlLn, self: cfg.ID, n: cfg.N, maxConns: cfg.MaxConns, idle: cfg.IdleTimeout,
		key: key, handshake: cfg.HandshakeTimeout, gate: handshakeGate{max: cfg.MaxHandshakes},
		out: n.controlIn, log: n.log, heard: make([]atomic.Int64, cfg.N+1),
	}
	n.control.refused.every = 10 * time.Second
	n.control.evictions.every = time.Minute
	n.control.overCap.every = time.Minute
	n.net = newNetClient(cfg.NetAddr, cfg.Reuse, cfg.RetryMax, n.log)
	if cfg.defaultNetHost {
		n.net.also(hostaddr.JoinPort(hostIPs, cfg.NetAddr)...)
	}
	n.links = make([]*peerLink, cfg.N+1)
	for j, addr := range cfg.PeerAddrs {
		n.links[j] = newPeerLink(cfg.ID, j, addr, cfg.Core.Run, key, cfg.MaxControlQueue, cfg.RetryMax, n.log)
	}
	n.refreshStatus()
	return n, nil
}

// statePath names middleware ID's state log after its group too (a hash of
// the secret), so that a middleware of one lab never takes up the raft
// state of another: mixing them could break consensus.
func statePath(cfg Config) string {
	key := cfg.GroupKey
	if len(key) == 0 {
		key = defaultGroupKey
	}
	sum := sha256.Sum256(append([]byte("total-order lab state\x00"), key...))
	return filepath.Join(cfg.StateDir, fmt.Sprintf("middleware-%d-%x.state", cfg.ID, sum[:4]))
}

// listen binds host:port, turning "address in use" into advice.
func listen(host string, port int, what, flag string, base int) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err == nil {
		return ln, nil
	}
	if netutil.IsAddrInUse(err) {
		return nil, inUseError(what, port, flag, base)
	}
	return nil, fmt.Errorf("cannot listen on %s port %s: %v", what, net.JoinHostPort(host, strconv.Itoa(port)), shortErr(err))
}

// inUseError says which port is taken, by whom in the default layout, and
// what to do.
func inUseError(what string, port int, flag string, base int) error {
	guess := "by another program"
	if k := port - base; k >= 1 && k <= 16 {
		guess = "is Middleware " + strconv.Itoa(k) + " already running?"
	} else if what == "data" && port == base {
		guess = "is the network program running there?"
	}
	return fmt.Errorf("%s port %d is already in use (%s): stop it or pass %s", what, port, guess, flag)
}

// Run serves until ctx is done, then stops every goroutine it started,
// gives the network program up to a second to take what is still queued
// (sends asked for before the stop included), and flushes the events log.
// It may be called once.
func (n *Node) Run(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("middleware: Run called twice, or after Close")
	}
	// The adapters stop after the loop, so that what the loop does last
	// (sends asked for before the stop) still reaches the network client.
	ioCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { n.data.run(ioCtx, &wg) })
	wg.Go(func() { n.control.run(ioCtx, &wg) })
	wg.Go(func() { n.net.run(ioCtx) })
	for _, l := range n.links {
		if l != nil {
			wg.Go(func() { l.runLink(ioCtx) })
		}
	}
	mode := "a connection per message"
	if n.cfg.Reuse {
		mode = "one kept-open connection"
	}
	n.log.Info().Msgf("Middleware %d of %d (%s, run %s): data on %s, control on %s, network program at %s (%s)",
		n.cfg.ID, n.cfg.N, n.cfg.Protocol, n.cfg.Core.Run, hostaddr.Describe(n.data.ln), n.control.ln.Addr(), n.net.where(true), mode)

	if len(n.cfg.GroupKey) == 0 {
		n.log.Warn().Msgf("Middleware %d: no -group-key-file, so control links use the well-known default secret: anyone on this machine could join this group", n.cfg.ID)
	}

	n.loop(ctx)

	cancel()
	n.data.ln.Close()
	n.control.ln.Close()
	n.data.conns.closeAll()
	n.control.conns.closeAll()
	wg.Wait()
	if n.state != nil {
		n.state.close()
	}
	if n.events != nil {
		if err := n.events.close(); err != nil {
			n.log.Error().Msgf("events log %s: %v", n.cfg.EventsPath, err)
			return fmt.Errorf("events log %s: %w", n.cfg.EventsPath, err)
		}
	}
	v := n.core.View() // (the loop, the core's owner, has returned)
	n.log.Info().Msgf("Middleware %d stopped: sent %d, received %d, ready %d", n.cfg.ID, v.Sent, v.Received, v.Ready)
	return nil
}

// Close releases the listeners and the events log of a node that will not
// be Run. It does nothing once Run has started.
func (n *Node) Close() error {
	if !n.started.CompareAndSwap(false, true) {
		return nil
	}
	n.data.ln.Close()
	n.control.ln.Close()
	if n.state != nil {
		n.state.close()
	}
	if n.events != nil {
		return n.events.close()
	}
	return nil
}

// maxTickSpacing bounds how far overload may space ticks (and with them
// heartbeats, sent every 100 ms by default, suspected after 1 s).
const maxTickSpacing = 200 * time.Millisecond

// loop owns the core: it takes whatever inputs are ready, lets the core
// handle them, then carries out the core's output in one go.
func (n *Node) loop(ctx context.Context) {
	every := n.core.TickEvery()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ticked := false
		inputs := 0
		select {
		case <-ctx.Done():
			// Sends asked for before the stop still go out.
			if n.takeSends() {
				n.dispatch()
				n.refreshStatus()
			}
			return
		case batch := <-n.dataIn:
			inputs += n.handleData(batch)
		case batch := <-n.controlIn:
			inputs += n.handleControl(batch)
		case <-n.wake:
		case <-tick.C:
			start := time.Now()
			n.checkPause(start)
			if n.checkIsolation(start) {
				for id := range n.control.heard {
					if at := n.control.heard[id].Load(); at > 0 {
						n.core.Heard(id, time.Unix(0, at))
					}
				}
			}
			n.core.Tick(start)
			ticked = true
			if n.events != nil {
				n.events.flush(start) // retries a failed write even when idle
			}
			// If a tick got expensive (much pending under overload), space
			// ticks out so that they cannot crowd out the inputs, but not
			// beyond a few heartbeat periods: peers would think us dead.
			tick.Reset(min(max(every, 4*time.Since(start)), maxTickSpacing))
			n.pruneReceived(start)
		}
	drain:
		for inputs < maxBatch {
			select {
			case batch := <-n.dataIn:
				inputs += n.handleData(batch)
			case batch := <-n.controlIn:
				inputs += n.handleControl(batch)
			default:
				break drain
			}
		}
		n.takeSends()
		if n.dispatch() || ticked {
			n.refreshStatus()
		}
	}
}

// pruneReceived forgets the Received times of messages that never became
// Ready here (a rejoined middleware receives messages ordered before it
// joined), so the map cannot grow without bound. A message that does become
// Ready after that long shows no latency.
func (n *Node) pruneReceived(now time.Time) {
	const keep, every = 10 * time.Minute, time.Minute
	if len(n.recvAt) < 10000 || now.Sub(n.lastPrune) < every {
		return
	}
	n.lastPrune = now
	for id, at := range n.recvAt {
		if now.Sub(at) > keep {
			delete(n.recvAt, id)
		}
	}
}

func (n *Node) handleControl(b *batch[core.Msg]) int {
	now := time.Now()
	if !n.isolated(now) {
		if n.events != nil {
			n.events.controlIn(b.items, now)
		}
		for i := range b.items {
			n.core.ControlIn(now, b.items[i])
		}
	}
	k := len(b.items)
	controlBatches.put(b)
	return k
}

func (n *Node) handleData(b *batch[string]) int {
	now := time.Now()
	for _, text := range b.items {
		if err := n.core.DataIn(now, text); err != nil {
			if ok, k := n.garbage.allow(now); ok {
				n.log.Error().Int("suppressed", k).Msgf("data port: %v", err)
			}
		}
	}
	k := len(b.items)
	dataBatches.put(b)
	return k
}

// dispatch carries out the core's output: content to the network program,
// control messages to the links, notes to the counters, the events log and
// the subscribers. It reports whether any list changed.
func (n *Node) dispatch() (changed bool) {
	out := n.core.Output()
	if out.Empty() {
		return false
	}
	changed = len(out.Notes) > 0
	// The state log first: everything else in this output depends on it.
	if n.state != nil && len(out.Persist) > 0 && n.stateErr == nil {
		if err := n.state.write(out.Persist, out.Rewrite); err != nil {
			n.stateErr = err
			n.log.Error().Msgf("state log %s: write failed (%v): this middleware stops taking part in ordering to stay safe; free space and restart it", n.state.path, shortErr(err))
		}
	}
	n.net.enqueue(out.ToNetwork)
	if len(out.Control) > 0 && n.stateErr == nil && !n.isolated(time.Now()) {
		if n.events != nil {
			n.events.controlOut(out.Control, time.Now())
		}
		for _, l := range n.links {
			if l != nil {
				l.enqueue(out.Control)
			}
		}
		for i := range out.Control {
			if to := out.Control[i].To; to < 1 || to > n.cfg.N || to == n.cfg.ID {
				if ok, k := n.misrouted.allow(time.Now()); ok {
					n.log.Error().Int("suppressed", k).Msgf("core addressed a %q control message to %d: dropped", out.Control[i].Msg.Kind, to)
				}
			}
		}
	}
	if len(out.Notes) > 0 {
		n.notes(out.Notes)
	}
	n.core.ClearOutput()
	if n.events != nil {
		n.events.flush(time.Now())
	}
	return changed
}

func (n *Node) notes(notes []core.Note) {
	var evs []Event
	subs := n.subs.Load()
	if subs != nil && len(*subs) > 0 {
		evs = make([]Event, 0, len(notes))
	}
	for i := range notes {
		nt := &notes[i]
		var kind EventKind
		var latency time.Duration
		switch nt.Kind {
		case core.NoteSent:
			kind = EventSent
		case core.NoteReceived:
			kind = EventReceived
			if !nt.Foreign {
				n.recvAt[nt.ID] = nt.At
			}
		case core.NoteReady:
			kind = EventReady
			if at, ok := n.recvAt[nt.ID]; ok {
				latency = nt.At.Sub(at)
				delete(n.recvAt, nt.ID)
			}
			n.lastLatency = latency
		case core.NoteDiverged:
			kind = EventDiverged
		default:
			continue
		}
		if n.events != nil {
			n.events.write(nt)
		}
		if evs != nil {
			evs = append(evs, Event{Kind: kind, Msg: nt.Text(), Seq: nt.Seq, At: nt.At, Latency: latency, Peer: nt.Peer, There: nt.There, Foreign: nt.Foreign, Recovered: nt.Recovered})
		}
	}
	if evs == nil {
		return
	}
	for _, s := range *subs {
		if !s.cancelled.Load() {
			s.fn(evs)
		}
	}
}

func (n *Node) refreshStatus() {
	v := n.core.View()
	s := Status{
		ID: n.cfg.ID, N: n.cfg.N, Protocol: string(n.cfg.Protocol),
		Leader: v.Leader, Term: v.Term, Alive: v.Alive, Peers: n.cfg.N - 1,
		Sent: v.Sent, Received: v.Received, Recovered: v.Recovered, Foreign: v.Foreign, Ready: v.Ready,
		Pending: v.Pending, Held: v.Held, LastLatency: n.lastLatency, Waiting: v.Waiting,
		Isolated: n.wasIsolated, Agreement: v.Agreement, ControlSent: v.ControlSent, Warnings: v.Warnings,
	}
	if n.stateErr != nil {
		s.Waiting = "state log failed (" + shortErr(n.stateErr) + "): stopped taking part; free space and restart"
	}
	if n.events != nil {
		s.EventsLog = n.events.problem()
	}
	n.statusMu.Lock()
	n.status = s
	n.statusMu.Unlock()
	if n.events != nil {
		n.events.leader(v.Leader, v.Term, time.Now())
	}
}

// takeSends gives the core what Send and SendText asked for since the
// last call; it reports whether there was any.
func (n *Node) takeSends() bool {
	n.textsMu.Lock()
	texts := n.texts
	n.texts = nil
	n.textsMu.Unlock()
	now := time.Now()
	for _, body := range texts {
		_ = n.core.SendText(now, body) // (checked by SendText already)
	}
	k := n.sends.Swap(0)
	if k > 0 {
		n.core.Send(now, int(k))
	}
	return k > 0 || len(texts) > 0
}

// SendText asks for one application message with body to be multicast
// ("Msg #k from Middleware i: body"). It never blocks; it fails only on a
// body core.CheckBody refuses.
func (n *Node) SendText(body string) error {
	if err := core.CheckBody(body); err != nil {
		return err
	}
	n.textsMu.Lock()
	n.texts = append(n.texts, body)
	n.textsMu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return nil
}

// Send asks for count new messages to be multicast. It never blocks; the
// loop picks the request up at once.
func (n *Node) Send(count int) {
	if count <= 0 {
		return
	}
	n.sends.Add(int64(count))
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Status is a snapshot: counters and membership as of the loop's last
// batch that changed a list (or its last tick), links and network program
// as of now.
func (n *Node) Status() Status {
	n.statusMu.Lock()
	s := n.status
	n.statusMu.Unlock()
	s.Alive = slices.Clone(s.Alive)
	for _, l := range n.links {
		if l != nil && l.up() && !n.isolated(time.Now()) {
			s.PeersUp++
		}
	}
	s.NetworkUp = n.net.up()
	s.NetQueued = n.net.queued()
	return s
}

// Subscribe registers fn for the list changes from now on. fn is called on
// the node's loop goroutine with each batch of events, in order; it must
// not block, and must not modify the batch (it may keep it). After cancel
// returns fn is not called again, except for a call already under way.
func (n *Node) Subscribe(fn func(batch []Event)) (cancel func()) {
	s := &subscriber{fn: fn}
	n.subMu.Lock()
	var next []*subscriber
	if old := n.subs.Load(); old != nil {
		next = slices.Clone(*old)
	}
	next = append(next, s)
	n.subs.Store(&next)
	n.subMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.cancelled.Store(true)
			n.subMu.Lock()
			defer n.subMu.Unlock()
			next := slices.DeleteFunc(slices.Clone(*n.subs.Load()), func(x *subscriber) bool { return x == s })
			n.subs.Store(&next)
		})
	}
}

// Isolate cuts this middleware off from its peers' control links, both
// ways, for d (d < 0: until Isolate(0)); Isolate(0) reconnects it. Data
// from the network program still flows. For tests and demonstrations of
// partitions, without root.
func (n *Node) Isolate(d time.Duration) {
	switch {
	case d == 0:
		n.isolatedUntil.Store(0)
	case d < 0:
		n.isolatedUntil.Store(-1)
	default:
		n.isolatedUntil.Store(time.Now().Add(d).UnixNano())
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *Node) isolated(now time.Time) bool {
	u := n.isolatedUntil.Load()
	return u < 0 || (u > 0 && now.UnixNano() < u)
}

// pausedAfter is how long without a tick counts as a pause: overload
// spaces ticks by maxTickSpacing at most.
const pausedAfter = time.Second

// checkPause notices that the loop did not run for a while (loop only):
// the process was paused (kill -STOP, a debugger breakpoint, a suspended
// laptop) or starved. Nothing in the protocol depends on it; it is said
// in the log and marked on the events log, so that the timeline shows the
// pause on this middleware's lane.
func (n *Node) checkPause(now time.Time) {
	last := n.lastTick
	n.lastTick = now
	if last.IsZero() || now.Sub(last) < pausedAfter {
		return
	}
	n.log.Info().Msgf("Middleware %d: did not run for %v (paused or starved)", n.cfg.ID, now.Sub(last).Round(10*time.Millisecond))
	if n.events != nil {
		n.events.mark("paused", last)
		n.events.mark("resumed", now)
	}
}

// checkIsolation notices the start and end of an isolation (loop only): at
// the start the core hears that every link closed, as it would if the
// cables were cut. It reports whether the links are up.
func (n *Node) checkIsolation(now time.Time) bool {
	iso := n.isolated(now)
	if iso && !n.wasIsolated {
		for j := 1; j <= n.cfg.N; j++ {
			if j != n.cfg.ID {
				n.core.ControlIn(now, core.Msg{Kind: core.KindLinkClosed, From: j})
			}
		}
		n.log.Info().Msgf("Middleware %d: cut off from its peers", n.cfg.ID)
		if n.events != nil {
			n.events.mark("cut off", now)
		}
	} else if !iso && n.wasIsolated {
		n.log.Info().Msgf("Middleware %d: reconnected to its peers", n.cfg.ID)
		if n.events != nil {
			n.events.mark("reconnected", now)
		}
	}
	n.wasIsolated = iso
	return !iso
}

// ID is this middleware's id.
func (n *Node) ID() int { return n.cfg.ID }

// RunID is this incarnation's id, as written in the events log.
func (n *Node) RunID() string { return n.cfg.Core.Run }

// DataAddr is the address the data listener is bound to.
func (n *Node) DataAddr() net.Addr { return n.data.ln.Addr() }

// ControlAddr is the address the control listener is bound to.
func (n *Node) ControlAddr() net.Addr { return n.control.ln.Addr() }

// StatusLine formats s on one line, for the headless "status" command.
func StatusLine(s Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Middleware %d/%d %s", s.ID, s.N, s.Protocol)
	if s.Leader > 0 {
		fmt.Fprintf(&b, " leader=%d", s.Leader)
	}
	if s.Term > 0 {
		fmt.Fprintf(&b, " term=%d", s.Term)
	}
	if s.Isolated {
		b.WriteString(" isolated")
	}
	fmt.Fprintf(&b, " alive=%v peers=%d/%d", s.Alive, s.PeersUp, s.Peers)
	net := "up"
	if !s.NetworkUp {
		net = "down"
	}
	fmt.Fprintf(&b, " network=%s queued=%d sent=%d held=%d received=%d recovered=%d ready=%d pending=%d last-latency=%v control-sent=%d",
		net, s.NetQueued, s.Sent, s.Held, s.Received, s.Recovered, s.Ready, s.Pending, s.LastLatency.Round(time.Microsecond), s.ControlSent)
	if s.Foreign > 0 {
		fmt.Fprintf(&b, " foreign=%d", s.Foreign) // never delivered: not announced by any middleware of this lab
	}
	if s.Protocol == string(core.None) {
		b.WriteString(" unordered=\"-protocol none orders nothing: Ready is Received, windows disagree\"")
	}
	if s.Agreement != nil {
		ok, text := core.AgreementSummary(s.Agreement)
		b.WriteString(map[bool]string{true: " agreement=ok ", false: " agreement=DIFFERS "}[ok] + strconv.Quote(text))
	}
	if s.Waiting != "" {
		b.WriteString(" waiting=" + strconv.Quote(s.Waiting))
	}
	if s.EventsLog != "" {
		b.WriteString(" events-log=" + strconv.Quote(s.EventsLog))
	}
	for _, w := range s.Warnings {
		b.WriteString(" warning=" + strconv.Quote(w))
	}
	return b.String()
}
