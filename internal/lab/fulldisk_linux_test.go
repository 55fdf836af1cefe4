package lab_test

// Linux only: it mounts a small tmpfs (as root) to fill the disk.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
)

// TestFullDiskUnderEventsLog runs the lab with its events logs on a small
// tmpfs, fills it, and checks that every middleware says so in its status
// line and keeps ordering; once space is freed, writing resumes after a
// "lost" line, no log holds half a line, and the checker calls the logs
// incomplete without blaming anyone. It needs root to mount the tmpfs.
func TestFullDiskUnderEventsLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs for the full-disk test needs root")
	}
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	// Only the events logs are on the small disk: the durable protocol
	// state has its own folder, whose failures are another matter.
	l, err := lab.Start(lab.Config{Bin: binDir, Dir: dir, StateDir: filepath.Join(t.TempDir(), "state"),
		N: 5, MaxSleep: 50 * time.Millisecond, Reuse: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Stop()
		if t.Failed() {
			for i := 0; i <= 5; i++ {
				t.Logf("process %d output:\n%s", i, lastLines(l.Output(i), 15))
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		t.Fatal(err)
	}
	sendFromAll(t, l, l.IDs(), 4, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 20, 30*time.Second)

	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	fill, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := fill.Write(chunk); err != nil {
			break
		}
	}
	for _, size := range []int{4096, 512, 64, 1} { // the last bytes too
		for {
			if _, err := fill.Write(chunk[:size]); err != nil {
				break
			}
		}
	}
	fill.Close()

	// Every middleware goes on ordering and says what is wrong.
	for _, i := range l.IDs() {
		if err := l.Send(i, 5); err != nil {
			t.Fatal(err)
		}
	}
	want := "events log: write failed (no space left)"
	for _, i := range l.IDs() {
		line := waitStatus(t, ctx, l, i, func(s string) bool { return strings.Contains(s, want) && strings.Contains(s, "ready=45") })
		t.Logf("full disk: %s", line[strings.Index(line, "events log"):])
	}
	for _, i := range l.IDs() {
		if n := strings.Count(l.Output(i), "write failed (no space left): events are not being written"); n != 1 {
			t.Errorf("Middleware %d logged the full disk %d times, want once", i, n)
		}
	}

	// Free the space: writing resumes after a "lost" line.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
	for _, i := range l.IDs() {
		waitStatus(t, ctx, l, i, func(s string) bool {
			return strings.Contains(s, "lost earlier (no space left), writing again") && strings.Contains(s, "ready=55")
		})
	}
	l.Stop()
	for _, i := range l.IDs() {
		data, err := os.ReadFile(l.LogPath(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 || data[len(data)-1] != '\n' {
			t.Errorf("Middleware %d's log ends in half a line", i)
		}
		if !strings.Contains(string(data), `"event":"lost"`) {
			t.Errorf("Middleware %d's log has no \"lost\" line", i)
		}
	}
	rep, err := l.Check(check.Options{Agreement: true})
	if err != nil {
		t.Fatalf("the checker blames someone for a full disk: %v", err)
	}
	if len(rep.Incomplete) < 5 {
		t.Fatalf("the checker calls %d logs incomplete, want all 5: %q", len(rep.Incomplete), rep.Incomplete)
	}
	t.Logf("checker: %s; %s", rep.Verdict, rep.Incomplete[0])
}
