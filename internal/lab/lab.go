// Package lab starts and drives a whole lab of real processes over
// loopback (the network program and n headless middlewares), for the demo,
// the benchmark and the end-to-end tests.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"totalorder/internal/evlog"
	"totalorder/internal/interrupt"
	"totalorder/middleware"
	"totalorder/middleware/check"
)

// Build compiles the network program and the middleware into dir without
// the GUI (no cgo or display needed) and returns dir.
func Build(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "nogui", "-o", dir+string(os.PathSeparator), "./cmd/netsim", "./cmd/middleware")
	cmd.Dir = moduleRoot()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out.String())
	}
	return nil
}

// moduleRoot finds the directory holding go.mod, from the working directory up.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// Config describes one lab.
type Config struct {
	Bin      string // directory with the netsim and middleware binaries
	Dir      string // where logs go (events in Dir/mw-I.jsonl)
	N        int
	Protocol string
	MaxSleep time.Duration
	// Late passes -late to the network program: copies may wait up to
	// this much past MaxSleep, as the original's do under mono.
	Late time.Duration
	// NetMaxSleep is what the middlewares are told of the network
	// program's maxSleepTime (-net-max-sleep): 0 tells them MaxSleep, as
	// run.sh does; negative tells them nothing, as when they are started
	// by hand behind the original program.
	NetMaxSleep time.Duration
	Reuse       bool
	Seed        int64
	Drop        float64
	Dup         float64
	// BasePort is the network program's port; data ports follow it and
	// control ports start at BasePort+100. 0 picks a free block.
	BasePort int
	// SuspectAfter passes -suspect-after to the middlewares (0: default).
	SuspectAfter time.Duration
	// Fsync passes -fsync: the middlewares flush their durable state to
	// disk before acting on it.
	Fsync bool
	// Later lists middlewares Start leaves out, for a test to start with
	// StartMW (a staggered start).
	Later []int
	// Timeline also writes what the timeline draws: the network
	// program's events log (Dir/netsim.jsonl) and the middlewares'
	// control messages (-events-control).
	Timeline bool
	// Launch, when set, may change how middleware i is started (for
	// example a window under Xvfb); the zero MWLaunch keeps the default.
	Launch func(i int) MWLaunch
	// GroupKeyFile is the lab's group secret; Start writes a fresh one to
	// Dir/group.key (readable by the user only) when it is empty.
	GroupKeyFile string
	// StateDir holds the middlewares' durable state (default Dir/state).
	StateDir string
}

// MWLaunch overrides how one middleware is started.
type MWLaunch struct {
	Bin    string   // the middleware binary to run instead of Bin/middleware
	Window bool     // leave out -headless, so it opens its window
	Env    []string // added to the environment, e.g. "DISPLAY=:99"
}

// Lab is a running lab.
type Lab struct {
	cfg  Config
	mu   sync.Mutex
	net  *proc
	mws  []*proc // 1-based
	tail map[string]*logTail
}

type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bytes.Buffer
	done  chan struct{}
}

// Start launches the network program and n middlewares.
func Start(cfg Config) (*Lab, error) {
	if cfg.N == 0 {
		cfg.N = 5
	}
	if cfg.Protocol == "" {
		cfg.Protocol = "raft"
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(cfg.Dir, "state")
	}
	if cfg.GroupKeyFile == "" {
		cfg.GroupKeyFile = filepath.Join(cfg.Dir, "group.key")
		if err := middleware.WriteGroupKey(cfg.GroupKeyFile); err != nil {
			return nil, err
		}
	}
	pick := cfg.BasePort == 0
	for try := 1; ; try++ {
		if pick {
			p, err := freeBlock(cfg.N)
			if err != nil {
				return nil, err
			}
			cfg.BasePort = p
		}
		l, err := startAll(cfg)
		// A port found free can be taken by someone else before our
		// process binds it: pick another block.
		if err != nil && pick && try < 5 && strings.Contains(err.Error(), "already in use") {
			continue
		}
		return l, err
	}
}

func startAll(cfg Config) (*Lab, error) {
	l := &Lab{cfg: cfg, mws: make([]*proc, cfg.N+1), tail: make(map[string]*logTail)}
	if err := l.StartNet(); err != nil {
		l.Stop()
		return nil, err
	}
	for i := 1; i <= cfg.N; i++ {
		if slices.Contains(cfg.Later, i) {
			continue
		}
		if err := l.StartMW(i); err != nil {
			l.Stop()
			return nil, err
		}
	}
	return l, nil
}

