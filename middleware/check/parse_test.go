package check

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseTruncatedLastLine(t *testing.T) {
	log := `{"level":"info","event":"sent","msg":"Msg #1 from Middleware 2","ts_us":100,"mw":2,"run":"r1","time":"x"}
{"level":"info","event":"received","msg":"Msg #1 from Middleware 2","ts_us":150,"mw":2,"run":"r1"}
{"level":"info","event":"ready","msg":"Msg #1 from Middleware 2","ts_us":160,"seq":1,"mw":2,"run":"r1"}
{"level":"info","event":"ready","msg":"Msg #2 fr`
	incs, warns, err := ParseReader(strings.NewReader(log), "middleware-2.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []Incarnation{{MW: 2, Run: "r1", Entries: []Entry{
		{Kind: Sent, Msg: "Msg #1 from Middleware 2", TS: 100},
		{Kind: Received, Msg: "Msg #1 from Middleware 2", TS: 150},
		{Kind: Ready, Msg: "Msg #1 from Middleware 2", TS: 160, Seq: 1},
	}}}
	if !reflect.DeepEqual(incs, want) {
		t.Errorf("got %+v\nwant %+v", incs, want)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "last line 4") {
		t.Errorf("warnings %q, want one note about the last line", warns)
	}
}

func TestParseWarnsAboutSkippedLines(t *testing.T) {
	log := `{"event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1}
not json at all
{"event":"started","ts_us":2}
{"event":"received","ts_us":3}
{"event":"ready","msg":"Msg #1 from Middleware 1","ts_us":4,"seq":1}

`
	incs, warns, err := ParseReader(strings.NewReader(log), filepath.Join("logs", "mw-1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].MW != 1 || len(incs[0].Entries) != 2 {
		t.Fatalf("got %+v, want middleware 1 (from the file name) with 2 entries", incs)
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{"2 unparsable line(s), the first at line 2", "1 line(s) with other events"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings %q lack %q", warns, want)
		}
	}
}

func TestParseNeedsMiddlewareID(t *testing.T) {
	_, _, err := ParseReader(strings.NewReader(`{"event":"sent","msg":"m","ts_us":1}`+"\n"), "events.jsonl")
	if err == nil || !strings.Contains(err.Error(), "events.jsonl:1") {
		t.Fatalf("got %v, want an error naming events.jsonl:1", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Lines of one run spread over two files merge in file order; runs of one
// middleware come out in start order; files without run ids are one run
// each.
func TestParseFilesMergesRuns(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.jsonl", `{"event":"ready","msg":"x","ts_us":500,"seq":3,"mw":1,"run":"late"}
{"event":"sent","msg":"y","ts_us":10,"mw":1,"run":"early"}
`)
	b := writeFile(t, dir, "b.jsonl", `{"event":"ready","msg":"z","ts_us":600,"seq":4,"mw":1,"run":"late"}
`)
	c := writeFile(t, dir, "middleware-3.jsonl", `{"event":"sent","msg":"w","ts_us":7}
`)
	d := writeFile(t, dir, "mw-3.jsonl", `{"event":"sent","msg":"v","ts_us":5}
`)
	incs, warns, err := ParseFiles([]string{a, b, c, d, a})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q", warns)
	}
	type brief struct {
		MW   int
		Run  string
		Msgs string
	}
	var got []brief
	for _, inc := range incs {
		var msgs []string
		for _, e := range inc.Entries {
			msgs = append(msgs, e.Msg)
		}
		got = append(got, brief{inc.MW, inc.Run, strings.Join(msgs, ",")})
	}
	want := []brief{{1, "early", "y"}, {1, "late", "x,z"}, {3, "", "v"}, {3, "", "w"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseFilesMissingFile(t *testing.T) {
	if _, _, err := ParseFiles([]string{filepath.Join(t.TempDir(), "middleware-1.jsonl")}); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// A multi-node log written the way the middleware writes it parses and
// passes, with the first run of middleware 2 crashed.
func TestParsedRunChecks(t *testing.T) {
	var logs [3]strings.Builder
	line := func(mw int, run, event, msg string, ts int64, seq uint64) {
		logs[mw-1].WriteString(`{"level":"info","event":"` + event + `","msg":"` + msg + `","ts_us":` +
			itoa(ts) + `,"mw":` + itoa(int64(mw)) + `,"run":"` + run + `"`)
		if seq > 0 {
			logs[mw-1].WriteString(`,"seq":` + itoa(int64(seq)))
		}
		logs[mw-1].WriteString("}\n")
	}
	order := roundRobin(3, 9)
	for k, m := range order {
		sender := senderOf(t, m)
		line(sender, "r"+itoa(int64(sender)), "sent", m, int64(1000*k), 0)
	}
	for mw := 1; mw <= 3; mw++ {
		for k, m := range order {
			run := "r" + itoa(int64(mw))
			if mw == 2 && k >= 4 {
				run = "again" // middleware 2 restarted and rejoined at seq 6
			}
			line(mw, run, "received", m, int64(1000*k+100), 0)
			if mw != 2 || k != 4 {
				line(mw, run, "ready", m, int64(1000*k+200), uint64(k+1))
			}
		}
	}
	dir := t.TempDir()
	var paths []string
	for i := range logs {
		paths = append(paths, writeFile(t, dir, "middleware-"+itoa(int64(i+1))+".jsonl", logs[i].String()))
	}
	incs, warns, err := ParseFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q", warns)
	}
	expectOK(t, incs, agree)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestParseLostLine: the marker a middleware writes after events it could
// not write becomes a gap, and the checker reports the log as incomplete
// instead of blaming its writer for the seq numbers it skips.
func TestParseLostLine(t *testing.T) {
	ev := func(kind, m string, ts, seq int, mw int) string {
		s := `{"level":"info","event":"` + kind + `","msg":"` + m + `","ts_us":` + strconv.Itoa(ts)
		if seq > 0 {
			s += `,"seq":` + strconv.Itoa(seq)
		}
		return s + `,"mw":` + strconv.Itoa(mw) + `,"run":"r` + strconv.Itoa(mw) + `"}` + "\n"
	}
	m1, m2, m3 := "Msg #1 from Middleware 1", "Msg #2 from Middleware 1", "Msg #3 from Middleware 1"
	one := ev("sent", m1, 1, 0, 1) + ev("sent", m2, 2, 0, 1) + ev("sent", m3, 3, 0, 1) +
		ev("ready", m1, 10, 1, 1) + ev("ready", m2, 11, 2, 1) + ev("ready", m3, 12, 3, 1)
	two := ev("ready", m1, 10, 1, 2) +
		`{"level":"warn","event":"lost","count":1,"from_ts_us":11,"to_ts_us":11,"error":"no space left","mw":2,"run":"r2","ts_us":20}` + "\n" +
		ev("ready", m3, 12, 3, 2)
	dir := t.TempDir()
	var paths []string
	for i, log := range []string{one, two} {
		path := filepath.Join(dir, "middleware-"+strconv.Itoa(i+1)+".jsonl")
		if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	incs, warns, err := ParseFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	if want := []Gap{{After: 1, Count: 1, FromTS: 11, ToTS: 11, Error: "no space left"}}; !reflect.DeepEqual(incs[1].Gaps, want) {
		t.Fatalf("gaps %+v, want %+v", incs[1].Gaps, want)
	}
	rep, err := Check(incs, Options{Agreement: true})
	if err != nil {
		t.Fatalf("a log with a gap is blamed: %v", err)
	}
	if len(rep.Incomplete) != 1 || !strings.Contains(rep.Incomplete[0], "Middleware 2's events log is incomplete: 1 events at 00:00:00.000011 (UTC) were not written (no space left)") {
		t.Fatalf("incomplete: %q", rep.Incomplete)
	}
}

// A Received of foreign content (not a lab message: a student's
// middleware's) is shown by the window but is nothing to check: no entry,
// no warning.
func TestParseLeavesOutForeignContent(t *testing.T) {
	log := `{"event":"received","msg":"From 8083: This is a test","ts_us":90,"foreign":true,"mw":2,"run":"r1"}
{"event":"sent","msg":"Msg #1 from Middleware 2","ts_us":100,"mw":2,"run":"r1"}
{"event":"received","msg":"Msg #1 from Middleware 3 10:00:01","ts_us":120,"foreign":true,"mw":2,"run":"r1"}
{"event":"received","msg":"Msg #1 from Middleware 2","ts_us":150,"mw":2,"run":"r1"}
{"event":"ready","msg":"Msg #1 from Middleware 2","ts_us":160,"seq":1,"mw":2,"run":"r1"}
`
	incs, warns, err := ParseReader(strings.NewReader(log), "middleware-2.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []Incarnation{{MW: 2, Run: "r1", Entries: []Entry{
		{Kind: Sent, Msg: "Msg #1 from Middleware 2", TS: 100},
		{Kind: Received, Msg: "Msg #1 from Middleware 2", TS: 150},
		{Kind: Ready, Msg: "Msg #1 from Middleware 2", TS: 160, Seq: 1},
	}}}
	if !reflect.DeepEqual(incs, want) || len(warns) != 0 {
		t.Errorf("got %+v %q\nwant %+v and no warning", incs, warns, want)
	}
}
