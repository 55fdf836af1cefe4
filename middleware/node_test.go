package middleware

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"totalorder/internal/evlog"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
	"totalorder/netsim"
)

// TestNodesAgree runs real nodes over loopback with a relay that reorders
// copies, each node sending 50 messages, and checks that every node
// delivers all of them in the same order (and that the events logs pass
// the order checker).
//
// The real network program relays in some cases: in its default mode (a
// connection per message, as the lab's original) and dropping copies, which
// the middlewares must recover from their peers.
func TestNodesAgree(t *testing.T) {
	for _, tc := range []struct {
		protocol core.Protocol
		n        int
		reuse    bool
		netsim   bool
		drop     float64
	}{
		{core.Raft, 5, true, false, 0},
		{core.Raft, 3, false, false, 0},
		{core.Sequencer, 5, true, false, 0},
		{core.Sequencer, 3, false, false, 0},
		{core.ISIS, 5, true, false, 0},
		{core.ISIS, 3, false, false, 0},
		{core.Raft, 5, false, true, 0},
		{core.Sequencer, 5, false, true, 0},
		{core.ISIS, 5, false, true, 0},
		{core.Raft, 4, true, true, 0.05},
		{core.Sequencer, 4, true, true, 0.05},
		{core.ISIS, 4, true, true, 0.05},
	} {
		name := fmt.Sprintf("%s/n=%d/reuse=%v", tc.protocol, tc.n, tc.reuse)
		if tc.netsim {
			name += fmt.Sprintf("/netsim/drop=%v", tc.drop)
		}
		t.Run(name, func(t *testing.T) {
			const perNode = 50
			total := tc.n * perNode
			o := clusterOpts{
				n: tc.n, protocol: tc.protocol, reuse: tc.reuse,
				maxSleep: 20 * time.Millisecond, events: true, logger: testLogger(t),
			}
			if tc.netsim {
				o.netsim = &netsim.Config{MaxSleep: o.maxSleep, Reuse: tc.reuse, Drop: tc.drop, Seed: 7, Quiet: true}
			}
			c := startCluster(t, o)
			logs := make([]*readyLog, tc.n+1)
			for i := 1; i <= tc.n; i++ {
				logs[i] = subscribeReady(c.nodes[i], total, nil)
			}
			for i := 1; i <= tc.n; i++ {
				for range perNode / 10 {
					c.nodes[i].Send(10)
				}
			}
			deadline := time.After(60 * time.Second)
			for i := 1; i <= tc.n; i++ {
				select {
				case <-logs[i].done:
				case <-deadline:
					got, _, _ := logs[i].snapshot()
					t.Fatalf("Middleware %d delivered %d of %d messages; status: %s", i, len(got), total, StatusLine(c.nodes[i].Status()))
				}
			}
			first, seqs, _ := logs[1].snapshot()
			for k, s := range seqs {
				if s != uint64(k+1) {
					t.Fatalf("Middleware 1's Ready seq %d at position %d", s, k+1)
				}
			}
			if uniq := slices.Compact(slices.Sorted(slices.Values(first))); len(uniq) != total {
				t.Fatalf("Middleware 1 delivered %d distinct messages of %d", len(uniq), total)
			}
			for i := 2; i <= tc.n; i++ {
				got, _, _ := logs[i].snapshot()
				if !slices.Equal(got, first) {
					k := 0
					for k < len(got) && got[k] == first[k] {
						k++
					}
					t.Fatalf("Middleware %d's Ready order differs from Middleware 1's at position %d: %q vs %q", i, k+1, got[k], first[k])
				}
			}
			// Status follows the subscribers' batch right after it.
			waitFor(t, "Middleware 1's status to show every message", 10*time.Second, func() bool {
				st := c.nodes[1].Status()
				return st.Sent == perNode && st.Ready == total && st.Received == total && st.Pending == 0 &&
					st.ID == 1 && st.N == tc.n && st.PeersUp == tc.n-1 && st.NetworkUp && st.NetQueued == 0
			})
			c.stop() // flushes the events logs
			for i := 1; i <= tc.n; i++ {
				if _, _, extra := logs[i].snapshot(); extra != 0 {
					t.Errorf("Middleware %d delivered %d messages more than were sent", i, extra)
				}
			}
			var incs []check.Incarnation
			for i := 1; i <= tc.n; i++ {
				incs = append(incs, readEventsLog(t, c.events[i], i))
			}
			if _, err := check.Check(incs, check.Options{Agreement: true}); err != nil {
				t.Fatalf("events logs: %v", err)
			}
		})
	}
}