// freeBlock finds a port p such that p..p+n and p+100..p+100+n are free.
// Blocks are drawn below 32768, where Linux does not hand out ephemeral
// ports for outgoing connections.
func freeBlock(n int) (int, error) {
	for try := 0; try < 200; try++ {
		p := 10000 + rand.IntN(32768-10000-100-n)
		ok := true
		for _, q := range append(rangeInts(p, p+n), rangeInts(p+100, p+100+n)...) {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, errors.New("no free block of ports on 127.0.0.1")
}

func rangeInts(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func (l *Lab) start(name string, args ...string) (*proc, error) {
	return l.startPath(filepath.Join(l.cfg.Bin, name), nil, args...)
}

// startPath starts the program at path with env added to the environment.
func (l *Lab) startPath(path string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	cmd.SysProcAttr = interrupt.ProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, stdin: stdin, out: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout = &syncWriter{w: p.out}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(p.done) }() // owner: the proc; ends with the process
	return p, nil
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// StartNet (re)starts the network program.
func (l *Lab) StartNet() error {
	args := []string{"-port", strconv.Itoa(l.cfg.BasePort), "-n", strconv.Itoa(l.cfg.N),
		"-max-sleep", l.cfg.MaxSleep.String(), "-quiet"}
	if l.cfg.Reuse {
		args = append(args, "-reuse")
	}
	if l.cfg.Seed != 0 {
		args = append(args, "-seed", strconv.FormatInt(l.cfg.Seed, 10))
	}
	if l.cfg.Late > 0 {
		args = append(args, "-late", l.cfg.Late.String())
	}
	if l.cfg.Drop > 0 {
		args = append(args, "-drop", strconv.FormatFloat(l.cfg.Drop, 'f', -1, 64))
	}
	if l.cfg.Dup > 0 {
		args = append(args, "-dup", strconv.FormatFloat(l.cfg.Dup, 'f', -1, 64))
	}
	if l.cfg.Timeline {
		args = append(args, "-events", filepath.Join(l.cfg.Dir, "netsim.jsonl"))
	}
	p, err := l.start("netsim", args...)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.net = p
	l.mu.Unlock()
	return waitPort(l.cfg.BasePort, p, 10*time.Second)
}

// waitPort waits until something listens on port (or p exits).
func waitPort(port int, p *proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s", filepath.Base(p.cmd.Path), p.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("port %d not listening after %v", port, timeout)
}

func (p *proc) output() string {
	w := p.cmd.Stdout.(*syncWriter)
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(w.w.String())
}

// GroupKeyFile is the file holding the lab's group secret.
func (l *Lab) GroupKeyFile() string { return l.cfg.GroupKeyFile }

// LogPath is middleware i's events log.
func (l *Lab) LogPath(i int) string { return filepath.Join(l.cfg.Dir, fmt.Sprintf("mw-%d.jsonl", i)) }

// StartMW (re)starts middleware i.
func (l *Lab) StartMW(i int) error { return l.StartMWWith(i) }

// StartMWWith starts middleware i with extra flags (e.g. -rejoin).
func (l *Lab) StartMWWith(i int, extra ...string) error {
	var peers []string
	for j := 1; j <= l.cfg.N; j++ {
		peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%d", j, l.cfg.BasePort+100+j))
	}
	var launch MWLaunch
	if l.cfg.Launch != nil {
		launch = l.cfg.Launch(i)
	}
	if launch.Bin == "" {
		launch.Bin = filepath.Join(l.cfg.Bin, "middleware")
	}
	args := []string{"-id", strconv.Itoa(i), "-n", strconv.Itoa(l.cfg.N), "-quiet",
		"-net-port", strconv.Itoa(l.cfg.BasePort), "-protocol", l.cfg.Protocol,
		"-control-port", strconv.Itoa(l.cfg.BasePort + 100 + i), "-peers", strings.Join(peers, ","),
		"-events", l.LogPath(i), "-state-dir", l.cfg.StateDir, "-group-key-file", l.cfg.GroupKeyFile}
	if l.cfg.Reuse {
		args = append(args, "-reuse")
	}
	if l.cfg.SuspectAfter > 0 {
		args = append(args, "-suspect-after", l.cfg.SuspectAfter.String())
	}
	switch {
	case l.cfg.NetMaxSleep == 0:
		args = append(args, "-net-max-sleep", l.cfg.MaxSleep.String())
	case l.cfg.NetMaxSleep > 0:
		args = append(args, "-net-max-sleep", l.cfg.NetMaxSleep.String())
	}
	if l.cfg.Fsync {
		args = append(args, "-fsync")
	}
	if l.cfg.Timeline {
		args = append(args, "-events-control")
	}
	if !launch.Window {
		args = append(args, "-headless")
	}
	args = append(args, extra...)
	p, err := l.startPath(launch.Bin, launch.Env, args...)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.mws[i] = p
	l.mu.Unlock()
	return waitPort(l.cfg.BasePort+i, p, 10*time.Second)
}

// Send asks middleware i to multicast k messages.
func (l *Lab) Send(i, k int) error {
	l.mu.Lock()
	p := l.mws[i]
	l.mu.Unlock()
	_, err := fmt.Fprintf(p.stdin, "send %d\n", k)
	return err
}

// Command writes one stdin command line to middleware i (e.g. "isolate 3s").
func (l *Lab) Command(i int, line string) error {
	l.mu.Lock()
	p := l.mws[i]
	l.mu.Unlock()
	_, err := fmt.Fprintln(p.stdin, line)
	return err
}

// Signal sends sig to middleware i (SIGSTOP, SIGCONT: a pause).
func (l *Lab) Signal(i int, sig os.Signal) error {
	l.mu.Lock()
	p := l.mws[i]
	l.mu.Unlock()
	return p.cmd.Process.Signal(sig)
}

// Kill stops middleware i at once (SIGKILL): a crash.
func (l *Lab) Kill(i int) {
	l.mu.Lock()
	p := l.mws[i]
	l.mu.Unlock()
	p.cmd.Process.Kill()
	<-p.done
}

// KillNet crashes the network program.
func (l *Lab) KillNet() {
	l.mu.Lock()
	p := l.net
	l.mu.Unlock()
	p.cmd.Process.Kill()
	<-p.done
}

// Output is what middleware i printed (0: the network program).
func (l *Lab) Output(i int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i == 0 {
		return l.net.output()
	}
	return l.mws[i].output()
}

// ExitCode is how middleware i (0: the network program) ended: its exit
// code, or -1 while it runs or when a signal ended it.
func (l *Lab) ExitCode(i int) int {
	l.mu.Lock()
	p := l.net
	if i > 0 {
		p = l.mws[i]
	}
	l.mu.Unlock()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Stop ends every process cleanly (see proc.stop), all at once.
func (l *Lab) Stop() {
	l.mu.Lock()
	procs := append([]*proc{l.net}, l.mws[1:]...)
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		if p != nil {
			wg.Go(func() { p.stop(stopGrace) })
		}
	}
	wg.Wait()
}

// stopGrace is how long a program is given to stop by itself, at each
// step of proc.stop: the network program delivers the copies in flight
// first (up to its own grace period, 2 s).
const stopGrace = 5 * time.Second

// stop ends the program cleanly, the same way on every system: it writes
// "quit" on its stdin (the middleware and the network program both stop
// on it) and closes it. A program still running after grace (paused,
// say, or not reading its stdin) is interrupted (interrupt: SIGTERM, or
// Ctrl-Break on Windows, which has no SIGTERM), and one still running
// grace later, or that cannot be interrupted, is killed. It returns once
// the program has ended.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	// A program that already ended has closed its end: the write fails,
	// and done follows.
	io.WriteString(p.stdin, "quit\n")
	p.stdin.Close()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	if interrupt.Send(p.cmd.Process) == nil {
		t.Reset(grace)
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
	p.cmd.Process.Kill()
	<-p.done
}

// logTail counts list events in a growing log without rereading it.
type logTail struct {
	tail   evlog.Tail
	counts Counts
}

// Counts are the list events a middleware has logged so far; Recovered
// counts the Received whose content came from the order, not the network.
type Counts struct{ Sent, Received, Recovered, Ready int }

// Ready counts the ready events middleware i has logged so far (all
// incarnations).
func (l *Lab) Ready(i int) (int, error) {
	c, err := l.Counts(i)
	return c.Ready, err
}

// Counts counts the sent, received and ready events middleware i has
// logged so far (all incarnations). A line still being written counts
// once it is whole.
func (l *Lab) Counts(i int) (Counts, error) {
	path := l.LogPath(i)
	l.mu.Lock()
	t := l.tail[path]
	if t == nil {
		t = &logTail{tail: evlog.Tail{Path: path}}
		l.tail[path] = t
	}
	l.mu.Unlock()
	_, err := t.tail.Poll(func(r *evlog.Record) {
		switch r.Event {
		case evlog.Sent:
			t.counts.Sent++
		case evlog.Received:
			t.counts.Received++
			if r.Recovered || r.Fetched {
				t.counts.Recovered++
			}
		case evlog.Ready:
			t.counts.Ready++
		}
	})
	return t.counts, err
}

// WaitReady waits until every middleware in ids has logged at least want
// ready events; progress (if not nil) is called about every 100 ms.
func (l *Lab) WaitReady(ctx context.Context, ids []int, want int, progress func(min int)) error {
	for {
		min := -1
		for _, i := range ids {
			n, err := l.Ready(i)
			if err != nil {
				return err
			}
			if min < 0 || n < min {
				min = n
			}
		}
		if progress != nil {
			progress(min)
		}
		if min >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d deliveries at each middleware: only %d after %w", want, min, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// IDs lists 1..n.
func (l *Lab) IDs() []int { return rangeInts(1, l.cfg.N) }

// Check runs the order checker over every middleware's log.
func (l *Lab) Check(opt check.Options) (*check.Report, error) {
	var paths []string
	for i := 1; i <= l.cfg.N; i++ {
		if _, err := os.Stat(l.LogPath(i)); err == nil {
			paths = append(paths, l.LogPath(i))
		}
	}
	incs, _, err := check.ParseFiles(paths)
	if err != nil {
		return nil, err
	}
	return check.Check(incs, opt)
}
