package middleware

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/sender"
	"totalorder/middleware/core"
	"totalorder/middleware/wire"
)

// netBatch bounds how many messages the client takes from its queue at once
// (and so how many may be written twice after a reconnect in reuse mode).
const netBatch = 4096

// netClient hands message content to the network program: a sender.Sender
// of messages, one per connection like the original, or one kept-open
// connection with -reuse. Nothing enqueued is dropped while the node runs:
// if the network program is down the queue waits and the client retries
// with backoff. In reuse mode a message may be written twice after a
// reconnect (the cores ignore duplicates) but it is never lost here. At
// stop it drains what is queued for at most the grace period, if the
// network program is reachable.
type netClient struct {
	// addrs are where the network program may listen (the original
	// listens on the host's own address, not on 127.0.0.1).
	addrs       *sender.Addrs
	reuse       bool
	retryMax    time.Duration
	dialTimeout time.Duration
	log         zerolog.Logger
	out         *sender.Sender[core.Message]
}

func newNetClient(addr string, reuse bool, retryMax time.Duration, log zerolog.Logger) *netClient {
	c := &netClient{
		addrs:       sender.NewAddrs(addr),
		reuse:       reuse,
		retryMax:    retryMax,
		dialTimeout: 2 * time.Second,
		log:         log,
	}
	c.addrs.Moved = func(at string) { c.log.Info().Msgf("network program found at %s", at) }
	c.out = sender.New(sender.Config[core.Message]{
		Dial:   func(ctx context.Context) (net.Conn, error) { return c.addrs.Dial(ctx, c.dialTimeout) },
		Append: appendFrame,
		Reuse:  reuse,
		// Reuse mode connects before the first message so that Status
		// shows whether the network program is there. One connection per
		// message is never tried before there is a message (an empty
		// connection can hang the original network program), so until a
		// first attempt fails it counts as reachable.
		ConnectEarly: reuse,
		UpAtStart:    !reuse,
		Batch:        netBatch,
		RetryMin:     min(50*time.Millisecond, retryMax),
		RetryMax:     retryMax,
		WriteTimeout: 10 * time.Second,
		Resend:       true,
		DrainFor:     time.Second,
		Hooks: sender.Hooks[core.Message]{
			Failed: func(err error, outage bool, _ time.Duration) {
				if outage {
					c.log.Warn().Msgf("network program at %s unreachable (%v), retrying every %v or sooner; %d messages queued",
						c.where(true), err, c.retryMax, c.queued())
				}
			},
			Up: func(down time.Duration) {
				if down > 0 {
					c.log.Info().Msgf("network program at %s reachable again after %v; %d messages queued",
						c.where(false), down.Round(time.Millisecond), c.queued())
				}
			},
			Dropped: func(ms []core.Message, _ sender.Reason) {
				// Only a stop abandons: nothing is refused, lost or given up.
				why := "unreachable"
				if c.up() {
					why = "not taken within the grace period"
				}
				c.log.Warn().Msgf("stopping: %d messages not handed to the network program at %s (%s)", len(ms), c.where(true), why)
			},
		},
	})
	return c
}

// also adds addresses to try when the network program does not answer at
// the first. Call it before run.
func (c *netClient) also(addrs ...string) { c.addrs.Add(addrs...) }

// where names the address in use, or all of them.
func (c *netClient) where(all bool) string {
	if all {
		return c.addrs.String()
	}
	return c.addrs.Current()
}

// enqueue adds ids to the end of the queue; it never blocks on the network.
func (c *netClient) enqueue(ids []core.Message) { c.out.Put(ids...) }

// up reports whether the network program answered the last attempt.
func (c *netClient) up() bool { return c.out.Up() }

// queued counts the messages not yet handed over.
func (c *netClient) queued() int { return c.out.Queued() }

// run sends until ctx is done, then drains what is queued for at most the
// grace period if the network program is reachable.
func (c *netClient) run(ctx context.Context) {
	c.out.Run(ctx, context.Background()) // DrainFor ends the drain
}

// appendFrame appends m framed for the network program.
func appendFrame(dst []byte, m core.Message) []byte {
	return append(appendText(dst, m), wire.EOM...)
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
