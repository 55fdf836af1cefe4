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

	"totalorder/internal/netutil"
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
	// chunkSize is how many bytes of encoded messages one queue chunk holds
	// before the next starts (the unit in which an overfull queue drops).
	chunkSize = 64 << 10
	// maxFreeChunks bounds the chunk buffers kept for reuse per link.
	maxFreeChunks = 8
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

// peerLink is the outgoing link to one peer. The node's loop encodes
// messages into the link's queue; the link's goroutine (run) dials the peer,
// reconnecting with backoff while the node runs, and writes the queue.
// While the peer is unreachable messages queue up to maxQueued; beyond that
// the oldest are dropped: the core recovers whatever it misses (raft
// retransmits, proposals and sequencer requests are repeated, orders asked
// for again by gap requests, isis proposals and content by time-out); the
// simulations cut links and lose what is in flight to keep that true.
type peerLink struct {
	self, peer int
	addr       string
	run        string
	log        zerolog.Logger
	retryMin   time.Duration
	retryMax   time.Duration
	maxQueued  int
	chunkMsgs  int // messages per chunk at most, so dropping is fine-grained

	mu     sync.Mutex
	chunks [][]byte // encoded messages, oldest first; the last is appended to
	counts []int    // messages in each chunk
	total  int      // messages in all chunks
	free   [][]byte // written chunks, for reuse
	signal chan struct{}

	up      atomic.Bool
	dropLog logLimiter
	authLog logLimiter // the peer failed the handshake
	key     []byte
}

func newPeerLink(self, peer int, addr, run string, key []byte, maxQueued int, retryMax time.Duration, log zerolog.Logger) *peerLink {
	return &peerLink{
		self: self, peer: peer, addr: addr, run: run, log: log, key: key,
		retryMin: min(50*time.Millisecond, retryMax), retryMax: retryMax,
		maxQueued: maxQueued,
		chunkMsgs: max(1, maxQueued/16),
		signal:    make(chan struct{}, 1),
	}
}

// enqueue encodes every envelope addressed to this link's peer. Only the
// node's loop calls it.
func (l *peerLink) enqueue(envs []core.Envelope) {
	l.mu.Lock()
	added := 0
	for i := range envs {
		if envs[i].To != l.peer {
			continue
		}
		k := len(l.chunks) - 1
		if k < 0 || len(l.chunks[k]) >= chunkSize || l.counts[k] >= l.chunkMsgs {
			l.chunks = append(l.chunks, l.newChunk())
			l.counts = append(l.counts, 0)
			k++
		}
		l.chunks[k] = core.AppendMsg(l.chunks[k], &envs[i].Msg)
		l.counts[k]++
		added++
	}
	if added == 0 {
		l.mu.Unlock()
		return
	}
	l.total += added
	dropped := 0
	for l.total > l.maxQueued && len(l.chunks) > 1 {
		dropped += l.counts[0]
		l.total -= l.counts[0]
		l.recycle(l.chunks[0])
		l.chunks[0] = nil
		l.chunks, l.counts = l.chunks[1:], l.counts[1:]
	}
	l.mu.Unlock()
	if dropped > 0 {
		if ok, n := l.dropLog.allow(time.Now()); ok {
			l.log.Warn().Int("suppressed", n).Msgf("control link to Middleware %d: over %d messages queued, dropped the oldest %d",
				l.peer, l.maxQueued, dropped)
		}
	}
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// newChunk and recycle need l.mu.
func (l *peerLink) newChunk() []byte {
	if k := len(l.free); k > 0 {
		c := l.free[k-1]
		l.free = l.free[:k-1]
		return c
	}
	return make([]byte, 0, chunkSize+512)
}

func (l *peerLink) recycle(c []byte) {
	if len(l.free) < maxFreeChunks && cap(c) <= 2*chunkSize {
		l.free = append(l.free, c[:0])
	}
}

// take moves every queued chunk to dst.
func (l *peerLink) take(dst [][]byte) ([][]byte, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	dst = append(dst, l.chunks...)
	n := l.total
	clear(l.chunks)
	l.chunks, l.counts, l.total = l.chunks[:0], l.counts[:0], 0
	return dst, n
}

func (l *peerLink) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// runLink dials and writes until ctx is done.
func (l *peerLink) runLink(ctx context.Context) {
	backoff := l.retryMin
	var downSince time.Time
	everUp := false
	var d net.Dialer
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := d.DialContext(dctx, "tcp", l.addr)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if downSince.IsZero() {
				downSince = time.Now()
				verb := "waiting for"
				if everUp {
					verb = "lost"
				}
				l.log.Info().Msgf("control link: %s Middleware %d at %s (%v), retrying every %v or sooner; %d messages queued",
					verb, l.peer, l.addr, shortErr(err), l.retryMax, l.queued())
			}
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, l.retryMax)
			continue
		}
		err = l.serveConn(ctx, conn, func() {
			if !downSince.IsZero() || !everUp {
				l.log.Info().Msgf("control link to Middleware %d at %s connected; %d messages queued", l.peer, l.addr, l.queued())
			}
			downSince, everUp, backoff = time.Time{}, true, l.retryMin
		})
		if ctx.Err() != nil {
			return
		}
		var hs *handshakeError
		if errors.As(err, &hs) {
			// Not our peer, or not yet listening properly: keep backing
			// off, and say so once in a while rather than on every try.
			if ok, k := l.authLog.allow(time.Now()); ok {
				l.log.Error().Int("suppressed", k).Msgf("control link to Middleware %d at %s: handshake failed: %v; retrying", l.peer, l.addr, hs.err)
			}
			if downSince.IsZero() {
				downSince = time.Now()
			}
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, l.retryMax)
			continue
		}
		downSince = time.Now()
		l.log.Warn().Msgf("control link to Middleware %d at %s lost (%v); reconnecting", l.peer, l.addr, shortErr(err))
	}
}

