package netsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"totalorder/internal/hostaddr"
	"totalorder/middleware/wire"
)

var modes = []struct {
	name  string
	reuse bool
}{{"per-connection", false}, {"reuse", true}}

// reservePort returns a loopback address nothing listens on (yet).
func reservePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestFramingThroughServer writes messages one per connection, many per
// connection and cut at every point. With reuse every <EOM> ends a
// message; without it a read is one message (compat_test.go has the bytes),
// and yet a receiver that splits at <EOM>, as our middleware does, gets
// every message once, however the reads fall. Neither forwards bytes with
// no <EOM> after them.
func TestFramingThroughServer(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			k1, k2 := newSink(t), newSink(t)
			r := startServer(t, Config{Reuse: mode.reuse}, k1, k2)
			addr := r.Addr().String()

			send(t, addr, "one")                  // one message per connection
			send(t, addr, "two", "three", "four") // many per connection, one write
			sendRaw(t, addr, []byte("fi"), []byte("ve<E"), []byte("OM>six<"), []byte("EOM"), []byte(">"))
			sendRaw(t, addr, []byte("seven<EOM>eight")) // a tail, or an unterminated rest
			sendRaw(t, addr, []byte("nine"))            // unterminated, nothing before it

			want := []string{"five", "four", "one", "seven", "six", "three", "two"}
			for _, k := range []*sink{k1, k2} {
				k.waitFor(len(want))
			}
			st := r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
			for _, k := range []*sink{k1, k2} {
				got := messages(k.received())
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("sink %s got %q, want %q", k.addr(), got, want)
				}
			}
			// Without reuse "two three four" is one message, and "five" and
			// "six" are one or two as the reads fell.
			lo, hi := uint64(4), uint64(5)
			if mode.reuse {
				lo, hi = 7, 7
			}
			if st.Accepted < lo || st.Accepted > hi || st.Delivered != 2*st.Accepted || st.Incomplete != 1 {
				t.Errorf("accepted %d (want %d to %d) delivered %d incomplete %d (want 1)", st.Accepted, lo, hi, st.Delivered, st.Incomplete)
			}
		})
	}
}

