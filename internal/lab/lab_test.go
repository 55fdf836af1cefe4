package lab_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// Real processes over loopback: the network program and headless
// middlewares, each run checked by the order checker.

var binDir string

// binEnv names a directory holding netsim and middleware built already,
// which the tests then use instead of building them: for a test binary
// that runs where no go command is, such as one cross-built for Windows
// and run under Wine.
const binEnv = "TOTALORDER_TEST_BIN"

func TestMain(m *testing.M) {
	if dir := os.Getenv(binEnv); dir != "" {
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "lab-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	if err := lab.Build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cancel()
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	cfg.Bin = binDir
	cfg.Dir = filepath.Join(t.TempDir(), "logs")
	l, err := lab.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Stop()
		if t.Failed() {
			for i := 0; i <= cfg.N; i++ {
				if out := l.Output(i); out != "" {
					t.Logf("process %d output:\n%s", i, lastLines(out, 15))
				}
			}
		}
	})
	return l
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func sendFromAll(t *testing.T, l *lab.Lab, ids []int, rounds int, gap time.Duration) {
	t.Helper()
	for r := 0; r < rounds; r++ {
		for _, i := range ids {
			if err := l.Send(i, 1); err != nil {
				t.Fatalf("send to %d: %v", i, err)
			}
		}
		time.Sleep(gap) // pacing the senders, not synchronisation
	}
}

func waitAll(t *testing.T, l *lab.Lab, ids []int, want int, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := l.WaitReady(ctx, ids, want, nil); err != nil {
		t.Fatal(err)
	}
}

func mustCheck(t *testing.T, l *lab.Lab, opt check.Options) *check.Report {
	t.Helper()
	l.Stop()
	rep, err := l.Check(opt)
	if err != nil {
		t.Fatalf("order checker: %v", err)
	}
	return rep
}

func TestLabAgreesInBothConnectionModes(t *testing.T) {
	for _, proto := range orderingProtocols() {
		for _, reuse := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reuse=%v", proto, reuse), func(t *testing.T) {
				l := startLab(t, lab.Config{N: 5, Protocol: proto, MaxSleep: 300 * time.Millisecond, Reuse: reuse})
				sendFromAll(t, l, l.IDs(), 8, 20*time.Millisecond)
				waitAll(t, l, l.IDs(), 40, 60*time.Second)
				rep := mustCheck(t, l, check.Options{Agreement: true})
				if rep.Messages != 40 {
					t.Fatalf("checker saw %d messages, want 40", rep.Messages)
				}
			})
		}
	}
}

// Stop ends every program cleanly and at once, the same way on every
// system ("quit" on stdin): each exits 0, well before the grace period
// after which Stop would interrupt it (on Windows, where a program cannot
// be sent SIGTERM, a Ctrl-Break that may not reach it) or kill it.
func TestStopIsCleanAndQuick(t *testing.T) {
	l := startLab(t, lab.Config{N: 3, MaxSleep: 50 * time.Millisecond, Reuse: true})
	sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 6, 30*time.Second)
	start := time.Now()
	l.Stop()
	// Only a program that did not stop on quit makes Stop wait the whole
	// grace (the network program's own grace for copies in flight is
	// shorter: 2 s).
	if took := time.Since(start); took >= lab.StopGrace {
		t.Errorf("Stop took %v: a program did not stop on quit", took.Round(time.Millisecond))
	}
	for i := 0; i <= 3; i++ {
		if code := l.ExitCode(i); code != 0 {
			t.Errorf("program %d (0: the network program) exited with %d, want 0", i, code)
		}
	}
}

func leader(t *testing.T, l *lab.Lab) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		t.Fatal(err)
	}
	id, err := l.Leader(1)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func others(l *lab.Lab, not ...int) []int {
	var out []int
	for _, i := range l.IDs() {
		if !slices.Contains(not, i) {
			out = append(out, i)
		}
	}
	return out
}

// The raft leader is killed mid-stream: the others elect a new one and go
// on; started again with its state, it catches up without delivering
// anything twice or numbering a message again.
func TestKillLeaderMidStreamAndRestart(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, MaxSleep: 100 * time.Millisecond, Reuse: true})
	lead := leader(t, l)
	sendFromAll(t, l, l.IDs(), 5, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 25, 30*time.Second)
	for _, i := range l.IDs() {
		if err := l.Send(i, 20); err != nil {
			t.Fatal(err)
		}
	}
	l.Kill(lead) // while 100 messages are in flight
	survivors := others(l, lead)
	sendFromAll(t, l, survivors, 5, 10*time.Millisecond)
	// Each survivor's own 25+20 messages and the first 25 are certain; the
	// leader's last 20 may or may not have been committed.
	waitAll(t, l, survivors, 25+4*25, 30*time.Second)
	if err := l.StartMW(lead); err != nil {
		t.Fatal(err)
	}
	sendFromAll(t, l, l.IDs(), 2, 20*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.WaitSettled(ctx, l.IDs(), time.Second); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, l, check.Options{Agreement: true})
}

// A member is killed and restarted: it takes up where it stopped, in the
// same order, and numbers its messages on from where it was.
func TestKillMemberAndRestart(t *testing.T) {
	for _, proto := range []string{"raft", "sequencer"} {
		t.Run(proto, func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, Protocol: proto, MaxSleep: 100 * time.Millisecond, Reuse: true})
			sendFromAll(t, l, l.IDs(), 4, 10*time.Millisecond)
			waitAll(t, l, l.IDs(), 20, 30*time.Second)
			l.Kill(2)
			sendFromAll(t, l, []int{1, 3, 4, 5}, 3, 10*time.Millisecond)
			if err := l.StartMW(2); err != nil {
				t.Fatal(err)
			}
			sendFromAll(t, l, l.IDs(), 3, 20*time.Millisecond)
			waitAll(t, l, l.IDs(), 20+12+15, 30*time.Second)
			rep := mustCheck(t, l, check.Options{Agreement: true})
			if rep.Messages != 20+12+15 {
				t.Fatalf("checker saw %d messages, want %d", rep.Messages, 20+12+15)
			}
		})
	}
}