// readEventsLog reads an events log for the order checker.
// A mark in an events log (a loop starved for a second on a loaded
// machine marks a pause) is not a list change: readEventsLog skips it.
func TestReadEventsLogSkipsMarks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middleware-1.jsonl")
	lines := `{"event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1,"mw":1,"run":"r"}
{"event":"mark","label":"paused","ts_us":2,"mw":1,"run":"r"}
{"event":"mark","label":"resumed","ts_us":3,"mw":1,"run":"r"}
{"event":"ready","msg":"Msg #1 from Middleware 1","ts_us":4,"seq":1,"mw":1,"run":"r"}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if inc := readEventsLog(t, path, 1); len(inc.Entries) != 2 || inc.Entries[0].Kind != check.Sent || inc.Entries[1].Kind != check.Ready {
		t.Errorf("entries %+v, want the sent and the ready", inc.Entries)
	}
}

func readEventsLog(t *testing.T, path string, mw int) check.Incarnation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inc := check.Incarnation{MW: mw}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct {
			Event string `json:"event"`
			Msg   string `json:"msg"`
			TS    int64  `json:"ts_us"`
			Seq   uint64 `json:"seq"`
			MW    int    `json:"mw"`
			Run   string `json:"run"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if line.MW != mw || line.Run == "" {
			t.Fatalf("%s: line for mw %d run %q", path, line.MW, line.Run)
		}
		inc.Run = line.Run
		switch ev := evlog.ParseEvent([]byte(line.Event)); {
		case ev == evlog.Unknown:
			t.Fatalf("%s: unknown event %q", path, line.Event)
		case !ev.List():
			// Not a list change: a mark, say ("paused" and "resumed"
			// when the node's loop did not run for a second, which a
			// loaded machine can cause).
			continue
		}
		kind := map[string]check.Kind{"sent": check.Sent, "received": check.Received, "ready": check.Ready}[line.Event]
		inc.Entries = append(inc.Entries, check.Entry{Kind: kind, Msg: line.Msg, TS: line.TS, Seq: line.Seq})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return inc
}

var (
	benchTimeout = flag.Duration("bench-timeout", 5*time.Minute, "BenchmarkNodes: how long to wait for all deliveries")
	benchEvents  = flag.Bool("bench-events", true, "BenchmarkNodes: write events logs")
	benchWindow  = flag.Int("bench-window", 20000, "BenchmarkNodes: messages in flight at most, system-wide (0: send everything at once)")
)

// BenchmarkNodes measures ordered deliveries per second per node: five
// nodes over a relay without delays, every node sending as fast as the
// group delivers (at most -bench-window messages sent and not yet ready
// everywhere, so that the run measures sustained throughput rather than how
// a huge burst is absorbed). b.N is the total number of messages; run with
// -benchtime=300000x or so.
func BenchmarkNodes(b *testing.B) {
	for _, protocol := range core.Protocols {
		b.Run(string(protocol), func(b *testing.B) {
			const n, chunk = 5, 500
			perNode := max(b.N/n, 1)
			total := perNode * n
			c := startCluster(b, clusterOpts{n: n, protocol: protocol, reuse: true, events: *benchEvents, logger: testLogger(b)})
			progress := make(chan struct{}, 1)
			logs := make([]*readyLog, n+1)
			for i := 1; i <= n; i++ {
				logs[i] = subscribeReady(c.nodes[i], total, progress)
			}
			waitFor(b, "the control links", 30*time.Second, func() bool {
				for i := 1; i <= n; i++ {
					if st := c.nodes[i].Status(); st.PeersUp != n-1 {
						return false
					}
				}
				return true
			})
			fail := func() {
				for j := 1; j <= n; j++ {
					b.Errorf("%s; relay took %d messages", StatusLine(c.nodes[j].Status()), c.relay.frames.Load())
				}
				b.FailNow()
			}
			b.ResetTimer()
			start := time.Now()
			timeout := time.After(*benchTimeout)
			for sent := 0; sent < perNode; {
				slowest := total
				for i := 1; i <= n; i++ {
					slowest = min(slowest, logs[i].count())
				}
				if *benchWindow > 0 && sent*n-slowest >= *benchWindow {
					select {
					case <-progress:
					case <-timeout:
						b.Errorf("sent %d of %d per node before the timeout", sent, perNode)
						fail()
					}
					continue
				}
				k := min(chunk, perNode-sent)
				for i := 1; i <= n; i++ {
					c.nodes[i].Send(k)
				}
				sent += k
			}
			for i := 1; i <= n; i++ {
				select {
				case <-logs[i].done:
				case <-timeout:
					b.Errorf("Middleware %d delivered %d of %d", i, logs[i].count(), total)
					fail()
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s/node")
			b.ReportMetric(0, "ns/op")
			c.stop()
		})
	}
}

// Isolate cuts a middleware off (its status says so and it reaches no
// quorum), marks the moment in its events log for the timeline, and
// reconnects it.
func TestIsolateMarksAndReconnects(t *testing.T) {
	c := startCluster(t, clusterOpts{n: 3, protocol: core.Raft, reuse: true, events: true, logger: testLogger(t)})
	waitFor(t, "a leader", 30*time.Second, func() bool { return c.nodes[1].Status().Leader != 0 })
	c.nodes[1].Isolate(-1)
	waitFor(t, "the cut-off status", 30*time.Second, func() bool {
		s := c.nodes[1].Status()
		return s.Isolated && s.PeersUp == 0 && strings.Contains(s.Waiting, "no quorum")
	})
	c.nodes[1].Isolate(0)
	waitFor(t, "reconnection", 30*time.Second, func() bool {
		s := c.nodes[1].Status()
		return !s.Isolated && s.Waiting == "" && s.Leader != 0
	})
	c.stop()
	b, err := os.ReadFile(c.events[1])
	if err != nil {
		t.Fatal(err)
	}
	cut, back := strings.Index(string(b), `"label":"cut off"`), strings.Index(string(b), `"label":"reconnected"`)
	if cut < 0 || back < cut {
		t.Fatalf("events log lacks the cut-off and reconnection marks, in order:\n%s", b)
	}
}
