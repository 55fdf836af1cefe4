package middleware

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/sender"
	"totalorder/middleware/core"
)

// The control path: each middleware dials every peer once (an outgoing
// link) and accepts the peers' links. A link starts with a mutual
// handshake in which both ends prove the lab's group secret (decoded by
// acceptHandshake and dialHandshake in auth.go, which documents it in
// full):
//
//	dialer → acceptor  TOM-AUTH1 HELLO <dialer id> <acceptor id> <run> <nonceD>
//	acceptor → dialer  TOM-AUTH1 CHALLENGE <nonceA> <HMAC-SHA256(secret, "acceptor"…)>
//	dialer → acceptor  TOM-AUTH1 PROOF <HMAC-SHA256(secret, "dialer"…)>
//
// and then carries control messages one per line in core's encoding (see
// core.AppendMsg / core.DecodeMsg). After the handshake links are one-way:
// the acceptor only reads, the dialer only writes. Nothing a connection
// sends reaches the core before its PROOF checks out.

const (
	// maxControlLine bounds one control line; state transfers can be long.
	maxControlLine = 16 << 20
)

var errLineTooLong = errors.New("control line too long")

// controlListener accepts the peers' links and hands decoded messages, with
// From set to the peer's id, to the node's loop. A connection is only read
// for control lines once it has proved the group secret (see auth.go);
// until then the node never hears of it.
type controlListener struct {
	ln       net.Listener
	self, n  int
	maxConns int // authenticated links at once
	idle     time.Duration
	key      []byte
	// handshake bounds the time a new connection has to prove the secret;
	// gate holds those that have not yet (at most MaxHandshakes).
	handshake time.Duration
	gate      handshakeGate
	authed    atomic.Int64 // authenticated links being served
	out       chan<- *batch[core.Msg]
	// heard[id] is when a line from peer id was last read (unix ns): under
	// overload the loop may take a while to process it, but it proves the
	// peer alive when it arrives.
	heard     []atomic.Int64
	log       zerolog.Logger
	conns     connSet
	badLines  logLimiter
	refused   logLimiter // connections that did not prove the secret
	evictions logLimiter
	overCap   logLimiter
}

func (l *controlListener) run(ctx context.Context, wg *sync.WaitGroup) {
	// The accept loop's own cap only bounds goroutines: the gate and the
	// authenticated cap below are what admit connections.
	acceptLoop(ctx, l.ln, "control port", l.maxConns+max(1, l.gate.max), &l.conns, wg, l.log, func(c net.Conn) { l.serve(ctx, c) })
}

// authenticate runs the acceptor's handshake on a new connection under the
// handshake deadline. It returns the peer's id and run, or ok false after
// closing nothing (the caller closes) and logging at most one line.
func (l *controlListener) authenticate(ctx context.Context, conn net.Conn, br *bufio.Reader, until *time.Time) (from int, run string, ok bool) {
	if l.gate.enter(conn) {
		if ok, k := l.evictions.allow(time.Now()); ok {
			l.log.Error().Int("suppressed", k).Msgf("control port: %d connections are waiting to prove the group secret, the limit: closed the oldest (a flood?)", l.gate.max)
		}
	}
	*until = time.Now().Add(l.handshake)
	conn.SetWriteDeadline(*until)
	from, run, err := acceptHandshake(conn, br, l.key, l.self, l.n, func() { l.gate.greeted(conn) })
	if !l.gate.leave(conn) && err == nil {
		err = errors.New("closed to make room for newer connections")
	}
	if err != nil {
		if ctx.Err() == nil {
			if isTimeout(err) {
				err = fmt.Errorf("did not prove the group secret within %v", l.handshake)
			} else if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				err = errors.New("closed before proving the group secret")
			}
			if ok, k := l.refused.allow(time.Now()); ok {
				l.log.Error().Int("suppressed", k).Msgf("control port: refused a connection from %s: %v", conn.RemoteAddr(), err)
			}
		}
		return 0, "", false
	}
	*until = time.Time{}
	conn.SetDeadline(time.Time{})
	if l.authed.Add(1) > int64(l.maxConns) {
		l.authed.Add(-1)
		if ok, k := l.overCap.allow(time.Now()); ok {
			l.log.Error().Int("suppressed", k).Msgf("control port: %d authenticated links open, the limit: refused Middleware %d's", l.maxConns, from)
		}
		return 0, "", false
	}
	return from, run, true
}

