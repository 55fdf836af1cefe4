package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"totalorder/middleware/core"
)

// StartNetOnly launches the network program alone, relaying to ports
// BasePort+1 … BasePort+N where the caller listens (the benchmark's raw
// relay ceiling: counting sinks instead of middlewares). Stop ends it.
func StartNetOnly(cfg Config) (*Lab, error) {
	if cfg.N == 0 {
		cfg.N = 5
	}
	if cfg.BasePort == 0 {
		p, err := freeBlock(cfg.N)
		if err != nil {
			return nil, err
		}
		cfg.BasePort = p
	}
	l := &Lab{cfg: cfg, mws: make([]*proc, cfg.N+1), tail: make(map[string]*logTail)}
	if err := l.StartNet(); err != nil {
		l.Stop()
		return nil, err
	}
	return l, nil
}

// BasePort is the network program's port; middleware (or sink) i listens
// on BasePort+i.
func (l *Lab) BasePort() int { return l.cfg.BasePort }

// PID is the process id of middleware i (0: the network program), or 0 if
// it was never started.
func (l *Lab) PID(i int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.net
	if i > 0 && i < len(l.mws) {
		p = l.mws[i]
	} else if i != 0 {
		return 0
	}
	if p == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Status asks headless middleware i for its status line (the stdin
// command "status") and waits up to timeout for the answer.
func (l *Lab) Status(i int, timeout time.Duration) (string, error) {
	l.mu.Lock()
	p := l.mws[i]
	l.mu.Unlock()
	// The answer is the first status line printed after the request; the
	// output also holds warnings, so look for the line's known start.
	before := len(p.output())
	if _, err := fmt.Fprintln(p.stdin, "status"); err != nil {
		return "", err
	}
	prefix := fmt.Sprintf("Middleware %d/", i)
	deadline := time.Now().Add(timeout)
	for {
		out := p.output()
		if len(out) > before {
			for _, line := range strings.Split(out[before:], "\n") {
				if line = strings.TrimSpace(line); strings.HasPrefix(line, prefix) {
					return line, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("middleware %d did not answer \"status\" within %v", i, timeout)
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("middleware %d exited: %s", i, p.output())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// WaitLinked waits until each headless middleware in ids has all n-1
// control links up and, with raft or the sequencer, knows its leader, so
// that a measurement does not include start-up.
func (l *Lab) WaitLinked(ctx context.Context, ids []int) error {
	want := fmt.Sprintf("peers=%d/%d", l.cfg.N-1, l.cfg.N-1)
	for _, i := range ids {
		for {
			line, err := l.Status(i, 5*time.Second)
			if err != nil {
				return err
			}
			if strings.Contains(line, want) && (!core.Protocol(l.cfg.Protocol).HasLeader() || strings.Contains(line, " leader=")) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("middleware %d: control links not all up (%s): %w", i, line, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Leader is the leader middleware i's status names (raft's leader or the
// sequencer).
func (l *Lab) Leader(i int) (int, error) {
	line, err := l.Status(i, 5*time.Second)
	if err != nil {
		return 0, err
	}
	_, rest, ok := strings.Cut(line, " leader=")
	if !ok {
		return 0, fmt.Errorf("middleware %d knows no leader: %s", i, line)
	}
	f, _, _ := strings.Cut(rest, " ")
	return strconv.Atoi(f)
}

// RSS reads the resident set size now (VmRSS) and its peak (VmHWM) of
// process pid from /proc, in bytes (Linux only).
func RSS(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(value) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, name, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %v", pid, name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status has no VmRSS line", pid)
	}
	return rss, peak, nil
}

// FreeBlock finds a port p such that p…p+n and p+100…p+100+n are free on
// 127.0.0.1 (as Start does when Config.BasePort is 0).
func FreeBlock(n int) (int, error) { return freeBlock(n) }

// BuildWindow compiles the middleware with its window (cgo and the X11/GL
// headers needed) into dir.
func BuildWindow(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "no_emoji", "-o", dir+string(os.PathSeparator), "./cmd/middleware")
	cmd.Dir = moduleRoot()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build (window): %v\n%s", err, out.String())
	}
	return nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// CPUTime reads the processor time (user + system) process pid has used
// so far from /proc (Linux only).
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis, state being field 3.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %v", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
