package middleware

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/netutil"
	"totalorder/middleware/core"
	"totalorder/middleware/wire"
)

// netBatch bounds how many messages the client takes from its queue at once
// (and so how many may be written twice after a reconnect in reuse mode).
const netBatch = 4096

// netClient hands message content to the network program. The node's loop
// enqueues; one goroutine (run) sends. Nothing enqueued is dropped while the
// node runs: if the network program is down the queue waits and the client
// retries with backoff. In reuse mode a message may be written twice after
// a reconnect (the cores ignore duplicates) but it is never lost here.
type netClient struct {
	// addrs are where the network program may listen, tried in turn from
	// addrs[cur], the last one that answered; all are used only by run.
	addrs        []string
	cur          int
	reuse        bool
	log          zerolog.Logger
	retryMin     time.Duration
	retryMax     time.Duration
	dialTimeout  time.Duration
	writeTimeout time.Duration
	// grace bounds the final drain when the node stops.
	grace time.Duration

	mu     sync.Mutex
	queue  []core.Message
	signal chan struct{} // capacity 1: "the queue grew"

	queued atomic.Int64 // queued plus taken but not yet handed over
	up     atomic.Bool
}

func newNetClient(addr string, reuse bool, retryMax time.Duration, log zerolog.Logger) *netClient {
	c := &netClient{
		addrs:        []string{addr},
		reuse:        reuse,
		log:          log,
		retryMin:     50 * time.Millisecond,
		retryMax:     retryMax,
		dialTimeout:  2 * time.Second,
		writeTimeout: 10 * time.Second,
		grace:        time.Second,
		signal:       make(chan struct{}, 1),
	}
	if c.retryMin > c.retryMax {
		c.retryMin = c.retryMax
	}
	// One connection per message is never tried before there is a message
	// (an empty connection can hang the original network program), so until
	// a first attempt fails it counts as reachable.
	c.up.Store(!reuse)
	return c
}

// also adds addresses to try when the network program does not answer at
// the first (the original program listens on the host's own address, not
// on 127.0.0.1). Call it before run.
func (c *netClient) also(addrs ...string) {
	for _, a := range addrs {
		if !slices.Contains(c.addrs, a) {
			c.addrs = append(c.addrs, a)
		}
	}
}

// where names the address in use, or all of them (reading only addrs,
// fixed before run starts, so any goroutine may ask for all).
func (c *netClient) where(all bool) string {
	if !all || len(c.addrs) == 1 {
		return c.addrs[c.cur]
	}
	return strings.Join(c.addrs, " or ")
}

// enqueue adds ids to the end of the queue; it never blocks on the network.
func (c *netClient) enqueue(ids []core.Message) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	c.queue = append(c.queue, ids...)
	c.mu.Unlock()
	c.queued.Add(int64(len(ids)))
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// take appends queued ids to batch, up to netBatch in all.
func (c *netClient) take(batch []core.Message) []core.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := min(len(c.queue), netBatch-len(batch))
	if k <= 0 {
		return batch
	}
	batch = append(batch, c.queue[:k]...)
	if k == len(c.queue) {
		c.queue = c.queue[:0]
	} else {
		c.queue = c.queue[k:] // append reallocates later and reclaims the front
	}
	return batch
}

func (c *netClient) queueEmpty() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) == 0
}

// appendText appends m's human part, exactly core.Message.Text(), without
// allocating.
func appendText(dst []byte, m core.Message) []byte {
	dst = append(dst, "Msg #"...)
	dst = strconv.AppendUint(dst, m.ID.Num, 10)
	dst = append(dst, " from Middleware "...)
	dst = strconv.AppendInt(dst, int64(m.ID.Sender), 10)
	if m.Body != "" {
		dst = append(dst, ": "...)
		dst = append(dst, m.Body...)
	}
	return dst
}

// netConn is one connection to the network program in reuse mode, watched
// for the network program closing it (writing to it would lose messages).
type netConn struct {
	conn *netutil.Watched
	bw   *bufio.Writer
}

func (nc *netConn) closed() bool { return nc.conn.Closed() }

// close closes the connection and waits for its watcher goroutine.
func (nc *netConn) close() { nc.conn.Close() }

