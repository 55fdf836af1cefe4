package timeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"totalorder/internal/evlog"
)

// recorded is where the events log package keeps runs recorded before it
// existed (the middleware wrote through zerolog: "level" and "time" in
// every line), and recorded.golden the same runs in today's format.
const recorded = "../internal/evlog/testdata/recorded"

// writeGolden writes run's logs, as recorded.golden has them, into dir.
func writeGolden(t *testing.T, run, dir string) {
	t.Helper()
	data, err := os.ReadFile(recorded + ".golden")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sec := range strings.Split(string(data), "# ")[1:] {
		name, body, _ := strings.Cut(sec, "\n")
		if r, file, ok := strings.Cut(name, "/"); ok && r == run {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d logs of %s in the golden file", n, run)
	}
}

// describe is everything a model holds, in a stable order.
func describe(m *Model) string {
	var b strings.Builder
	fmt.Fprintf(&b, "N=%d start=%d latest=%d network=%v\n", m.N, m.Start(), m.Latest(), m.HasNetwork())
	for _, msg := range m.Messages() {
		fmt.Fprintf(&b, "%q sender=%d sent=%d accepted=%d copies=%+v\n", msg.Text, msg.Sender, msg.Sent, msg.Accepted, msg.Copies)
	}
	for _, c := range m.Controls() {
		fmt.Fprintf(&b, "control %+v\n", c)
	}
	for _, mk := range m.Marks() {
		fmt.Fprintf(&b, "mark %+v\n", mk)
	}
	return b.String()
}

// Logs written before the events log package and the same logs written
// by it read as the same model: the timeline reads old logs as it reads
// new ones.
func TestOlderLogsReadTheSame(t *testing.T) {
	for _, run := range []string{"raft", "none", "raft-control-prefix"} {
		t.Run(run, func(t *testing.T) {
			old, err := Load(NewDirSource(filepath.Join(recorded, run)))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writeGolden(t, run, dir)
			now, err := Load(NewDirSource(dir))
			if err != nil {
				t.Fatal(err)
			}
			if a, b := describe(old), describe(now); a != b {
				t.Errorf("older logs read as\n%s\ntoday's as\n%s", a, b)
			}
			if old.Len() == 0 || !old.HasNetwork() {
				t.Errorf("%d messages, network %v", old.Len(), old.HasNetwork())
			}
		})
	}
	// What the recorded runs show: the restart, the marks, the
	// divergences, the leader views and control messages.
	raft, _ := Load(NewDirSource(filepath.Join(recorded, "raft")))
	none, _ := Load(NewDirSource(filepath.Join(recorded, "none")))
	ctl, _ := Load(NewDirSource(filepath.Join(recorded, "raft-control-prefix")))
	kinds := map[MarkKind]int{}
	for _, m := range []*Model{raft, none, ctl} {
		for _, mk := range m.Marks() {
			kinds[mk.Kind]++
		}
	}
	if kinds[MarkRestart] != 1 || kinds[MarkOther] != 4 || kinds[MarkDiverged] != 6 || kinds[MarkLeader] == 0 || len(ctl.Controls()) == 0 {
		t.Errorf("marks %v, %d controls", kinds, len(ctl.Controls()))
	}
}

// A record added to a model directly is what a log line gives.
func TestAddRecord(t *testing.T) {
	m := NewModel(2, Limits{})
	for _, r := range []evlog.Record{
		{Event: evlog.Sent, Msg: []byte(msgA), TS: at(1), MW: 1, Run: "r1"},
		{Event: evlog.Accepted, ID: 1, Msg: []byte(msgA), TS: at(1.1)},
		{Event: evlog.Copy, ID: 1, Msg: []byte(msgA), TS: at(1.2), To: 2, DelayUS: 0},
		{Event: evlog.Received, Msg: []byte(msgA), TS: at(1.3), Recovered: true},
		{Event: evlog.Ready, Msg: []byte(msgA), TS: at(1.4), Seq: 1},
		{Event: evlog.Sent, Msg: []byte(msgB), TS: at(2), MW: 1, Run: "r1b"},
	} {
		lane := 0
		if r.Event == evlog.Received || r.Event == evlog.Ready {
			lane = 2
		}
		m.Add(lane, &r)
	}
	a := m.Message(msgA)
	if a == nil || a.Sent != at(1) || a.Accepted != at(1.1) {
		t.Fatalf("A: %+v", a)
	}
	if c := a.Copies[1]; c.NetOut != at(1.2) || c.Delay != 0 || c.Recv != at(1.3) || !c.Recovered || c.Ready != at(1.4) || c.Seq != 1 {
		t.Errorf("A at Middleware 2: %+v", c)
	}
	if mk := m.Marks(); len(mk) != 1 || mk[0].Kind != MarkRestart || mk[0].Lane != 1 || mk[0].TS != at(2) {
		t.Errorf("marks %+v, want the restart of Middleware 1", mk)
	}
}

// A middleware's log that does not say whose it is, neither in its lines
// nor in its name, is an error, as for the checker.
func TestLogWithoutMiddleware(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	os.WriteFile(path, []byte(`{"event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1}`+"\n"), 0o644)
	if _, err := Load(NewFileSource([]string{path})); err == nil || !strings.Contains(err.Error(), "events.jsonl:1: no \"mw\"") {
		t.Errorf("got %v", err)
	}
	named := filepath.Join(t.TempDir(), "mw-4.log")
	os.WriteFile(named, []byte(`{"event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1}`+"\n"), 0o644)
	if m, err := Load(NewFileSource([]string{named})); err != nil || m.N != 4 {
		t.Errorf("a log named for Middleware 4: %v, %d lanes", err, m.N)
	}
}