func (l *controlListener) serve(ctx context.Context, conn net.Conn) {
	var until time.Time
	br := bufio.NewReaderSize(idleReader{conn: conn, idle: l.idle, until: &until}, 64<<10)
	from, run, ok := l.authenticate(ctx, conn, br, &until)
	if !ok {
		return
	}
	defer l.authed.Add(-1)
	var acc []byte
	var line []byte
	var err error
	l.log.Info().Msgf("control link from Middleware %d (run %s) accepted", from, run)
	defer func() {
		if ctx.Err() == nil {
			l.log.Info().Msgf("control link from Middleware %d (run %s) closed", from, run)
		}
	}()
	var b *batch[core.Msg] // decoded, for the loop
	for {
		line, acc, err = readLine(br, acc, maxControlLine)
		switch {
		case errors.Is(err, errLineTooLong):
			l.bad(from, err)
		case err != nil:
			if b != nil {
				select {
				case l.out <- b:
				case <-ctx.Done():
				}
			}
			if !errors.Is(err, io.EOF) && !isTimeout(err) && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				l.log.Warn().Msgf("control link from Middleware %d failed: %v", from, err)
			}
			// A peer's link closes when its process ends: tell the core,
			// which then expects a heartbeat soon or declares it dead.
			closed := controlBatches.get()
			closed.items = append(closed.items, core.Msg{Kind: core.KindLinkClosed, From: from, Run: run})
			select {
			case l.out <- closed:
			case <-ctx.Done():
			}
			return
		case len(line) > 0:
			m, err := core.DecodeMsg(line)
			if err != nil {
				l.bad(from, err)
				break
			}
			m.From = from
			if from < len(l.heard) {
				l.heard[from].Store(time.Now().UnixNano())
			}
			if b == nil {
				b = controlBatches.get()
			}
			b.items = append(b.items, m)
		}
		// Hand the batch over when no further whole line is already
		// buffered: one channel operation per read from the socket.
		if b == nil || (len(b.items) < readBatch && completeBuffered(br, newline)) {
			continue
		}
		select {
		case l.out <- b:
			b = nil
		case <-ctx.Done():
			return
		}
	}
}

var newline = []byte{'\n'}

func (l *controlListener) bad(from int, err error) {
	if ok, n := l.badLines.allow(time.Now()); ok {
		l.log.Error().Int("suppressed", n).Msgf("control link from Middleware %d: dropped a line: %v", from, err)
	}
}

// readLine returns the next line without its "\n" (and "\r"), reusing acc
// for lines longer than br's buffer. The line is valid until the next call.
// A line over max bytes is skipped and reported as errLineTooLong.
func readLine(br *bufio.Reader, acc []byte, max int) ([]byte, []byte, error) {
	acc = acc[:0]
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if tooLong {
				return nil, acc, fmt.Errorf("%w: over %d bytes, skipped", errLineTooLong, max)
			}
			var line []byte
			if len(acc) == 0 {
				line = chunk[:len(chunk)-1] // fast path: no copy
			} else {
				acc = append(acc, chunk[:len(chunk)-1]...)
				line = acc
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > max {
				return nil, acc, fmt.Errorf("%w: over %d bytes, skipped", errLineTooLong, max)
			}
			return line, acc, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if !tooLong && len(acc)+len(chunk) > max {
				tooLong, acc = true, acc[:0]
			}
			if !tooLong {
				acc = append(acc, chunk...)
			}
		default:
			return nil, acc, err // a partial last line is dropped with the connection
		}
	}
}

// peerLink is the outgoing link to one peer: a sender.Sender of control
// messages on one kept-open connection, opened by the dialer's handshake.
// The node's loop queues messages; the sender's goroutine (runLink) dials
// the peer, reconnecting with backoff while the node runs, and writes the
// queue. While the peer is unreachable messages queue up to maxQueued;
// beyond that the oldest are dropped: the core recovers whatever it misses
// (raft retransmits, proposals and sequencer requests are repeated, orders
// asked for again by gap requests, isis proposals and content by
// time-out); the simulations cut links and lose what is in flight to keep
// that true. For the same reason what was in a failed write is not written
// again.
type peerLink struct {
	self, peer int
	addr       string
	run        string
	key        []byte
	maxQueued  int
	retryMax   time.Duration
	log        zerolog.Logger
	out        *sender.Sender[core.Msg]
	mine       []core.Msg // enqueue's scratch: the messages for this peer

	// Owned by the sender's goroutine (its hooks): what the log said last.
	everUp, down bool
	dropLog      logLimiter
	authLog      logLimiter // the peer failed the handshake
}

