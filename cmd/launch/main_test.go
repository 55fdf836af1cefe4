package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as fake netsim and middleware programs: copied
// into a bin directory under those names, it behaves as FAKE_NETSIM says
// ("fail": a port in use, status 1; "exit": its window closed, status 0;
// "serve": until stopped); it writes its arguments to the file
// "args-<name>" in FAKE_DIR first; once it handles signals it prints "ready" and,
// stopped by a signal, leaves a file "stopped-<name>" in FAKE_DIR to show
// it stopped cleanly. (A program signalled before it handles signals is
// simply ended; either way launch returns only when all have ended.)
func TestMain(m *testing.M) {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	if name != "netsim" && name != "middleware" {
		os.Exit(m.Run())
	}
	id := name
	for i, a := range os.Args {
		if a == "-id" && i+1 < len(os.Args) {
			id += "-" + os.Args[i+1]
		}
	}
	os.WriteFile(filepath.Join(os.Getenv("FAKE_DIR"), "args-"+id), []byte(strings.Join(os.Args[1:], " ")), 0o644)
	if name == "netsim" {
		switch os.Getenv("FAKE_NETSIM") {
		case "fail":
			const msg = "netsim: port 8081 is already in use (another netsim running?): stop it or pass -port"
			os.Stderr.WriteString(msg + "\n")
			if p := os.Getenv("NETSIM_ERROR_FILE"); p != "" { // as the real one does
				os.WriteFile(p, []byte(msg+"\n"), 0o644)
			}
			os.Exit(1)
		case "exit":
			os.Exit(0)
		}
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	os.Stdout.WriteString("ready " + id + "\n")
	<-c
	os.WriteFile(filepath.Join(os.Getenv("FAKE_DIR"), "stopped-"+id), nil, 0o644)
	os.Exit(0)
}

// fakeBin makes a bin directory holding this test binary as netsim and
// middleware.
func fakeBin(t *testing.T) (bin, dir string) {
	t.Helper()
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin, dir = t.TempDir(), t.TempDir()
	ext := ""
	if runtime.GOOS == "windows" {
		ext = ".exe"
	}
	for _, name := range []string{"netsim", "middleware"} {
		if err := os.WriteFile(filepath.Join(bin, name+ext), self, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FAKE_DIR", dir)
	return bin, dir
}

// readyCounter counts the fakes' "ready" lines and closes all once it
// has seen want of them.
type readyCounter struct {
	mu   sync.Mutex
	n    int
	want int
	all  chan struct{}
}

func (r *readyCounter) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n += strings.Count(string(b), "ready ")
	if r.n == r.want {
		close(r.all)
	}
	return len(b), nil
}

func launchFakes(t *testing.T, ctx context.Context, bin string, ready io.Writer, extra ...string) (code int, out, errs string) {
	t.Helper()
	var stdout, stderr strings.Builder
	o, err := parse(append([]string{"-bin", bin, "-n", "3", "-max-sleep", "1s", "-protocol", "isis"}, extra...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if ready == nil {
		ready = io.Discard
	}
	var mu sync.Mutex
	o.stdoutOfPrograms, o.stderrOfPrograms = ready, lockedWriter{&mu, &stderr}
	code = launch(ctx, o, &stdout, lockedWriter{&mu, &stderr})
	return code, stdout.String(), stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func stoppedCleanly(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, "stopped-"+n)); err != nil {
			t.Errorf("%s was not stopped cleanly (by a signal it handled)", n)
		}
	}
}

// The network program fails: the launcher stops the lab, and names a port
// of the lab only if something else really listens on it.
func TestNetworkProgramFailsToStart(t *testing.T) {
	bin, _ := fakeBin(t)
	t.Setenv("FAKE_NETSIM", "fail")
	code, out, errs := launchFakes(t, context.Background(), bin, nil)
	if code != 1 {
		t.Errorf("status %d, want 1", code)
	}
	// Its error is quoted in the launcher's own line.
	if !strings.Contains(errs, "the network program failed: netsim: port 8081 is already in use") {
		t.Errorf("stderr does not quote the network program's error:\n%s", errs)
	}
	if strings.Contains(errs, "Another program listens") {
		t.Errorf("a port is named taken though nothing listens:\n%s", errs)
	}
	// Now something does listen on the lab's port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, _, errs = launchFakes(t, context.Background(), bin, nil, "-port", strconv.Itoa(port))
	if want := fmt.Sprintf("Another program listens on port %d: run.bat -port %d", port, port+100); !strings.Contains(errs, want) {
		t.Errorf("stderr does not name the taken port (%q):\n%s", want, errs)
	}
	if strings.Count(out, "started ") != 4 {
		t.Errorf("want one line per program started:\n%s", out)
	}
	// launch returned: every program it started has ended.
}

func TestNetworkWindowClosedStopsTheLab(t *testing.T) {
	bin, _ := fakeBin(t)
	t.Setenv("FAKE_NETSIM", "exit")
	code, _, errs := launchFakes(t, context.Background(), bin, nil)
	if code != 0 || errs != "" {
		t.Errorf("status %d, stderr %q; want 0 and nothing", code, errs)
	}
	// launch returned: every program it started has ended.
}

func TestInterruptStopsEveryProgram(t *testing.T) {
	bin, dir := fakeBin(t)
	t.Setenv("FAKE_NETSIM", "serve")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errs string
	ready := &readyCounter{want: 4, all: make(chan struct{})}
	go func() {
		code, _, e := launchFakes(t, ctx, bin, ready)
		errs = e
		done <- code
	}()
	select { // Ctrl-C once every program handles signals
	case <-ready.all:
	case <-time.After(30 * time.Second):
		t.Fatal("the fakes did not start")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || errs != "" {
			t.Errorf("status %d, stderr %q; want 0 and nothing", code, errs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the launcher did not stop")
	}
	stoppedCleanly(t, dir, "netsim", "middleware-1", "middleware-2", "middleware-3")
}

// The programs get what run.sh gives them: the network program writes the
// events the Timeline draws, the middlewares log their control messages
// and are told the network program's maxSleepTime as it was given.
func TestProgramsGetTheTimelineAndMaxSleepOptions(t *testing.T) {
	bin, dir := fakeBin(t)
	t.Setenv("FAKE_NETSIM", "serve")
	ctx, cancel := context.WithCancel(context.Background())
	ready := &readyCounter{want: 4, all: make(chan struct{})}
	go func() { // each fake writes what it got before it says ready
		select {
		case <-ready.all:
		case <-time.After(30 * time.Second): // the args files are then missing
		}
		cancel()
	}()
	launchFakes(t, ctx, bin, ready, "-max-sleep", "1500")
	read := func(id string) string {
		b, err := os.ReadFile(filepath.Join(dir, "args-"+id))
		if err != nil {
			t.Fatal(err)
		}
		return " " + string(b) + " "
	}
	if a := read("netsim"); !strings.Contains(a, " -events "+filepath.Join("logs", "netsim.jsonl")+" ") || !strings.Contains(a, " -max-sleep 1500 ") {
		t.Errorf("netsim got %q; want -events logs/netsim.jsonl and -max-sleep 1500", a)
	}
	// launchFakes passes -max-sleep 1s first, then ours: the last wins.
	if a := read("middleware-1"); !strings.Contains(a, " -events-control ") || !strings.Contains(a, " -net-max-sleep 1500 ") {
		t.Errorf("middleware 1 got %q; want -events-control and -net-max-sleep 1500", a)
	}
	o, err := parse([]string{"-bin", bin}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if a := " " + strings.Join(o.mwArgs, " ") + " "; !strings.Contains(a, " -net-max-sleep 2s ") {
		t.Errorf("without -max-sleep the middlewares get %q; want -net-max-sleep 2s (the network program's default)", a)
	}
}

// Bad options and -help delete nothing, and the usage shows the user's
// options, not run.bat's own.
func TestBadOptionsDeleteNothing(t *testing.T) {
	t.Chdir(t.TempDir())
	last := []string{filepath.Join("logs", "middleware-1.jsonl"), filepath.Join("logs", "netsim.jsonl"), filepath.Join("state", "middleware-1.state")}
	for _, p := range last {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("last run"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"-nope"}, {"-n", "1"}, {"-h"}, {"-help"}, {"stray"}} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), append([]string{"-bin", "bin", "-launcher", "run.bat", "-fresh"}, args...), &stdout, &stderr)
		for _, p := range last {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%v deleted %s", args, p)
			}
		}
		out := stderr.String()
		if args[0] == "-h" || args[0] == "-help" {
			if code != 0 || !strings.Contains(out, "usage: run.bat [options]") || !strings.Contains(out, "-max-sleep") {
				t.Errorf("%v: status %d, usage %q", args, code, out)
			}
			for _, internal := range internalFlags {
				if strings.Contains(out, "-"+internal+" ") || strings.Contains(out, "-"+internal+"\n") {
					t.Errorf("%v: the usage shows run.bat's own -%s:\n%s", args, internal, out)
				}
			}
			continue
		}
		if code != 2 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "run.bat: ") {
			t.Errorf("%v: status %d, stderr %q; want 2 and one line", args, code, out)
		}
	}
}

