package netsim

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"totalorder/middleware/wire"
)

// countingSink is a destination that only counts messages, to keep the
// benchmark's own cost low. done is closed once want messages arrived.
type countingSink struct {
	ln    net.Listener
	count atomic.Int64
	want  int64
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newCountingSink(b *testing.B, want int64) *countingSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	k := &countingSink{ln: ln, want: want, done: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k.mu.Lock()
			k.conns[c] = struct{}{}
			k.mu.Unlock()
			k.wg.Add(1)
			go k.read(c)
		}
	}()
	return k
}

func (k *countingSink) read(c net.Conn) {
	defer k.wg.Done()
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.mu.Unlock()
		_ = c.Close()
	}()
	r := wire.NewReader(c, 0)
	for {
		if _, err := r.Next(); err != nil {
			return
		}
		if !r.Terminated() {
			continue // the tail of the message before it, not a message
		}
		if k.count.Add(1) == k.want {
			k.once.Do(func() { close(k.done) })
		}
	}
}

func (k *countingSink) close() {
	_ = k.ln.Close()
	k.mu.Lock()
	for c := range k.conns {
		_ = c.Close()
	}
	k.mu.Unlock()
	k.wg.Wait()
}

// BenchmarkRelay measures the raw relay (max-sleep 0) to five loopback
// sinks: senders write as fast as they can on kept-open connections; one
// op is one message. It reports messages accepted per second (until the
// relay has read them all) and copies delivered per second (until every
// sink has every copy, counted as messages). Without reuse the relay
// frames as the original does, so what one read of a sender brought
// (often many messages) travels as one copy, and only copies/s says how
// fast; the conn-per-msg run sends each message on a connection of its
// own, as our middleware does by default and as the original expects.
func BenchmarkRelay(b *testing.B) {
	for _, mode := range modes {
		for _, senders := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/senders=%d", mode.name, senders), func(b *testing.B) {
				benchmarkRelay(b, mode.reuse, senders, 0, false)
			})
		}
	}
	b.Run("per-connection/conn-per-msg/senders=4", func(b *testing.B) {
		benchmarkRelay(b, false, 4, 0, true)
	})
	// For comparison: the delay queue's heap and timer in use.
	b.Run("reuse-max-sleep-1ms/senders=4", func(b *testing.B) {
		benchmarkRelay(b, true, 4, time.Millisecond, false)
	})
}

func benchmarkRelay(b *testing.B, reuse bool, senders int, maxSleep time.Duration, connPerMsg bool) {
	const dests = 5
	n := b.N
	sinks := make([]*countingSink, dests)
	var addrs []string
	for i := range sinks {
		sinks[i] = newCountingSink(b, int64(n))
		addrs = append(addrs, sinks[i].ln.Addr().String())
	}
	s, err := New(Config{Dests: addrs, Reuse: reuse, MaxSleep: maxSleep, Quiet: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
		for _, k := range sinks {
			k.close()
		}
	}()

	conns := make([]net.Conn, senders)
	for i := range conns {
		if connPerMsg {
			continue
		}
		if conns[i], err = net.Dial("tcp", s.Addr().String()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		if connPerMsg {
			go func() {
				defer wg.Done()
				var buf []byte
				for k := i; k < n; k += senders {
					c, err := net.Dial("tcp", s.Addr().String())
					if err != nil {
						b.Error(err)
						return
					}
					buf = fmt.Appendf(buf[:0], "Msg #%d from Middleware %d", k/senders+1, i+1)
					buf = append(buf, wire.EOM...)
					if _, err := c.Write(buf); err != nil {
						b.Error(err)
					}
					_ = c.Close()
				}
			}()
			continue
		}
		go func() {
			defer wg.Done()
			defer c.Close()
			w := bufio.NewWriterSize(c, 32<<10)
			var buf []byte
			for k := i; k < n; k += senders {
				buf = fmt.Appendf(buf[:0], "Msg #%d from Middleware %d", k/senders+1, i+1)
				buf = append(buf, wire.EOM...)
				if _, err := w.Write(buf); err != nil {
					b.Error(err)
					return
				}
			}
			if err := w.Flush(); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	// Without reuse a sender's read is one message, however many it
	// holds: accepted messages then say nothing about throughput.
	countsMessages := reuse || connPerMsg
	// Accepted has no signal of its own; poll it finely.
	for countsMessages && s.Stats().Accepted < uint64(n) {
		time.Sleep(200 * time.Microsecond)
	}
	accepted := time.Since(start)
	timeout := time.After(5 * time.Minute)
	for _, k := range sinks {
		select {
		case <-k.done:
		case <-timeout:
			b.Fatalf("sinks did not get every copy: stats %+v", s.Stats())
		}
	}
	delivered := time.Since(start)
	b.StopTimer()
	if countsMessages {
		b.ReportMetric(float64(n)/accepted.Seconds(), "msgs/s-accepted")
	}
	b.ReportMetric(float64(n*dests)/delivered.Seconds(), "copies/s-delivered")
}
