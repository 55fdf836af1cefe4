package middleware

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/hostaddr"
)

func TestMergedListenersAcceptOnEach(t *testing.T) {
	a, b := freeListener(t), freeListener(t)
	ln := hostaddr.Merge(a, b)
	out := make(chan *batch[string], 10)
	d := &dataListener{ln: ln, maxConns: 16, idle: time.Minute, out: out, log: testLogger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { d.run(ctx, &wg) })
	for i, addr := range []string{a.Addr().String(), b.Addr().String()} {
		c := dial(t, addr)
		write(t, c, []string{"via a<EOM>", "via b<EOM>"}[i])
		c.Close()
	}
	if got := receive(t, out, 2); !slices.Equal(got, []string{"via a", "via b"}) {
		t.Fatalf("got %q", got)
	}
	if got := hostaddr.Describe(ln); got != a.Addr().String()+" and "+b.Addr().String() {
		t.Errorf("listenAddrs = %q", got)
	}
	cancel()
	if err := ln.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d.conns.closeAll()
	wg.Wait()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := net.Dial("tcp", b.Addr().String()); err == nil {
		t.Fatal("the second listener is still open after Close")
	}
}

func TestNetClientFindsSecondAddress(t *testing.T) {
	var logs logBuffer
	down := freeAddr(t) // nothing listens: like 127.0.0.1 next to the original program
	s := startSink(t, "127.0.0.1:0")
	c := newNetClient(down, false, 100*time.Millisecond, zerolog.New(&logs))
	c.also(s.ln.Addr().String(), down)
	if got := c.addrs.List(); len(got) != 2 {
		t.Fatalf("addrs %q: want the duplicate left out", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.run(ctx) }()
	defer func() { cancel(); <-done }()
	xs, texts := ids(2, 1, 3)
	c.enqueue(xs)
	s.waitAll(t, texts)
	waitFor(t, "the queue to empty", 10*time.Second, func() bool { return c.queued() == 0 })
	if l := logs.String(); strings.Count(l, "network program found at "+s.ln.Addr().String()) != 1 || strings.Contains(l, "unreachable") {
		t.Errorf("want one line saying where the network program was found and no outage, got:\n%s", l)
	}
}
