package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"totalorder/internal/hostaddr"
	"totalorder/internal/testbuf"
	"totalorder/middleware/wire"
)

const waitLimit = 10 * time.Second

func TestBadFlagsExit2WithOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"-max-sleep", "soon"},
		{"-bogus"},
		{"-n", "0"},
		{"-drop", "2"},
		{"-port", "70000"},
		{"-port", "0"},
		{"extra"},
		{"-retry-for", "0"},
		{"-max-conns", "0"},
		{"-grace", "-1s"},
	} {
		// Should a bad flag be accepted, the cancelled context stops the
		// server at once instead of hanging the test.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var stdout, stderr strings.Builder
		code := run(ctx, append([]string{"-port", fmt.Sprint(freePort(t))}, args...), nil, &stdout, &stderr)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "netsim: ") {
			t.Errorf("%q: stderr %q, want one line", args, msg)
		}
	}
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestHelp(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"-h"}, nil, &stdout, &stderr); code != exitOK {
		t.Errorf("exit %d", code)
	}
	for _, flag := range []string{"-port", "-n", "-max-sleep", "-seed", "-reuse", "-drop", "-dup", "-retry-for", "-quiet", "-v", "-listen", "-dest-host", "-original-console"} {
		if !strings.Contains(stdout.String(), flag+" ") && !strings.Contains(stdout.String(), flag+"\n") && !strings.Contains(stdout.String(), flag+"\t") {
			t.Errorf("usage does not mention %s:\n%s", flag, stdout.String())
		}
	}
}

func TestPortInUseExit1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"-port", fmt.Sprint(port)}, nil, &stdout, &stderr)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	want := fmt.Sprintf("netsim: port %d is already in use on 127.0.0.1 (another network program running?): stop it or pass -port\n", port)
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// With the original program running (it listens on this host's address
// only), ours refuses to start rather than serve 127.0.0.1 alone.
func TestPortInUseOnHostAddressExit1(t *testing.T) {
	var ip net.IP
	for _, a := range hostaddr.IPv4s() {
		if !a.IsLoopback() {
			ip = a
			break
		}
	}
	if ip == nil {
		t.Skip("this host has no address but loopback")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"-port", fmt.Sprint(port)}, nil, &stdout, &stderr); code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	want := fmt.Sprintf("netsim: port %d is already in use on %s, this host's address where the original network program listens (is Network.exe or another netsim running?): stop it or pass -port\n", port, ip)
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}

// runAsync runs the command until the returned stop is called, which
// returns its exit code.
func runAsync(t *testing.T, args []string, stdout, stderr io.Writer) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, args, nil, stdout, stderr) }()
	stopped := false
	code := 0
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			select {
			case code = <-exit:
			case <-time.After(waitLimit):
				t.Fatal("run did not stop after cancel")
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	return stop
}

// listeningAddr reads the address from the start line.
func listeningAddr(t *testing.T, stderr *testbuf.Buffer) string {
	t.Helper()
	var listening struct{ Addr string }
	if err := json.Unmarshal([]byte(stderr.WaitLine(t, "netsim listening", waitLimit)), &listening); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	return listening.Addr
}

