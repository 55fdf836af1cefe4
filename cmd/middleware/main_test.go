package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/testbuf"
	"totalorder/middleware"
	"totalorder/middleware/core"
)

func TestParseFlags(t *testing.T) {
	opt, err := parseFlags([]string{"-id", "3", "-headless", "-net-port", "7000", "-peers", "1=10.0.0.1:9000, 2=h:1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := opt.cfg
	if c.ID != 3 || c.N != 5 || c.Protocol != core.Raft || c.StateDir != "state" || !opt.headless || c.DataPort != 7003 ||
		c.NetAddr != ":7000" || c.Host != "" || c.PeerAddrs[1] != "10.0.0.1:9000" || c.PeerAddrs[2] != "h:1" ||
		c.Core.SuspectAfter != time.Second || c.ControlPort != 0 {
		t.Fatalf("parsed %+v", opt)
	}
	opt, err = parseFlags([]string{"-id", "2", "-net-host", "10.0.0.9", "-host", "10.0.0.2"}, io.Discard)
	if err != nil || opt.cfg.NetAddr != "10.0.0.9:8081" || opt.cfg.Host != "10.0.0.2" {
		t.Fatalf("parsed %+v, %v", opt, err)
	}

	for _, args := range [][]string{
		{},                       // no id
		{"-id", "6"},             // id > n
		{"-id", "1", "-n", "1"},  // n too small
		{"-id", "1", "-n", "17"}, // n too large
		{"-id", "1", "-protocol", "paxos"},
		{"-id", "1", "-bogus"},
		{"-id", "1", "extra"},
		{"-id", "1", "-peers", "9=h:1"},
		{"-id", "1", "-peers", "2=nohost"},
		{"-id", "1", "-data-port", "70000"},
		{"-id", "1", "-suspect-after", "0s"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", args, err)
		}
	}
}

func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// newTestNode is middleware 1 of a pair, not yet running, with no network
// program behind netAddr.
func newTestNode(t *testing.T) *middleware.Node {
	t.Helper()
	unused := listenLocal(t)
	netAddr := unused.Addr().String()
	unused.Close()
	return newTestPair(t, core.ISIS, netAddr, listenLocal(t))
}

// newTestPair returns middleware 1 of 2 (data on data1), not yet running,
// and runs middleware 2 until the test ends: a member takes part in
// ordering, and sends, once it has heard from its peers. with changes
// middleware 1's configuration.
func newTestPair(t *testing.T, p core.Protocol, netAddr string, data1 net.Listener, with ...func(*middleware.Config)) *middleware.Node {
	t.Helper()
	ctl1, ctl2 := listenLocal(t), listenLocal(t)
	peer, err := middleware.New(middleware.Config{
		ID: 2, N: 2, Protocol: p, NetAddr: netAddr, PeerAddrs: map[int]string{1: ctl1.Addr().String()},
		DataListener: listenLocal(t), ControlListener: ctl2,
		Core: core.Config{SuspectAfter: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- peer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("middleware 2: %v", err)
		}
	})
	cfg := middleware.Config{
		ID: 1, N: 2, Protocol: p, NetAddr: netAddr, PeerAddrs: map[int]string{2: ctl2.Addr().String()},
		DataListener: data1, ControlListener: ctl1,
		Core: core.Config{SuspectAfter: 50 * time.Millisecond},
	}
	for _, fn := range with {
		fn(&cfg)
	}
	node, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return node
}

func TestHeadlessCommands(t *testing.T) {
	node := newTestNode(t)
	var out, logs testbuf.Buffer
	sent := make(chan int, 10)
	node.Subscribe(func(batch []middleware.Event) {
		for _, e := range batch {
			if e.Kind == middleware.EventSent {
				sent <- 1
			}
		}
	})
	in, script := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runHeadless(context.Background(), node, newAuctionFeed(1, 2, false, nil), in, &out, zerolog.New(&logs))
	}()
	io.WriteString(script, "send\nsend 3\nsend x\nfrobnicate\n\nstatus\n")
	for k := 0; k < 4; k++ {
		select {
		case <-sent: // each Sent event, before quitting
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 4 messages sent", k)
		}
	}
	io.WriteString(script, "quit\nsend\n")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("quit did not stop the middleware")
	}
	if n := len(sent); n != 0 {
		t.Errorf("%d more messages sent after the first 4 (send, send 3)", n)
	}
	if o := out.String(); !strings.HasPrefix(o, "Middleware 1/2 isis") || strings.Count(o, "\n") != 1 {
		t.Errorf("status printed %q, want one status line", o)
	}
	if l := logs.String(); !strings.Contains(l, `want send K`) || !strings.Contains(l, `unknown command \"frobnicate\"`) ||
		strings.Count(l, "\n") != 2 {
		t.Errorf("want one error line per bad command, got:\n%s", l)
	}
}

func TestHeadlessEndOfInputKeepsRunning(t *testing.T) {
	node := newTestNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	pr, pw := io.Pipe()
	go func() {
		done <- runHeadless(ctx, node, newAuctionFeed(1, 2, false, nil), pr, io.Discard, zerolog.Nop())
	}()
	pw.Close() // end of input
	select {
	case err := <-done:
		t.Fatalf("end of input stopped the middleware: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel() // what SIGTERM does
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling did not stop the middleware")
	}
}

func TestGroupKeyFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "group.key")
	if err := middleware.WriteGroupKey(path); err != nil {
		t.Fatal(err)
	}
	opt, err := parseFlags([]string{"-id", "1", "-group-key-file", path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.cfg.GroupKey) != 64 {
		t.Fatalf("group key of %d bytes, want 64", len(opt.cfg.GroupKey))
	}
	if runtime.GOOS != "windows" {
		os.Chmod(path, 0o644)
		_, err := parseFlags([]string{"-id", "1", "-group-key-file", path}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("a key file others can read: %v", err)
		}
	}
	if _, err := parseFlags([]string{"-id", "1", "-group-key-file", path + ".missing"}, io.Discard); err == nil {
		t.Fatal("a missing key file was accepted")
	}
	opt, err = parseFlags([]string{"-new-group-key-file", path + ".new"}, io.Discard)
	if err != nil || opt.newKey != path+".new" {
		t.Fatalf("-new-group-key-file: %v %+v", err, opt)
	}
}
