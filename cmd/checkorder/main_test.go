package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLogs writes the logs of a run of three middlewares that each send
// two messages and deliver all six in one order, except that middleware 3
// stops before the last one when stopEarly is set. It returns the
// directory.
func writeLogs(t *testing.T, dir string, stopEarly bool) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs [3]strings.Builder
	for k := range 6 {
		sender := k%3 + 1
		m := fmt.Sprintf("Msg #%d from Middleware %d", k/3+1, sender)
		fmt.Fprintf(&logs[sender-1], `{"level":"info","event":"sent","msg":%q,"ts_us":%d}`+"\n", m, 1000*k)
		for mw := 1; mw <= 3; mw++ {
			fmt.Fprintf(&logs[mw-1], `{"level":"info","event":"received","msg":%q,"ts_us":%d}`+"\n", m, 1000*k+100)
			if stopEarly && mw == 3 && k == 5 {
				continue
			}
			fmt.Fprintf(&logs[mw-1], `{"level":"info","event":"ready","msg":%q,"ts_us":%d,"seq":%d}`+"\n", m, 1000*k+200, k+1)
		}
	}
	for i := range logs {
		name := filepath.Join(dir, fmt.Sprintf("middleware-%d.jsonl", i+1))
		if err := os.WriteFile(name, []byte(logs[i].String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	good := writeLogs(t, filepath.Join(t.TempDir(), "good"), false)
	early := writeLogs(t, filepath.Join(t.TempDir(), "early"), true)
	goodGlob := filepath.Join(good, "*.jsonl")
	earlyGlob := filepath.Join(early, "*.jsonl")

	tests := []struct {
		name string
		args []string
		code int
		out  string // expected in stdout
	}{
		{"clean run", []string{goodGlob}, 0, "OK: total order, integrity, agreement and contiguous seq hold for 3 middlewares, 6 messages"},
		{"a log missing", []string{filepath.Join(good, "middleware-1.jsonl"), filepath.Join(good, "middleware-2.jsonl")}, 1, "VIOLATION integrity"},
		{"a log missing, allowed", []string{"-allow-unsent", filepath.Join(good, "middleware-1.jsonl"), filepath.Join(good, "middleware-2.jsonl")}, 0, "unsent deliveries allowed"},
		{"stopped early", []string{earlyGlob}, 1, "VIOLATION agreement: Middleware 3 (last seq 5) never delivered"},
		{"agreement off", []string{"-no-agreement", earlyGlob}, 0, "agreement not checked"},
		{"crashed", []string{"-crashed", "3", earlyGlob}, 0, "crashed: 3"},
		{"flags after files", []string{earlyGlob, "-crashed", "3"}, 0, "OK:"},
		{"missing file", []string{filepath.Join(good, "middleware-9.jsonl")}, 2, ""},
		{"glob without match", []string{filepath.Join(good, "*.txt")}, 2, ""},
		{"bad flag", []string{"-bogus", goodGlob}, 2, ""},
		{"bad crashed list", []string{"-crashed", "two", goodGlob}, 2, ""},
		{"help", []string{"-h"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out, tt.out) {
				t.Errorf("stdout lacks %q:\n%s", tt.out, out)
			}
			if tt.code == 2 && errOut == "" {
				t.Error("usage/IO error without a message on stderr")
			}
		})
	}
}

func TestQuietPrintsOnlyTheVerdict(t *testing.T) {
	dir := writeLogs(t, t.TempDir(), true)
	code, out, _ := runCmd("-q", filepath.Join(dir, "*.jsonl"))
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "VIOLATION agreement: ") {
		t.Fatalf("exit %d, stdout %q; want 1 and one VIOLATION line", code, out)
	}
}