func newPeerLink(self, peer int, addr, run string, key []byte, maxQueued int, retryMax time.Duration, log zerolog.Logger) *peerLink {
	l := &peerLink{self: self, peer: peer, addr: addr, run: run, key: key, maxQueued: maxQueued, retryMax: retryMax, log: log}
	l.out = sender.New(sender.Config[core.Msg]{
		Dial:         l.dial,
		Append:       func(dst []byte, m core.Msg) []byte { return core.AppendMsg(dst, &m) },
		Reuse:        true,
		ConnectEarly: true,
		Limit:        maxQueued,
		WhenFull:     sender.DropOldest,
		RetryMin:     min(50*time.Millisecond, retryMax),
		RetryMax:     retryMax,
		WriteTimeout: 10 * time.Second,
		Hooks: sender.Hooks[core.Msg]{
			Failed:    l.failed,
			Connected: l.connected,
			Closed: func(err error) {
				l.down = true
				l.log.Warn().Msgf("control link to Middleware %d at %s lost (%v); reconnecting", l.peer, l.addr, shortErr(err))
			},
			Dropped: l.dropped,
		},
	})
	return l
}

// enqueue queues every envelope addressed to this link's peer. Only the
// node's loop calls it.
func (l *peerLink) enqueue(envs []core.Envelope) {
	for i := range envs {
		if envs[i].To == l.peer {
			l.mine = append(l.mine, envs[i].Msg)
		}
	}
	l.out.Put(l.mine...)
	clear(l.mine)
	l.mine = l.mine[:0]
}

// up reports whether the link is open (its handshake done).
func (l *peerLink) up() bool { return l.out.Connected() }

func (l *peerLink) queued() int { return l.out.Queued() }

// runLink dials and writes until ctx is done; what is queued then is left.
func (l *peerLink) runLink(ctx context.Context) { l.out.Run(ctx, ctx) }

// dial connects to the peer and proves the group secret (the dialer's side
// of the handshake, see auth.go).
func (l *peerLink) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	conn, err := d.DialContext(dctx, "tcp", l.addr)
	cancel()
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(dialHandshakeTimeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a stop does not wait for the deadline
	err = dialHandshake(conn, bufio.NewReaderSize(conn, maxHandshakeLine), l.key, l.self, l.peer, l.run)
	stop()
	if err != nil {
		conn.Close()
		if isTimeout(err) {
			err = fmt.Errorf("no answer within %v", dialHandshakeTimeout)
		}
		return nil, &handshakeError{err}
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

func (l *peerLink) failed(err error, _ bool, _ time.Duration) {
	var hs *handshakeError
	if errors.As(err, &hs) {
		// Not our peer, or not yet listening properly: keep backing off,
		// and say so once in a while rather than on every try.
		if ok, k := l.authLog.allow(time.Now()); ok {
			l.log.Error().Int("suppressed", k).Msgf("control link to Middleware %d at %s: handshake failed: %v; retrying", l.peer, l.addr, hs.err)
		}
		l.down = true
		return
	}
	if !l.down {
		l.down = true
		verb := "waiting for"
		if l.everUp {
			verb = "lost"
		}
		l.log.Info().Msgf("control link: %s Middleware %d at %s (%v), retrying every %v or sooner; %d messages queued",
			verb, l.peer, l.addr, shortErr(err), l.retryMax, l.queued())
	}
}

func (l *peerLink) connected() {
	if l.down || !l.everUp {
		l.log.Info().Msgf("control link to Middleware %d at %s connected; %d messages queued", l.peer, l.addr, l.queued())
	}
	l.down, l.everUp = false, true
}

func (l *peerLink) dropped(ms []core.Msg, why sender.Reason) {
	switch why {
	case sender.Overflow:
		if ok, n := l.dropLog.allow(time.Now()); ok {
			l.log.Warn().Int("suppressed", n).Msgf("control link to Middleware %d: over %d messages queued, dropped the oldest %d",
				l.peer, l.maxQueued, len(ms))
		}
	case sender.Lost:
		l.log.Debug().Msgf("control link to Middleware %d: %d messages may be lost in a failed write", l.peer, len(ms))
	}
}

// handshakeError is a failed handshake on the dialer's side.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// shortErr drops the "dial tcp 127.0.0.1:9083: " prefix net errors carry.
func shortErr(err error) string {
	if err == nil {
		return "no error"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