func TestDeliveryToFiveSinks(t *testing.T) {
	const (
		maxSleep  = 200 * time.Millisecond
		slack     = 2 * time.Second // scheduling on a busy machine under -race
		senders   = 4
		perSender = 10
		total     = senders * perSender
	)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			sinks := make([]*sink, 5)
			for i := range sinks {
				sinks[i] = newSink(t)
			}
			r := startServer(t, Config{MaxSleep: maxSleep, Reuse: mode.reuse, Seed: 5}, sinks...)
			addr := r.Addr().String()

			var mu sync.Mutex
			sentAt := make(map[string]time.Time)
			var wg sync.WaitGroup
			for s := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Half the senders use one connection per message,
					// half one connection for all of theirs.
					var shared net.Conn
					for i := range perSender {
						msg := fmt.Sprintf("Msg #%d from Middleware %d", i+1, s+1)
						c := shared
						if c == nil {
							var err error
							if c, err = net.Dial("tcp", addr); err != nil {
								t.Errorf("dial: %v", err)
								return
							}
							if s%2 == 1 {
								shared = c
							}
						}
						mu.Lock()
						sentAt[msg] = time.Now()
						mu.Unlock()
						if _, err := c.Write(wire.Frame([]byte(msg))); err != nil {
							t.Errorf("write: %v", err)
						}
						if shared == nil {
							_ = c.Close()
						}
					}
					if shared != nil {
						_ = shared.Close()
					}
				}()
			}
			wg.Wait()

			arrivals := make([]map[string]time.Time, len(sinks))
			orders := make([][]string, len(sinks))
			for _, k := range sinks {
				k.waitFor(total)
			}
			r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
			var longest time.Duration
			for i, k := range sinks {
				got := k.received()
				orders[i] = messages(got)
				arrivals[i] = make(map[string]time.Time)
				for _, a := range got {
					if _, dup := arrivals[i][a.msg]; dup {
						t.Errorf("sink %d got %q twice", i, a.msg)
					}
					arrivals[i][a.msg] = a.at
					sent, ok := sentAt[a.msg]
					if !ok {
						t.Errorf("sink %d got unknown message %q", i, a.msg)
						continue
					}
					d := a.at.Sub(sent)
					if d < 0 || d > maxSleep+slack {
						t.Errorf("sink %d: %q took %v, want within [0, %v]", i, a.msg, d, maxSleep+slack)
					}
					longest = max(longest, d)
				}
				if len(got) != total {
					t.Errorf("sink %d got %d messages, want %d", i, len(got), total)
				}
			}
			if longest < maxSleep/4 {
				t.Errorf("longest relay time %v: delays are not being applied", longest)
			}

			// Independent delays: destinations see messages in different
			// orders, and one message reaches them at spread-out times.
			differ := false
			for i := 1; i < len(orders); i++ {
				differ = differ || !slices.Equal(orders[0], orders[i])
			}
			if !differ {
				t.Errorf("all five destinations saw the same order: delays are not independent")
			}
			var spread time.Duration
			for msg := range sentAt {
				first, last := arrivals[0][msg], arrivals[0][msg]
				for _, a := range arrivals[1:] {
					if a[msg].Before(first) {
						first = a[msg]
					}
					if a[msg].After(last) {
						last = a[msg]
					}
				}
				spread += last.Sub(first)
			}
			// Five independent uniform delays on [0, 200ms] span about
			// 133ms on average; shared delays would span almost nothing.
			if mean := spread / total; mean < maxSleep/6 {
				t.Errorf("mean spread of one message's arrival times %v: delays look shared between destinations", mean)
			}
		})
	}
}

func TestDestinationDownThenUp(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			up1, up2 := newSink(t), newSink(t)
			downAddr := reservePort(t)
			r := startServer(t, Config{Reuse: mode.reuse, Dests: []string{up1.addr(), downAddr, up2.addr()}})

			sendEach(t, r.Addr().String(), "a", "b", "c")
			up1.waitFor(3)
			up2.waitFor(3)
			r.waitStats(t, "destination 2 down", func(st Stats) bool {
				return !st.Dests[1].Up && st.Dests[1].InFlight == 3
			})

			late := newSinkAt(t, downAddr)
			got := messages(late.waitFor(3))
			slices.Sort(got)
			if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
				t.Errorf("late destination got %q, want %q", got, want)
			}
			st := r.waitStats(t, "all delivered", func(st Stats) bool { return st.InFlight == 0 })
			if st.Delivered != 9 || st.Failed != 0 || !st.Dests[1].Up {
				t.Errorf("stats after recovery: %+v", st)
			}
			if n := len(up1.received()); n != 3 {
				t.Errorf("up destination got %d messages, want 3", n)
			}
		})
	}
}

func TestReuseReconnectsWhenDestinationCloses(t *testing.T) {
	k := newSink(t)
	r := startServer(t, Config{Reuse: true}, k)
	send(t, r.Addr().String(), "first")
	k.waitFor(1)
	r.waitStats(t, "connected", func(st Stats) bool { return st.Dests[0].Connected && st.Delivered == 1 })

	k.dropConns()
	r.waitStats(t, "the break noticed", func(st Stats) bool { return !st.Dests[0].Connected })
	send(t, r.Addr().String(), "second")
	if got := messages(k.waitFor(2)); got[1] != "second" {
		t.Errorf("got %q", got)
	}
	st := r.waitStats(t, "delivered", func(st Stats) bool { return st.InFlight == 0 })
	if d := st.Dests[0]; d.Connects != 2 || d.Delivered != 2 || d.Failed != 0 || !d.Up {
		t.Errorf("destination stats %+v", d)
	}
}