func TestJSONReport(t *testing.T) {
	dir := writeLogs(t, t.TempDir(), false)
	code, out, _ := runCmd("-json", filepath.Join(dir, "*.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Verdict  string
		Messages int
		PerMW    []struct {
			MW    int
			Ready int
		} `json:"per_mw"`
		Overall struct {
			Latency struct {
				Ready struct {
					Count  int
					MeanNS int64 `json:"mean_ns"`
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if !strings.HasPrefix(rep.Verdict, "OK:") || rep.Messages != 6 || len(rep.PerMW) != 3 || rep.PerMW[2].Ready != 6 {
		t.Errorf("report %+v", rep)
	}
	// Every delivery is 200 µs after its send.
	if l := rep.Overall.Latency.Ready; l.Count != 18 || l.MeanNS != 200_000 {
		t.Errorf("overall latency %+v, want 18 samples of 200µs", l)
	}
	// Content arrival is the lower bound; send order only a reference.
	if !strings.Contains(out, `"content_arrival_bound"`) || !strings.Contains(out, `"send_order_reference"`) ||
		strings.Contains(out, "send_order_bound") {
		t.Errorf("latency keys: want content_arrival_bound and send_order_reference in\n%s", out)
	}
}

func TestDefaultsToLogsDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if code, _, errOut := runCmd(); code != 2 || !strings.Contains(errOut, "run the lab first") {
		t.Fatalf("without logs: exit %d, stderr %q; want 2 and a hint", code, errOut)
	}
	writeLogs(t, "logs", false)
	if code, out, _ := runCmd("-q"); code != 0 || !strings.HasPrefix(out, "OK:") {
		t.Fatalf("with logs: exit %d, stdout %q", code, out)
	}
}

// -shiviz writes the run for ShiViz; the network program's log among the
// files feeds ShiViz, not the checker (no warning about it).
func TestShiVizExport(t *testing.T) {
	dir := t.TempDir()
	writeLogs(t, dir, false)
	net := `{"event":"accepted","id":1,"msg":"Msg #1 from Middleware 1","ts_us":50}` + "\n" +
		`{"event":"copy","id":1,"msg":"Msg #1 from Middleware 1","to":2,"delay_us":40,"ts_us":90}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "netsim.jsonl"), []byte(net), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run.shiviz")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-shiviz", out, filepath.Join(dir, "*.jsonl")}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "netsim") {
		t.Errorf("the checker read the network program's log:\n%s", stdout.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if lines[0] != `(?<host>\S*) (?<clock>{.*})\n(?<event>.*)` || lines[1] != "" {
		t.Errorf("header %q %q", lines[0], lines[1])
	}
	for _, want := range []string{"Network {", "accept Msg #1 from Middleware 1", "ready #6 Msg #2 from Middleware 3"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("no %q in the ShiViz log", want)
		}
	}
}

// writeOrders writes the logs of three middlewares that each send two
// messages (k sent at 1000k µs) and deliver them in the order given per
// middleware (all six received at once); extra lines are appended to a
// middleware's log. It returns a glob of the files.
func writeOrders(t *testing.T, dir string, orders [3][]int, extra [3]string) string {
	t.Helper()
	var logs [3]strings.Builder
	m := func(k int) string { return fmt.Sprintf("Msg #%d from Middleware %d", k/3+1, k%3+1) }
	for k := range 6 {
		fmt.Fprintf(&logs[k%3], `{"level":"info","event":"sent","msg":%q,"ts_us":%d,"mw":%d,"run":"r"}`+"\n", m(k), 1000*k, k%3+1)
	}
	for i, order := range orders {
		for k := range 6 {
			fmt.Fprintf(&logs[i], `{"level":"info","event":"received","msg":%q,"ts_us":%d,"mw":%d,"run":"r"}`+"\n", m(k), 6000+k, i+1)
		}
		for s, k := range order {
			fmt.Fprintf(&logs[i], `{"level":"info","event":"ready","msg":%q,"ts_us":%d,"seq":%d,"mw":%d,"run":"r"}`+"\n", m(k), 7000+100*s, s+1, i+1)
		}
		logs[i].WriteString(extra[i])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("middleware-%d.jsonl", i+1)), []byte(logs[i].String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "*.jsonl")
}

// A run without ordering (-protocol none: each middleware delivers in
// arrival order) fails with the first position where the Ready lists
// differ and both messages there, and the divergences the middlewares
// recorded themselves are reported beside it, in text and JSON.
func TestNoneRunReport(t *testing.T) {
	inOrder := []int{0, 1, 2, 3, 4, 5}
	swapped := []int{0, 1, 3, 2, 4, 5} // Middleware 3 got #4 before #3
	diverged := `{"level":"info","event":"diverged","msg":"Msg #2 from Middleware 1","ts_us":9000,"seq":3,"peer":1,"there":"Msg #1 from Middleware 3","mw":3,"run":"r"}` + "\n"
	glob := writeOrders(t, t.TempDir(), [3][]int{inOrder, inOrder, swapped}, [3]string{2: diverged})
	code, out, errOut := runCmd(glob)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		`VIOLATION total order: 2 positions carry different messages at different middlewares; first: Middleware 1 and 3 disagree at #3: "Msg #1 from Middleware 3" vs "Msg #2 from Middleware 1"`,
		`The logs first differ at #3: Middleware 1 delivered "Msg #1 from Middleware 3" there, Middleware 3 "Msg #2 from Middleware 1".`,
		"Divergences the middlewares recorded (their live agreement check):",
		`Middleware 3 differs from Middleware 1 at #3: "Msg #2 from Middleware 1" here, "Msg #1 from Middleware 3" there (at 00:00:00.009000 UTC; the logs confirm it)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks\n %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "warning:") {
		t.Errorf("warnings for a diverged line:\n%s", out)
	}
	t.Logf("checkorder prints:\n%s", out)

	code, out, _ = runCmd("-json", glob)
	var rep struct {
		Divergence *struct {
			MW, Peer    int
			Seq         uint64
			Here, There string
		}
		Recorded []struct {
			MW, Peer int
			Seq      uint64
			Logs     string
		} `json:"recorded_divergences"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("exit %d, %v in\n%s", code, err, out)
	}
	if d := rep.Divergence; d == nil || d.Seq != 3 || d.MW != 1 || d.Peer != 3 || d.Here != "Msg #1 from Middleware 3" || d.There != "Msg #2 from Middleware 1" {
		t.Errorf("divergence %+v", rep.Divergence)
	}
	if len(rep.Recorded) != 1 || rep.Recorded[0].MW != 3 || rep.Recorded[0].Peer != 1 || rep.Recorded[0].Seq != 3 || rep.Recorded[0].Logs != "confirmed" {
		t.Errorf("recorded %+v", rep.Recorded)
	}
}

// A middleware restarted with an empty state (a new run id) delivers
// positions 1–6 again: a violation, in text and JSON.
func TestAmnesiacRestartReport(t *testing.T) {
	all := []int{0, 1, 2, 3, 4, 5}
	var again strings.Builder
	for s, k := range all {
		fmt.Fprintf(&again, `{"level":"info","event":"ready","msg":"Msg #%d from Middleware %d","ts_us":%d,"seq":%d,"mw":2,"run":"again"}`+"\n", k/3+1, k%3+1, 20000+100*s, s+1)
	}
	glob := writeOrders(t, t.TempDir(), [3][]int{all, all, all}, [3]string{1: again.String()})
	code, out, _ := runCmd(glob)
	want := `VIOLATION integrity: 6 deliveries of a message an earlier incarnation of the same middleware had delivered; first: ` +
		`Middleware 2 (incarnation 2 of 2, run again) delivered again 6 messages its incarnation 1 (run r) had delivered, at seq 1–6; ` +
		`the first: "Msg #1 from Middleware 1" at seq 1 (seq 1 before)`
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want 1 and\n %s\nin\n%s", code, want, out)
	}
	t.Logf("checkorder prints:\n%s", out)
	code, out, _ = runCmd("-json", glob)
	var rep struct {
		Violations []struct {
			Property string
			Count    int
			Examples []string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("exit %d, %v in\n%s", code, err, out)
	}
	if len(rep.Violations) != 1 || rep.Violations[0].Property != "integrity" || rep.Violations[0].Count != 6 ||
		!strings.Contains(rep.Violations[0].Examples[0], "delivered again 6 messages") {
		t.Errorf("violations %+v", rep.Violations)
	}
}

// A log whose writer's disk stayed full until it exited ends with a final
// "lost" line: the checker calls it incomplete and blames nobody.
func TestLogIncompleteAtExit(t *testing.T) {
	all := []int{0, 1, 2, 3, 4, 5}
	lost := `{"level":"warn","event":"lost","count":1,"from_ts_us":7500,"to_ts_us":7500,"error":"no space left","final":true,"mw":3,"run":"r","ts_us":9000}` + "\n"
	glob := writeOrders(t, t.TempDir(), [3][]int{all, all, all[:5]}, [3]string{2: lost})
	code, out, _ := runCmd(glob)
	want := "incomplete: Middleware 3's events log is incomplete: its last 1 events, at 00:00:00.007500 (UTC), were not written before it exited (no space left)"
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "OK: ") {
		t.Fatalf("exit %d, want 0 and\n %s\nin\n%s", code, want, out)
	}
	// The same log without that line: Middleware 3 never delivered #6.
	glob = writeOrders(t, t.TempDir(), [3][]int{all, all, all[:5]}, [3]string{})
	if code, out, _ := runCmd("-q", glob); code != 1 || !strings.Contains(out, "Middleware 3 (last seq 5) never delivered") {
		t.Errorf("exit %d, %s", code, out)
	}
}
