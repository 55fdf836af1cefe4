package compare

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"totalorder/internal/lab"
)

// Real processes: raft and isis under the same small workload, the leader
// (raft) or Middleware 5 (isis, which has none) paused for 3 s. Raft goes
// on without it; isis, which waits for every member, stalls until it is
// back.
func TestCompareRaftAndISIS(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes: skipped with -short")
	}
	if !lab.CanPause {
		t.Skip("skipped: its fault is a pause, which needs SIGSTOP and SIGCONT (Windows has neither)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	if err := lab.Build(ctx, bin); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "compare")
	cfg := Config{Bin: bin, Out: out, Protocols: []string{"raft", "isis"}, N: 5, Each: 16, Rate: 4,
		MaxSleep: 100 * time.Millisecond, Seed: 3, Pause: true, PauseFor: 3 * time.Second, Log: t.Logf}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", res.Table())
	if len(res.Rows) != 2 {
		t.Fatalf("%d rows, want 2", len(res.Rows))
	}
	for _, row := range res.Rows {
		if row.Err != "" {
			t.Fatalf("%s: %s", row.Protocol, row.Err)
		}
		if !row.Complete || row.Sent != 80 || row.Delivered != 80 {
			t.Errorf("%s: complete %v, %d sent, %d delivered; want all 80", row.Protocol, row.Complete, row.Sent, row.Delivered)
		}
		if !row.Agreement.OK || row.Agreement.Common != 80 || !strings.HasPrefix(row.Verdict, "OK") {
			t.Errorf("%s: agreement %+v, checker %q", row.Protocol, row.Agreement, row.Verdict)
		}
		if row.Ordering.Count != 5*80 || row.EndToEnd.Count != 5*80 || row.EndToEnd.Mean < row.Ordering.Mean {
			t.Errorf("%s: ordering %+v, end-to-end %+v", row.Protocol, row.Ordering, row.EndToEnd)
		}
		if row.ControlPerMsg <= 0 || row.AllControlPerMsg < row.ControlPerMsg {
			t.Errorf("%s: %.1f control messages per message, %.1f with heartbeats", row.Protocol, row.ControlPerMsg, row.AllControlPerMsg)
		}
		if p := row.Pause; p == nil || p.Length() < 2900*time.Millisecond || p.SentDuring == 0 || !p.CaughtUp {
			t.Errorf("%s: pause %+v", row.Protocol, p)
		}
	}
	raft, isis := res.Rows[0], res.Rows[1]
	if !raft.Pause.Leader || !raft.Pause.WentOn() {
		t.Errorf("raft with its leader paused: %s", raft.Pause)
	}
	if isis.Pause.MW != 5 || isis.Pause.Leader || isis.Pause.WentOn() || isis.Pause.Gap < 2*time.Second {
		t.Errorf("isis with Middleware 5 paused: %s", isis.Pause)
	}
	paths, err := res.WriteFiles(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(paths, filepath.Join(out, "raft", "mw-1.jsonl"), filepath.Join(out, "isis", "netsim.jsonl")) {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
}
