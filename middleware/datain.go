package middleware

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/wire"
)

// dataListener serves the data port: the network program connects and sends
// messages framed with <EOM>, one or many per connection. Messages go to
// the node's loop as strings, in batches; the loop decides whether each is
// a lab message.
//
// Unterminated bytes at the end of a connection that carried a message are
// that message's tail, not a message: the original network program forwards
// whatever its sender wrote after <EOM> (the lab's skeleton sends
// "...<EOM>\n", some students "...<EOM>\n,N1<seq>"), and so does ours
// without -reuse. Our messages need no tail, so it is dropped quietly.
type dataListener struct {
	ln         net.Listener
	maxConns   int
	idle       time.Duration
	maxMessage int
	out        chan<- *batch[string]
	log        zerolog.Logger
	conns      connSet
	tooLarge   logLimiter
	readErrs   logLimiter
}

// run accepts until ctx is done or the listener is closed; connection
// goroutines are tracked by wg.
func (d *dataListener) run(ctx context.Context, wg *sync.WaitGroup) {
	acceptLoop(ctx, d.ln, "data port", d.maxConns, &d.conns, wg, d.log, func(c net.Conn) { d.serve(ctx, c) })
}

func (d *dataListener) serve(ctx context.Context, conn net.Conn) {
	// wire.NewReader keeps a bufio.Reader this large as it is, so br tells
	// what has arrived and not been framed yet.
	br := bufio.NewReaderSize(idleReader{conn: conn, idle: d.idle}, 64<<10)
	r := wire.NewReader(br, d.maxMessage)
	var b *batch[string]
	framed := false // a terminated message came on this connection
	for {
		msg, err := r.Next()
		if err == nil && !r.Terminated() && framed {
			d.log.Debug().Msgf("data port: %d bytes after the last <EOM> from %s: the tail of that message, ignored", len(msg), conn.RemoteAddr())
			continue // io.EOF follows
		}
		if err == nil {
			framed = framed || r.Terminated()
			if b == nil {
				b = dataBatches.get()
			}
			b.items = append(b.items, string(msg))
			// Hand the batch over when no further whole message is
			// already buffered: one channel operation per read from the
			// socket, not per message.
			if len(b.items) < readBatch && completeBuffered(br, eom) {
				continue
			}
			select {
			case d.out <- b:
				b = nil
			case <-ctx.Done():
				return
			}
			continue
		}
		if b != nil {
			select {
			case d.out <- b:
				b = nil
			case <-ctx.Done():
				return
			}
		}
		switch {
		case errors.Is(err, wire.ErrTooLarge):
			if ok, n := d.tooLarge.allow(time.Now()); ok {
				d.log.Error().Int("suppressed", n).Msgf("data port: %v (from %s)", err, conn.RemoteAddr())
			}
			continue
		case errors.Is(err, io.EOF), ctx.Err() != nil, errors.Is(err, net.ErrClosed):
		case isTimeout(err):
			d.log.Debug().Msgf("data port: closed connection from %s idle for %v", conn.RemoteAddr(), d.idle)
		default:
			if ok, n := d.readErrs.allow(time.Now()); ok {
				d.log.Warn().Int("suppressed", n).Msgf("data port: connection from %s failed: %v", conn.RemoteAddr(), err)
			}
		}
		return
	}
}

// readBatch bounds the messages a connection hands to the loop at once.
const readBatch = 256

var eom = []byte(wire.EOM)

// completeBuffered reports whether br already holds a whole message ending
// with term, so that reading it will not block.
func completeBuffered(br *bufio.Reader, term []byte) bool {
	n := br.Buffered()
	if n < len(term) {
		return false
	}
	buf, _ := br.Peek(n)
	return bytes.Contains(buf, term)
}