// dial connects to the network program: at the address that answered last,
// else at the others in turn. Connecting (without writing) is harmless to
// the original program; only an empty connection would hang it.
func (c *netClient) dial(deadline time.Time) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var d net.Dialer
	var first error
	for k := range c.addrs {
		i := (c.cur + k) % len(c.addrs)
		conn, err := d.DialContext(ctx, "tcp", c.addrs[i])
		if err == nil {
			if i != c.cur {
				c.log.Info().Msgf("network program found at %s", c.addrs[i])
				c.cur = i
			}
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

func (c *netClient) dialReuse(deadline time.Time) (*netConn, error) {
	conn, err := c.dial(deadline)
	if err != nil {
		return nil, err
	}
	return &netConn{conn: netutil.Watch(conn, nil), bw: bufio.NewWriterSize(conn, 64<<10)}, nil
}

// run sends until ctx is done, then drains what is queued for at most the
// grace period if the network program is reachable.
func (c *netClient) run(ctx context.Context) {
	var (
		nc        *netConn       // reuse mode only
		batch     []core.Message // taken from the queue, not yet handed over
		written   int            // reuse mode: how many of batch are in nc's buffer
		frame     []byte         // scratch for one framed message
		backoff   = c.retryMin
		downSince time.Time // start of the current outage
		stopBy    time.Time // set once ctx is done: end of the final drain
	)
	defer func() {
		if nc != nil {
			nc.close()
		}
	}()
	for {
		if stopBy.IsZero() && ctx.Err() != nil {
			stopBy = time.Now().Add(c.grace)
		}
		if nc != nil && nc.closed() {
			nc.close()
			nc, written = nil, 0
		}
		batch = c.take(batch)
		if len(batch) == 0 {
			if !stopBy.IsZero() {
				return
			}
			if !c.reuse || nc != nil {
				var gone <-chan struct{}
				if nc != nil {
					gone = nc.conn.Gone()
				}
				select {
				case <-c.signal:
				case <-gone: // reconnect now, so Status tells the truth
				case <-ctx.Done():
				}
				continue
			}
			// Reuse mode connects before the first message so that
			// Status shows whether the network program is there.
		}

		deadline := time.Now().Add(c.writeTimeout)
		if !stopBy.IsZero() && stopBy.Before(deadline) {
			deadline = stopBy
		}
		var err error
		if c.reuse {
			if nc == nil {
				nc, err = c.dialReuse(minTime(deadline, time.Now().Add(c.dialTimeout)))
			}
			if err == nil {
				nc.conn.SetWriteDeadline(deadline)
				for ; written < len(batch) && err == nil; written++ {
					frame = appendText(frame[:0], batch[written])
					frame = append(frame, wire.EOM...)
					_, err = nc.bw.Write(frame)
				}
				// Flush when nothing more is waiting (or the batch is
				// full); otherwise keep filling the buffer.
				if err == nil && (len(batch) >= netBatch || c.queueEmpty()) {
					if err = nc.bw.Flush(); err == nil {
						c.queued.Add(-int64(len(batch)))
						batch, written = batch[:0], 0
					}
				}
			}
			if err != nil && nc != nil {
				nc.close()
				nc, written = nil, 0
			}
		} else {
			sent := 0
			for sent < len(batch) {
				if err = c.sendOne(batch[sent], deadline, &frame); err != nil {
					break
				}
				sent++
			}
			c.queued.Add(-int64(sent))
			batch = append(batch[:0], batch[sent:]...)
		}

		if err == nil {
			if !downSince.IsZero() {
				c.log.Info().Msgf("network program at %s reachable again after %v; %d messages queued",
					c.where(false), time.Since(downSince).Round(time.Millisecond), c.queued.Load())
				downSince = time.Time{}
			}
			backoff = c.retryMin
			c.up.Store(true)
			continue
		}
		c.up.Store(false)
		if !stopBy.IsZero() {
			c.log.Warn().Msgf("stopping: %d messages not handed to the network program at %s: %v", c.queued.Load(), c.where(true), err)
			return
		}
		if downSince.IsZero() {
			downSince = time.Now()
			c.log.Warn().Msgf("network program at %s unreachable (%v), retrying every %v or sooner; %d messages queued",
				c.where(true), err, c.retryMax, c.queued.Load())
		}
		if !sleepCtx(ctx, backoff) {
			n := c.queued.Load()
			if n > 0 {
				c.log.Warn().Msgf("stopping: %d messages not handed to the network program at %s (unreachable)", n, c.where(true))
			}
			return
		}
		backoff = min(2*backoff, c.retryMax)
	}
}

// sendOne hands one message over on a connection of its own, as the
// original network program expects.
func (c *netClient) sendOne(id core.Message, deadline time.Time, frame *[]byte) error {
	conn, err := c.dial(minTime(deadline, time.Now().Add(c.dialTimeout)))
	if err != nil {
		return err
	}
	conn.SetWriteDeadline(deadline)
	*frame = appendText((*frame)[:0], id)
	*frame = append(*frame, wire.EOM...)
	_, err = conn.Write(*frame)
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	return err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