// By default (no -v) it says where it listens and what maxSleepTime is,
// warns when a middleware is not listening, and sums up at the end; no
// line per message.
func TestDefaultConsole(t *testing.T) {
	down := freePort(t)
	stdout, stderr := &testbuf.Buffer{}, &testbuf.Buffer{}
	stop := runAsync(t, []string{"-port", "0", "-dests", fmt.Sprintf("127.0.0.1:%d", down), "-max-sleep", "250", "-grace", "50ms"}, stdout, stderr)
	start := stderr.WaitLine(t, "netsim listening on 127.0.0.1:", waitLimit)
	if !strings.Contains(start, "maxSleepTime 250ms") {
		t.Errorf("start line %s", start)
	}
	c, err := net.Dial("tcp", listeningAddr(t, stderr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("Msg #1 from Middleware 1<EOM>")); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	stderr.WaitLine(t, fmt.Sprintf("nothing listens at 127.0.0.1:%d", down), waitLimit)
	if code := stop(); code != exitOK {
		t.Errorf("exit %d", code)
	}
	summary := stderr.WaitLine(t, "netsim stopped after", waitLimit)
	if !strings.Contains(summary, "1 message accepted, 0 copies delivered, 1 abandoned at shutdown") {
		t.Errorf("summary %s", summary)
	}
	if strings.Contains(stderr.String(), `"message":"accepted"`) {
		t.Errorf("a line per message without -v:\n%s", stderr)
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
}

// -quiet leaves errors only: a clean run prints nothing.
func TestQuietPrintsNothing(t *testing.T) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var stdout, stderr strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := run(ctx, []string{"-port", "0", "-dests", sink.Addr().String(), "-quiet"}, nil, &stdout, &stderr); code != exitOK {
		t.Errorf("exit %d", code)
	}
	if stdout.String() != "" || stderr.String() != "" {
		t.Errorf("stdout %q stderr %q, want nothing", stdout.String(), stderr.String())
	}
}

// -original-console prints, on stdout, the original's lines.
func TestOriginalConsoleFlag(t *testing.T) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	stdout, stderr := &testbuf.Buffer{}, &testbuf.Buffer{}
	runAsync(t, []string{"-port", "0", "-dests", sink.Addr().String(), "-max-sleep", "0", "-original-console"}, stdout, stderr)
	c, err := net.Dial("tcp", listeningAddr(t, stderr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("Msg #1 from Middleware 1<EOM>\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	line := stdout.WaitLine(t, "delay time for "+sink.Addr().String(), waitLimit)
	want := "Waiting for a connection...\nWaiting for a connection...\nMessage received: Msg #1 from Middleware 1<EOM>\ndelay time for " + sink.Addr().String() + " is 0\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout %q (line %q), want %q", got, line, want)
	}
}

func TestRunRelaysAndTakesCommands(t *testing.T) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	got := make(chan string, 1)
	go func() {
		c, err := sink.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		msg, err := wire.NewReader(c, 0).Next()
		if err == nil {
			got <- string(msg)
		}
	}()

	stdinR, stdinW := io.Pipe()
	stdout, stderr := &testbuf.Buffer{}, &testbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"-port", "0", "-dests", sink.Addr().String(), "-max-sleep", "0", "-reuse", "-v"}, stdinR, stdout, stderr)
	}()

	var listening struct{ Addr string }
	if err := json.Unmarshal([]byte(stderr.WaitLine(t, "netsim listening", waitLimit)), &listening); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	c, err := net.Dial("tcp", listening.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("Msg #1 from Middleware 1<EOM>")); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	select {
	case m := <-got:
		if m != "Msg #1 from Middleware 1" {
			t.Errorf("relayed %q", m)
		}
	case <-time.After(waitLimit):
		t.Fatal("message not relayed")
	}

	if _, err := io.WriteString(stdinW, "max-sleep 250\n"); err != nil {
		t.Fatal(err)
	}
	stdout.WaitLine(t, "max-sleep is now 250ms (was 0s)", waitLimit)
	_ = stdinW.Close() // end of stdin does not stop it
	if _, err := io.WriteString(stdinW, "stats\n"); err == nil {
		t.Fatal("write after close succeeded")
	}

	select {
	case code := <-exit:
		t.Fatalf("run ended with %d at end of stdin", code)
	default:
	}
	cancel()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("exit %d, want 0", code)
		}
	case <-time.After(waitLimit):
		t.Fatal("run did not stop after cancel")
	}
	summary := stderr.WaitLine(t, "netsim stopped", waitLimit)
	if !strings.Contains(summary, `"accepted":1`) || !strings.Contains(summary, `"delivered":1`) {
		t.Errorf("summary %s", summary)
	}
}

// "quit" on stdin stops the program as a signal does (how a script stops
// it on Windows): exit 0, with the summary.
func TestQuitOnStdinStops(t *testing.T) {
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	stdout, stderr := &testbuf.Buffer{}, &testbuf.Buffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(context.Background(), []string{"-port", "0", "-dests", "127.0.0.1:1", "-max-sleep", "0"}, stdinR, stdout, stderr)
	}()
	stderr.WaitLine(t, "netsim listening", waitLimit)
	if _, err := io.WriteString(stdinW, "quit\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("exit %d after quit, want 0", code)
		}
	case <-time.After(waitLimit):
		t.Fatal("run did not stop after quit")
	}
	stderr.WaitLine(t, "netsim stopped", waitLimit)
}

// The network program's error output is remembered line by line, so that
// the line it fails with can be written for a launcher to quote.
func TestErrorRecorderKeepsTheLastLine(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &errorRecorder{File: f}
	fmt.Fprint(r, "netsim: a warning\nnetsim: port 8081 is already ")
	fmt.Fprint(r, "in use\n\n")
	if got, want := r.last(), "netsim: port 8081 is already in use"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	b, _ := os.ReadFile(f.Name())
	if !strings.Contains(string(b), "netsim: a warning\n") {
		t.Errorf("the output itself was not written through: %q", b)
	}
}