func TestUnreachableDestinationCountsFailed(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			up := newSink(t)
			r := startServer(t, Config{
				Reuse:    mode.reuse,
				RetryFor: 100 * time.Millisecond,
				Dests:    []string{up.addr(), reservePort(t)},
			})
			sendEach(t, r.Addr().String(), "x", "y")
			up.waitFor(2)
			st := r.waitStats(t, "copies to the dead destination failed", func(st Stats) bool { return st.Failed == 2 && st.InFlight == 0 })
			if st.Delivered != 2 || st.InFlight != 0 || st.Dests[1].Failed != 2 || st.Dests[0].Failed != 0 {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

func TestBadInputThenNormalTraffic(t *testing.T) {
	k := newSink(t)
	r := startServer(t, Config{MaxMessage: 1024}, k)
	addr := r.Addr().String()

	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 700)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	garbage = bytes.ReplaceAll(garbage, []byte(">"), []byte("?")) // no accidental terminator

	sendRaw(t, addr, garbage, []byte(wire.EOM))                           // relayed as ASCII
	sendRaw(t, addr, bytes.Repeat([]byte("x"), 5000))                     // oversized, never terminated
	sendRaw(t, addr, append(bytes.Repeat([]byte("y"), 1500), "<EOM>"...)) // oversized in one write
	sendRaw(t, addr, bytes.Repeat([]byte("z"), 3000), []byte("<EOM>"))    // oversized over several reads
	sendRaw(t, addr, []byte{0, 0xff, '<', 'E', 'O'}, []byte("<EOM>"))     // junk with a partial terminator
	send(t, addr, "normal")

	want := []string{string(appendASCII(nil, garbage)), "\x00?<EO", "normal"}
	k.waitFor(len(want))
	st := r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
	got := messages(k.received())
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %d messages %.40q, want %.40q", len(got), got, want)
	}
	if st.Rejected != 3 || st.Incomplete != 0 {
		t.Errorf("rejected %d incomplete %d, want 3 and 0", st.Rejected, st.Incomplete)
	}
}

func TestConnectionFlood(t *testing.T) {
	k := newSink(t)
	const limit = 8
	r := startServer(t, Config{MaxConns: limit}, k)
	addr := r.Addr().String()

	var idle []net.Conn
	t.Cleanup(func() {
		for _, c := range idle {
			_ = c.Close()
		}
	})
	for range 5 * limit {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		idle = append(idle, c)
	}
	send(t, addr, "through")
	if got := messages(k.waitFor(1)); got[0] != "through" {
		t.Errorf("got %q", got)
	}
	if st := r.Stats(); st.Conns > limit {
		t.Errorf("%d sender connections open, limit %d", st.Conns, limit)
	}
}

// At the connection cap, senders that write one message and close at once
// (the original program's way, and our middleware's default) must not
// lose it to the cap: a connection just accepted is never the one closed.
func TestConnectionCapLosesNothing(t *testing.T) {
	k := newSink(t)
	const limit, senders = 4, 200
	r := startServer(t, Config{MaxConns: limit, MaxSleep: 0}, k)
	addr := r.Addr().String()
	var wg sync.WaitGroup
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(t, addr, fmt.Sprintf("m%d", i))
		}()
	}
	wg.Wait()
	if got := k.waitFor(senders); len(got) != senders {
		t.Fatalf("%d of %d messages arrived", len(got), senders)
	}
	if st := r.Stats(); st.Accepted != senders {
		t.Errorf("accepted %d, want %d", st.Accepted, senders)
	}
}

func TestIdleSenderIsClosed(t *testing.T) {
	k := newSink(t)
	r := startServer(t, Config{IdleTimeout: 100 * time.Millisecond}, k)
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read on an idle connection: %v, want EOF (closed by the server)", err)
	}
}