// handshakeError is a failed handshake on the dialer's side.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// serveConn writes the queue to conn until the connection fails or ctx is
// done. The peer never writes on this connection, so a watcher goroutine's
// read ends exactly when the peer closes it: the link notices at once
// instead of losing the next writes.
func (l *peerLink) serveConn(ctx context.Context, conn net.Conn, connected func()) error {
	conn.SetDeadline(time.Now().Add(dialHandshakeTimeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a stop does not wait for the deadline
	err := dialHandshake(conn, bufio.NewReaderSize(conn, maxHandshakeLine), l.key, l.self, l.peer, l.run)
	stop()
	if err != nil {
		conn.Close()
		if isTimeout(err) {
			err = fmt.Errorf("no answer within %v", dialHandshakeTimeout)
		}
		return &handshakeError{err}
	}
	conn.SetDeadline(time.Time{})
	connected()
	// After the handshake the peer never writes on this connection, so
	// watching it tells exactly when the peer closes it.
	watched := netutil.Watch(conn, nil)
	gone := watched.Gone()
	defer func() {
		l.up.Store(false)
		watched.Close()
	}()
	l.up.Store(true)
	var taken, bufs [][]byte
	for {
		var n int
		taken, n = l.take(taken[:0])
		if n == 0 {
			select {
			case <-l.signal:
				continue
			case <-gone:
				return errors.New("closed by peer")
			case <-ctx.Done():
				return nil
			}
		}
		// net.Buffers consumes the slice it writes, so write a copy and
		// keep taken for recycling.
		bufs = append(bufs[:0], taken...)
		nb := net.Buffers(bufs)
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err := nb.WriteTo(conn)
		l.mu.Lock()
		for i, c := range taken {
			l.recycle(c)
			taken[i] = nil
		}
		l.mu.Unlock()
		clear(bufs)
		if err != nil {
			// What was in this write may or may not have arrived; the
			// core asks again for what it misses (see peerLink), so it
			// is not written again.
			l.log.Debug().Msgf("control link to Middleware %d: %d messages may be lost: %v", l.peer, n, err)
			return err
		}
	}
}

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
