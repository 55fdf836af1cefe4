package middleware

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"totalorder/internal/hostaddr"
	"totalorder/middleware/check"
)

// inNetnsEnv marks the copy of the test binary that runs inside the network
// namespace TestBehindOriginalProgram creates.
const inNetnsEnv = "TOTALORDER_TEST_IN_NETNS"

// Inside the test's namespace the host name resolves to hostsIP (as .NET
// on Linux resolves it), and the first interface that is up and not
// loopback has ifaceIP (what mono and Windows return for the machine's own
// name). Neither is reachable through 127.0.0.1.
const (
	hostsIP = "10.77.0.1"
	ifaceIP = "10.77.5.5"
)

// TestBehindOriginalProgram runs five middlewares with default addresses
// (no flags) behind a stand-in for the lab's original network program,
// which binds and sends to the host name's first IPv4 address rather than
// 127.0.0.1. It needs a host whose name resolves to an address of its own,
// so it makes one: a network namespace whose /etc/hosts (ip netns exec
// mounts /etc/netns/NAME/hosts over it) maps this host's name to hostsIP,
// with an interface (one end of a veth pair) on ifaceIP, and runs itself
// again in there, once with the stand-in on each address.
func TestBehindOriginalProgram(t *testing.T) {
	if os.Getenv(inNetnsEnv) != "" {
		behindOriginal(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create a network namespace (sudo go test -run TestBehindOriginalProgram ./middleware/)")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("skipped: the ip command (iproute2) is not installed: apt-get install -y iproute2")
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		t.Skipf("skipped: this host has no name to resolve (%v)", err)
	}
	ns := fmt.Sprintf("tolab-orig-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	etc := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(etc) })
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n%s\t%s\n", hostsIP, host)
	if err := os.WriteFile(filepath.Join(etc, "hosts"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ipCmd, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot create a network namespace here: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command(ipCmd, "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "addr", "add", hostsIP+"/32", "dev", "lo")
	run("-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	run("-n", ns, "addr", "add", ifaceIP+"/24", "dev", "v0")
	run("-n", ns, "link", "set", "v0", "up")
	run("-n", ns, "link", "set", "v1", "up")

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"netns", "exec", ns, self, "-test.run", "^TestBehindOriginalProgram$", "-test.count", "1", "-test.timeout", "2m"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(ipCmd, args...)
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("inside namespace %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the test inside the namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatal("the test inside the namespace did not report PASS")
	}
}

func behindOriginal(t *testing.T) {
	ips := hostaddr.IPv4s()
	if got := fmt.Sprint(ips); got != "["+hostsIP+" "+ifaceIP+"]" {
		t.Fatalf("the host's addresses inside the namespace are %s, want [%s %s]", got, hostsIP, ifaceIP)
	}
	t.Run("resolved from the host name", func(t *testing.T) { behindStandIn(t, hostsIP) })
	t.Run("first interface", func(t *testing.T) { behindStandIn(t, ifaceIP) })
}

func behindStandIn(t *testing.T, ip string) {
	orig := startOriginalStandIn(t, ip, 150*time.Millisecond)

	const n, perNode = 5, 6
	total := n * perNode
	dir := t.TempDir()
	nodes := make([]*Node, n+1)
	logs := make([]*readyLog, n+1)
	paths := make([]string, n+1)
	for i := 1; i <= n; i++ {
		paths[i] = filepath.Join(dir, "middleware-"+strconv.Itoa(i)+".jsonl")
		// Default addresses, as with no flags: nothing else is set.
		nd, err := New(Config{ID: i, N: n, EventsPath: paths[i], Logger: testLogger(t).With().Int("mw", i).Logger()})
		if err != nil {
			t.Fatal(err)
		}
		p := ":" + strconv.Itoa(8081+i)
		want := "127.0.0.1" + p + " and " + hostsIP + p + " and " + ifaceIP + p
		if got := hostaddr.Describe(nd.data.ln); got != want {
			t.Fatalf("Middleware %d listens for data on %s, want %s", i, got, want)
		}
		nodes[i] = nd
		logs[i] = subscribeReady(nd, total, nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			if err := nodes[i].Run(ctx); err != nil {
				t.Errorf("Middleware %d: %v", i, err)
			}
		})
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
		}
	}
	defer stop()
	for i := 1; i <= n; i++ {
		nodes[i].Send(perNode)
	}
	deadline := time.After(60 * time.Second)
	for i := 1; i <= n; i++ {
		select {
		case <-logs[i].done:
		case <-deadline:
			got, _, _ := logs[i].snapshot()
			t.Fatalf("Middleware %d delivered %d of %d; status: %s; stand-in accepted %d, sent %d copies",
				i, len(got), total, StatusLine(nodes[i].Status()), orig.accepted.Load(), orig.sent.Load())
		}
	}
	first, _, _ := logs[1].snapshot()
	for i := 2; i <= n; i++ {
		if got, _, _ := logs[i].snapshot(); !slices.Equal(got, first) {
			t.Fatalf("Middleware %d's Ready order differs from Middleware 1's", i)
		}
	}
	// Every copy went out (to the stand-in's address) and was received.
	waitFor(t, "every copy to be received", 30*time.Second, func() bool {
		for i := 1; i <= n; i++ {
			if nodes[i].Status().Received != total {
				return false
			}
		}
		return orig.sent.Load() == int64(n*total)
	})
	stop()
	if got := orig.accepted.Load(); got != int64(total) {
		t.Errorf("the stand-in accepted %d messages, want %d", got, total)
	}
	var incs []check.Incarnation
	for i := 1; i <= n; i++ {
		incs = append(incs, readEventsLog(t, paths[i], i))
	}
	if _, err := check.Check(incs, check.Options{Agreement: true}); err != nil {
		t.Fatalf("order checker: %v", err)
	}
	orig.stop(t)
	for i := 1; i <= n; i++ {
		if l := readFile(t, paths[i]); strings.Contains(l, `"recovered":true`) {
			t.Errorf("Middleware %d took content from a peer, not the network:\n%s", i, l)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// originalStandIn does on the wire what the lab's Network.cs does: it binds
// the host's address (ip), port 8081; reads each connection in
// 1024-byte reads until the text holds <EOM>; then sends the whole buffer
// as read to ports 8082..8086 of that address, one new connection per copy,
// after a random delay per copy, in delay order.
type originalStandIn struct {
	ln       net.Listener
	ip       string
	maxSleep time.Duration
	wg       sync.WaitGroup
	accepted atomic.Int64
	sent     atomic.Int64
	mu       sync.Mutex
	errs     []error
}

func startOriginalStandIn(t *testing.T, ip string, maxSleep time.Duration) *originalStandIn {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "8081"))
	if err != nil {
		t.Fatal(err)
	}
	o := &originalStandIn{ln: ln, ip: ip, maxSleep: maxSleep}
	o.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.wg.Go(func() { o.handle(c) })
		}
	})
	t.Cleanup(func() { o.stop(t) })
	return o
}

func (o *originalStandIn) fail(err error) {
	o.mu.Lock()
	o.errs = append(o.errs, err)
	o.mu.Unlock()
}

func (o *originalStandIn) handle(c net.Conn) {
	var data []byte
	buf := make([]byte, 1024)
	for !strings.Contains(string(data), "<EOM>") {
		k, err := c.Read(buf)
		data = append(data, buf[:k]...)
		if err != nil {
			c.Close()
			if !strings.Contains(string(data), "<EOM>") {
				o.fail(fmt.Errorf("connection ended before <EOM>: %q, %v", data, err))
				return
			}
		}
	}
	o.accepted.Add(1)
	type dest struct {
		port  int
		delay time.Duration
	}
	dests := make([]dest, 5)
	for i := range dests {
		dests[i] = dest{8082 + i, rand.N(o.maxSleep)}
	}
	slices.SortFunc(dests, func(a, b dest) int { return int(a.delay - b.delay) })
	start := time.Now()
	for _, d := range dests {
		time.Sleep(time.Until(start.Add(d.delay))) // the simulated network delay
		s, err := net.Dial("tcp", net.JoinHostPort(o.ip, strconv.Itoa(d.port)))
		if err != nil {
			o.fail(err)
			continue
		}
		if _, err := s.Write(data); err != nil {
			o.fail(err)
		}
		s.Close()
		o.sent.Add(1)
	}
}

func (o *originalStandIn) stop(t *testing.T) {
	o.ln.Close()
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := errors.Join(o.errs...); err != nil {
		t.Errorf("stand-in network program: %v", err)
	}
	o.errs = nil
}