// A fresh start, the options being good, clears the last run's events
// logs and state (nothing else in logs/) and makes a group key.
func TestFreshStart(t *testing.T) {
	bin, _ := fakeBin(t)
	t.Setenv("FAKE_NETSIM", "exit")
	t.Chdir(t.TempDir())
	os.MkdirAll("logs", 0o755)
	os.MkdirAll("state", 0o755)
	for _, p := range []string{"logs/middleware-2.jsonl", "logs/netsim.jsonl", "logs/selection.json", "state/middleware-2.state", "logs/keep.txt"} {
		if err := os.WriteFile(filepath.FromSlash(p), []byte("last run"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"-bin", bin, "-fresh", "-n", "2"}, &stdout, &stderr); code != 0 {
		t.Fatalf("status %d: %s", code, stderr.String())
	}
	for _, p := range []string{"logs/middleware-2.jsonl", "logs/netsim.jsonl", "logs/selection.json", "state"} {
		if _, err := os.Stat(filepath.FromSlash(p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	if _, err := os.Stat(filepath.Join("logs", "keep.txt")); err != nil {
		t.Error("a file of the user's in logs/ was deleted")
	}
	if fi, err := os.Stat(filepath.Join("logs", "group.key")); err != nil || fi.Size() == 0 {
		t.Errorf("no group key: %v", err)
	}
}