func TestFaultInjection(t *testing.T) {
	k1, k2 := newSink(t), newSink(t)
	r := startServer(t, Config{Drop: 1}, k1, k2)
	addr := r.Addr().String()

	sendEach(t, addr, "a", "b", "c")
	// Accepted counts a message before its copies are dropped: wait for both.
	st := r.waitStats(t, "three accepted and dropped", func(st Stats) bool { return st.Accepted == 3 && st.Dropped == 6 })
	// Dropped copies never enter a queue, so nothing can still arrive.
	if st.Dropped != 6 || st.Delivered != 0 || st.InFlight != 0 {
		t.Errorf("drop=1: %+v", st)
	}
	if n := len(k1.received()) + len(k2.received()); n != 0 {
		t.Errorf("drop=1 delivered %d copies", n)
	}

	r.SetDrop(0)
	r.SetDup(1)
	sendEach(t, addr, "d", "e")
	for _, k := range []*sink{k1, k2} {
		k.waitFor(4)
	}
	st = r.waitStats(t, "nothing in flight", func(st Stats) bool { return st.InFlight == 0 })
	if st.Duplicated != 4 || st.Delivered != 8 {
		t.Errorf("dup=1: %+v", st)
	}
	for _, k := range []*sink{k1, k2} {
		got := messages(k.received())
		slices.Sort(got)
		if want := []string{"d", "d", "e", "e"}; !slices.Equal(got, want) {
			t.Errorf("dup=1: sink got %q, want %q", got, want)
		}
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s, err := New(Config{Port: port, Dests: []string{"127.0.0.1:1"}})
	if err == nil {
		_ = s.Close()
		t.Fatal("New on a port in use succeeded")
	}
	var inUse *PortInUseError
	if !errors.As(err, &inUse) || inUse.Port != port {
		t.Fatalf("error %v (%T), want *PortInUseError for port %d", err, err, port)
	}
	want := fmt.Sprintf("port %d is already in use on 127.0.0.1 (another network program running?): stop it or pass -port", port)
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

// The original program listens on this host's address only: our network
// program, which also listens there by default, refuses to start beside
// it rather than serve 127.0.0.1 alone.
func TestPortInUseOnHostAddress(t *testing.T) {
	ip := hostIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s, err := New(Config{Port: port, N: 1})
	if err == nil {
		_ = s.Close()
		t.Fatalf("New started with port %d taken on %s", port, ip)
	}
	var inUse *PortInUseError
	if !errors.As(err, &inUse) || inUse.Host != ip.String() || !inUse.HostAddr {
		t.Fatalf("error %v (%T), want *PortInUseError on %s", err, err, ip)
	}
	want := fmt.Sprintf("port %d is already in use on %s, this host's address where the original network program listens (is Network.exe or another netsim running?): stop it or pass -port", port, ip)
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	// 127.0.0.1 was bound first: it must be free again.
	again, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("127.0.0.1:%d left bound after the refusal: %v", port, err)
	}
	_ = again.Close()
}

// hostIP is an address of this host other than loopback, where the
// original program listens; the test is skipped on a host without one.
func hostIP(t *testing.T) net.IP {
	t.Helper()
	for _, a := range hostaddr.IPv4s() {
		if !a.IsLoopback() {
			return a
		}
	}
	t.Skip("this host has no address but loopback")
	return nil
}

func TestShutdownDeliversInFlightCopies(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			k := newSink(t)
			r := startServer(t, Config{MaxSleep: time.Hour, Reuse: mode.reuse}, k)
			sendEach(t, r.Addr().String(), "a", "b")
			r.waitStats(t, "two in flight", func(st Stats) bool { return st.InFlight == 2 })
			idle, err := net.Dial("tcp", r.Addr().String()) // must not hold up shutdown
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()

			r.stop(t)
			k.waitFor(2)
			st := r.Stats()
			if st.Delivered != 2 || st.Abandoned != 0 || st.InFlight != 0 {
				t.Errorf("after shutdown: %+v", st)
			}
			checkNoServerGoroutines(t)
		})
	}
}