// One middleware starts well before (or after) the others, and sends at
// once: everyone still agrees from the first message on.
func TestStaggeredStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first []int
		wait  time.Duration
	}{
		{"one 3s early", []int{3}, 3 * time.Second},
		{"four first, one 5s late", []int{1, 2, 4, 5}, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			later := []int{}
			for i := 1; i <= 5; i++ {
				if !slices.Contains(tc.first, i) {
					later = append(later, i)
				}
			}
			l := startLab(t, lab.Config{N: 5, MaxSleep: 200 * time.Millisecond, Reuse: true, Later: later})
			sendFromAll(t, l, tc.first, 3, 20*time.Millisecond)
			time.Sleep(tc.wait) // the fault: the others start this much later
			for _, i := range later {
				if err := l.StartMW(i); err != nil {
					t.Fatal(err)
				}
			}
			sendFromAll(t, l, l.IDs(), 3, 20*time.Millisecond)
			want := 3*len(tc.first) + 15
			waitAll(t, l, l.IDs(), want, 60*time.Second)
			rep := mustCheck(t, l, check.Options{Agreement: true})
			if rep.Messages != want {
				t.Fatalf("checker saw %d messages, want %d", rep.Messages, want)
			}
		})
	}
}

// One middleware, then two, cut off from their peers' control links for
// 3 s while everyone sends: the majority goes on, the minority waits and
// says so, then catches up.
func TestIsolate(t *testing.T) {
	for _, cut := range [][]int{{0}, {0, 1}} {
		t.Run(fmt.Sprintf("%d cut off", len(cut)), func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, MaxSleep: 100 * time.Millisecond, Reuse: true})
			lead := leader(t, l)
			victims := []int{lead} // the leader first: the hardest case
			if len(cut) == 2 {
				victims = append(victims, others(l, lead)[0])
			}
			sendFromAll(t, l, l.IDs(), 3, 10*time.Millisecond)
			for _, v := range victims {
				if err := l.Command(v, "isolate 3s"); err != nil {
					t.Fatal(err)
				}
			}
			sendFromAll(t, l, l.IDs(), 20, 50*time.Millisecond)
			line, err := l.Status(victims[0], 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(line, "isolated") || !strings.Contains(line, "no quorum") {
				t.Errorf("status of a middleware cut off says %q, want it isolated and waiting for a quorum", line)
			}
			want := 5 * 23
			waitAll(t, l, l.IDs(), want, 60*time.Second)
			rep := mustCheck(t, l, check.Options{Agreement: true})
			if rep.Messages != want {
				t.Fatalf("checker saw %d messages, want %d", rep.Messages, want)
			}
		})
	}
}

// The network program restarts: messages sent while it is down are kept and
// delivered once it is back, none twice.
func TestNetworkProgramRestart(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, MaxSleep: 50 * time.Millisecond})
	sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 10, 30*time.Second)
	l.KillNet()
	sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // the network program stays down a while
	if err := l.StartNet(); err != nil {
		t.Fatal(err)
	}
	waitAll(t, l, l.IDs(), 20, 30*time.Second)
	rep := mustCheck(t, l, check.Options{Agreement: true})
	if rep.Messages != 20 {
		t.Fatalf("checker saw %d messages, want 20", rep.Messages)
	}
}

// Drops and duplicates injected by the network program: drops are
// delivered from the order once overdue (marked recovered), duplicates
// never delivered twice.
func TestDropsAndDuplicates(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, MaxSleep: 50 * time.Millisecond, Reuse: true, Drop: 0.2, Dup: 0.2})
	sendFromAll(t, l, l.IDs(), 6, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 30, 60*time.Second)
	recovered := totalCounts(t, l).Recovered
	mustCheck(t, l, check.Options{Agreement: true})
	// Lost is not late: each copy the network program dropped (a fifth of
	// 150) is delivered from the order.
	if recovered == 0 {
		t.Fatal("no Received entry was recovered, though the network program dropped copies")
	}
}

func TestMeasureFailover(t *testing.T) {
	res, err := lab.MeasureFailover(context.Background(), lab.Config{Bin: binDir, Dir: filepath.Join(t.TempDir(), "logs"), N: 5, Reuse: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resume <= 0 || res.Resume > 10*time.Second {
		t.Fatalf("deliveries resumed %v after the kill", res.Resume)
	}
	t.Logf("deliveries resumed %v after the raft leader was killed; %d messages were in flight", res.Resume, res.InFlight)
}

// waitStatus polls middleware i's status line until ok holds.
func waitStatus(t *testing.T, ctx context.Context, l *lab.Lab, i int, ok func(string) bool) string {
	t.Helper()
	for {
		line, err := l.Status(i, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if ok(line) {
			return line
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Middleware %d's status never got there: %s", i, line)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// linked waits until every control link is up.
func linked(t *testing.T, l *lab.Lab) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		t.Fatal(err)
	}
}

// orderingProtocols lists every protocol that orders (core.Protocols: a
// new protocol is tested here by itself), by name.
func orderingProtocols() []string {
	var names []string
	for _, p := range core.Protocols {
		if p.Orders() {
			names = append(names, string(p))
		}
	}
	return names
}
