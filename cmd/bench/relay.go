package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/wire"
)

// relayCeiling measures the raw relay: the network program (the same
// binary the ordered runs use, as its own process) relays messages from
// senders concurrent senders to sinks counting sinks, with no delay and
// no ordering. Senders send as the middleware does: one connection each
// with reuse, else one connection per message. It returns copies per
// second per sink (each sink's count over the time it took to get all of
// them, averaged over the sinks).
func relayCeiling(ctx context.Context, bin string, reuse bool, senders, sinks, messages int, progress func(string)) (float64, error) {
	base, err := lab.FreeBlock(sinks)
	if err != nil {
		return 0, err
	}
	var (
		wg  sync.WaitGroup
		all []*countingSink
	)
	defer func() {
		for _, k := range all {
			k.close()
		}
		wg.Wait()
	}()
	for i := 1; i <= sinks; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
		if err != nil {
			return 0, fmt.Errorf("sink %d: %w", i, err)
		}
		k := &countingSink{ln: ln, want: int64(messages), done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
		all = append(all, k)
		wg.Add(1)
		go func() { defer wg.Done(); k.serve(&wg) }()
	}
	l, err := lab.StartNetOnly(lab.Config{Bin: bin, N: sinks, BasePort: base, Reuse: reuse})
	if err != nil {
		return 0, err
	}
	defer l.Stop()

	addr := "127.0.0.1:" + strconv.Itoa(base)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	sendErr := make(chan error, senders)
	start := time.Now()
	for s := 1; s <= senders; s++ {
		count := messages / senders
		if s <= messages%senders {
			count++
		}
		go func() { sendErr <- send(ctx, addr, s, count, reuse) }() // owner: this function, which waits for it below
	}
	var firstErr error
	for range senders { // wait for every sender, so none outlives this call
		if err := <-sendErr; err != nil && firstErr == nil {
			firstErr = err
			cancel() // the others stop at their next connection
		}
	}
	if firstErr != nil {
		return 0, fmt.Errorf("relay sender: %w", firstErr)
	}
	var sum float64
	for i, k := range all {
		for done := false; !done; {
			select {
			case <-k.done:
				done = true
			case <-ctx.Done():
				return 0, fmt.Errorf("sink %d got %d of %d copies: %w; the network program said: %s",
					i+1, k.count.Load(), messages, ctx.Err(), lastLines(l.Output(0), 5))
			case <-time.After(100 * time.Millisecond):
				progress(fmt.Sprintf("sink %d has %d/%d copies", i+1, k.count.Load(), messages))
			}
		}
		sum += float64(messages) / k.doneAt.Sub(start).Seconds()
	}
	return sum / float64(sinks), nil
}

// connsPerSender bounds one sender's concurrent connections when it uses
// a connection per message.
const connsPerSender = 32

// send hands count messages "Msg #k from Middleware id" to the network
// program at addr: on one connection with reuse, else on a connection per
// message. Per message, it keeps at most connsPerSender connections open
// and closes each only after the relay has: the relay caps its open sender
// connections (1024) by closing those idle longest, including ones whose
// message it has not read yet, so a sender that closes at once and runs
// ahead of the relay (as a middleware does) would lose messages.
func send(ctx context.Context, addr string, id, count int, reuse bool) error {
	var d net.Dialer
	frame := func(k int) []byte {
		return append(fmt.Appendf(nil, "Msg #%d from Middleware %d", k, id), wire.EOM...)
	}
	if reuse {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		// A write blocked on a stuck relay ends when ctx does.
		unblock := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
		defer unblock()
		w := bufio.NewWriterSize(c, 64<<10)
		var buf []byte
		for k := 1; k <= count; k++ {
			buf = append(fmt.Appendf(buf[:0], "Msg #%d from Middleware %d", k, id), wire.EOM...)
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	next := make(chan int)
	errs := make(chan error, connsPerSender)
	for range connsPerSender {
		go func() { // owner: this call, which waits for every worker below
			var err error
			for k := range next {
				if err == nil {
					err = sendOne(ctx, &d, addr, frame(k))
				}
			}
			errs <- err
		}()
	}
	for k := 1; k <= count && ctx.Err() == nil; k++ {
		next <- k
	}
	close(next)
	var first error
	for range connsPerSender {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// sendOne sends one message on a connection of its own and waits until
// the relay, having read it, closes its side.
func sendOne(ctx context.Context, d *net.Dialer, addr string, msg []byte) error {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, c) // returns at the relay's close
	return err
}

// countingSink stands where a middleware's data port would be and only
// counts the messages relayed to it.
type countingSink struct {
	ln     net.Listener
	want   int64
	count  atomic.Int64
	done   chan struct{} // closed when want messages arrived
	doneAt time.Time     // set before done is closed
	once   sync.Once
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// serve accepts until the listener is closed; each connection's reader
// is tracked by wg and ends when close closes the connection.
func (k *countingSink) serve(wg *sync.WaitGroup) {
	for {
		c, err := k.ln.Accept()
		if err != nil {
			return
		}
		k.mu.Lock()
		if k.conns == nil { // closed meanwhile
			k.mu.Unlock()
			c.Close()
			return
		}
		k.conns[c] = struct{}{}
		k.mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); k.read(c) }()
	}
}

func (k *countingSink) read(c net.Conn) {
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.mu.Unlock()
		c.Close()
	}()
	r := wire.NewReader(c, 0)
	for {
		if _, err := r.Next(); err != nil {
			return // EOF after a per-message connection's message, or closed
		}
		if k.count.Add(1) == k.want {
			k.once.Do(func() { k.doneAt = time.Now(); close(k.done) })
		}
	}
}

// close stops accepting and ends every reader.
func (k *countingSink) close() {
	k.ln.Close()
	k.mu.Lock()
	for c := range k.conns {
		c.Close()
	}
	k.conns = nil
	k.mu.Unlock()
}

// lastLines is the last n lines of s, on one line.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