func TestShutdownAbandonsUndeliverable(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			r := startServer(t, Config{
				Reuse:         mode.reuse,
				ShutdownGrace: 100 * time.Millisecond,
				Dests:         []string{reservePort(t)},
			})
			sendEach(t, r.Addr().String(), "a", "b")
			r.waitStats(t, "destination down", func(st Stats) bool { return !st.Dests[0].Up && st.InFlight == 2 })
			r.stop(t)
			st := r.Stats()
			if st.Abandoned != 2 || st.InFlight != 0 || st.Failed != 0 {
				t.Errorf("after shutdown: %+v", st)
			}
			checkNoServerGoroutines(t)
		})
	}
}

func TestSeedReproducesDelays(t *testing.T) {
	const maxSleep = time.Second
	delays := func(seed int64) []time.Duration {
		s, err := New(Config{MaxSleep: maxSleep, Seed: seed, Dests: []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		draws := make([]draw, len(s.dests))
		for i := range 20 {
			m := fmt.Sprint("m", i)
			s.dispatch(wire.Frame([]byte(m)), len(m), "test", draws)
		}
		var out []time.Duration
		for _, d := range s.dests {
			for _, c := range d.delayed {
				if c.delay < 0 || c.delay > maxSleep {
					t.Errorf("delay %v outside [0, %v]", c.delay, maxSleep)
				}
				out = append(out, c.delay)
			}
		}
		return out
	}
	a, b, c := delays(42), delays(42), delays(43)
	if len(a) != 60 {
		t.Fatalf("%d delays, want 60", len(a))
	}
	if !slices.Equal(a, b) {
		t.Error("the same seed gave different delays")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave the same delays")
	}
}

// TestLateAddsToDelays: with -late, copies still wait at least a draw in
// [0, maxSleep], and some wait past maxSleep, never past maxSleep+late.
func TestLateAddsToDelays(t *testing.T) {
	const maxSleep, late = time.Second, 500 * time.Millisecond
	s, err := New(Config{MaxSleep: maxSleep, Late: late, Seed: 3, Dests: []string{"127.0.0.1:1", "127.0.0.1:2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	draws := make([]draw, len(s.dests))
	for i := range 100 {
		m := fmt.Sprint("m", i)
		s.dispatch(wire.Frame([]byte(m)), len(m), "test", draws)
	}
	pastMaxSleep := 0
	for _, d := range s.dests {
		for _, c := range d.delayed {
			if c.delay < 0 || c.delay > maxSleep+late {
				t.Errorf("delay %v outside [0, %v]", c.delay, maxSleep+late)
			}
			if c.delay > maxSleep {
				pastMaxSleep++
			}
		}
	}
	// P(sum of U[0,1s] and U[0,0.5s] > 1s) is 1/4: about 50 of 200.
	if pastMaxSleep < 20 {
		t.Errorf("%d of 200 copies waited past maxSleep, want about 50", pastMaxSleep)
	}
	if _, err := New(Config{Late: -time.Second}); err == nil {
		t.Error("a negative -late was taken")
	}
}

func TestDelayHeapOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h delayHeap
	var want []int64
	for range 500 {
		due := rng.Int64N(1000)
		h.push(copyItem{due: due})
		want = append(want, due)
	}
	slices.Sort(want)
	for i, w := range want {
		if got := h.pop().due; got != w {
			t.Fatalf("pop %d: due %d, want %d", i, got, w)
		}
	}
	if len(h) != 0 {
		t.Fatalf("%d left", len(h))
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, cfg := range []Config{
		{Port: 70000},
		{Port: 65534, N: 5},
		{N: -1},
		{Listen: "127.0.0.1:8081"},
		{Dests: []string{"nohostport"}},
		{MaxSleep: -time.Second},
		{Drop: 1.5},
		{Dup: -0.1},
	} {
		if s, err := New(cfg); err == nil {
			_ = s.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}
