package evlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads every record of rd as its written form, and bad lines as
// "bad N".
func readAll(t *testing.T, rd *Reader) []string {
	t.Helper()
	var out []string
	for {
		r, err := rd.Next()
		var le *LineError
		switch {
		case err == nil:
			out = append(out, string(r.AppendJSON(nil)))
		case errors.Is(err, io.EOF):
			return out
		case errors.As(err, &le):
			out = append(out, fmt.Sprintf("bad %d", le.Line))
		default:
			t.Fatal(err)
		}
	}
}

// Lines written by the middleware through zerolog before this package
// (a "level" and a "time" in every line, fields in its order) read as
// the same records as the lines written now.
func TestReaderReadsOlderLogs(t *testing.T) {
	old := `{"level":"info","event":"sent","msg":"Msg #1 from Middleware 2","ts_us":100,"mw":2,"run":"r1","time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"received","msg":"Msg #1 from Middleware 2","ts_us":150,"recovered":true,"mw":2,"run":"r1","time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"ready","msg":"Msg #1 from Middleware 2","ts_us":160,"seq":1,"mw":2,"run":"r1","time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"diverged","msg":"Msg #1 from Middleware 3","ts_us":170,"seq":1,"peer":2,"there":"Msg #1 from Middleware 2","mw":2,"run":"r1","time":"2025-01-01T00:00:00Z"}
{"level":"warn","event":"lost","count":1,"from_ts_us":11,"to_ts_us":12,"error":"no space left","final":true,"mw":2,"run":"r1","ts_us":20,"time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"control","dir":"out","peer":3,"kind":"MsgApp","ts_us":180,"mw":2,"run":"r1"}
{"level":"info","event":"leader","leader":0,"term":2,"ts_us":190,"mw":2,"run":"r1"}
{"level":"info","event":"mark","label":"cut off","ts_us":200,"mw":2,"run":"r1"}
{"event":"copy","id":7,"msg":"Msg #1 from Middleware 2","to":3,"delay_us":0,"ts_us":210}
`
	now := []*Record{
		{Event: Sent, Msg: []byte("Msg #1 from Middleware 2"), TS: 100},
		{Event: Received, Msg: []byte("Msg #1 from Middleware 2"), TS: 150, Recovered: true},
		{Event: Ready, Msg: []byte("Msg #1 from Middleware 2"), TS: 160, Seq: 1},
		{Event: Diverged, Msg: []byte("Msg #1 from Middleware 3"), TS: 170, Seq: 1, Peer: 2, There: "Msg #1 from Middleware 2"},
		{Event: Lost, TS: 20, Count: 1, FromTS: 11, ToTS: 12, Error: "no space left", Final: true},
		{Event: Control, TS: 180, Dir: "out", Peer: 3, Kind: "MsgApp"},
		{Event: Leader, TS: 190, Term: 2},
		{Event: Mark, TS: 200, Label: "cut off"},
	}
	var buf strings.Builder
	for _, r := range now {
		r.MW, r.Run = 2, "r1"
		buf.Write(append(r.AppendJSON(nil), '\n'))
	}
	buf.WriteString(`{"event":"copy","id":7,"msg":"Msg #1 from Middleware 2","ts_us":210,"to":3,"delay_us":0}` + "\n")
	got := readAll(t, NewReader(strings.NewReader(old)))
	want := readAll(t, NewReader(strings.NewReader(buf.String())))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("older lines read as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(strings.Join(got, ""), "level") || len(got) != 9 {
		t.Errorf("%d records: %q", len(got), got)
	}
}

// A whole log: blank lines skipped (and counted), bad lines reported
// with their number, a last line without its newline read.
func TestReaderWholeLog(t *testing.T) {
	log := "{\"event\":\"sent\",\"msg\":\"a\",\"ts_us\":1}\r\n\n  \nnot json\n{\"event\":\"ready\",\"msg\":\"a\",\"ts_us\":2,\"seq\":\"1\"}\n{\"event\":\"ready\",\"msg\":\"a\",\"ts_us\":3,\"seq\":1}"
	got := readAll(t, NewReader(strings.NewReader(log)))
	want := []string{`{"event":"sent","msg":"a","ts_us":1}`, "bad 4", "bad 5", `{"event":"ready","msg":"a","ts_us":3,"seq":1}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// However the input is cut (a byte at a time, or in two at any point,
// as a log being written is), a followed log gives the same records, and
// a half line waits for its end.
func TestReaderPartialLines(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "recorded", "raft", "middleware-3.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, NewReader(strings.NewReader(string(data))))
	if len(want) < 20 {
		t.Fatalf("only %d records", len(want))
	}
	if got := readAll(t, NewReader(iotest.OneByteReader(strings.NewReader(string(data))))); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Error("a byte at a time reads otherwise")
	}
	for cut := 0; cut <= len(data); cut += 7 {
		rd := Follow(strings.NewReader(string(data[:cut])))
		got := readAll(t, rd)
		whole := strings.Count(string(data[:cut]), "\n")
		if len(got) != whole {
			t.Fatalf("cut at %d: %d records from %d whole lines", cut, len(got), whole)
		}
		if held := cut - (strings.LastIndexByte(string(data[:cut]), '\n') + 1); rd.Held() != held {
			t.Fatalf("cut at %d: holds %d bytes, want %d", cut, rd.Held(), held)
		}
		rd.Reset(strings.NewReader(string(data[cut:])))
		got = append(got, readAll(t, rd)...)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("cut at %d: read otherwise", cut)
		}
	}
}

// A line longer than MaxLine is one bad line; reading goes on after it.
func TestReaderLongLine(t *testing.T) {
	long := `{"event":"sent","msg":"` + strings.Repeat("x", 300<<10) + `","ts_us":1}`
	for _, follow := range []bool{false, true} {
		log := `{"event":"sent","msg":"a","ts_us":1}` + "\n" + long + "\n" + `{"event":"sent","msg":"b","ts_us":2}` + "\n"
		var rd *Reader
		if follow {
			rd = Follow(iotest.HalfReader(strings.NewReader(log)))
		} else {
			rd = NewReader(strings.NewReader(log))
		}
		rd.MaxLine = 100 << 10
		got := readAll(t, rd)
		want := []string{`{"event":"sent","msg":"a","ts_us":1}`, "bad 2", `{"event":"sent","msg":"b","ts_us":2}`}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("follow %v: got %.200q", follow, got)
		}
	}
	// At the limit, a line is read.
	rd := NewReader(strings.NewReader(long))
	rd.MaxLine = len(long)
	if got := readAll(t, rd); len(got) != 1 || strings.HasPrefix(got[0], "bad") {
		t.Errorf("a line of MaxLine bytes: %.100q", got)
	}
}

// A read error other than the end is the caller's.
func TestReaderSourceError(t *testing.T) {
	rd := NewReader(iotest.ErrReader(errors.New("disk on fire")))
	if _, err := rd.Next(); err == nil || err.Error() != "disk on fire" {
		t.Errorf("got %v", err)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func line(n int) string {
	return fmt.Sprintf(`{"event":"sent","msg":"Msg #%d from Middleware 1","ts_us":%d}`+"\n", n, n)
}

func pollMsgs(t *testing.T, tl *Tail) []string {
	t.Helper()
	var got []string
	if _, err := tl.Poll(func(r *Record) { got = append(got, string(r.Msg)) }); err != nil {
		t.Fatal(err)
	}
	return got
}

// A tail reads what was appended since the last poll, a half line when
// its end comes, a file that is not there yet as nothing, and a file
// started again from its start.
func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middleware-1.jsonl")
	tl := &Tail{Path: path}
	if got := pollMsgs(t, tl); len(got) != 0 {
		t.Fatalf("no file: %q", got)
	}
	appendFile(t, path, line(1)+line(2)+line(3)[:10])
	if got := pollMsgs(t, tl); strings.Join(got, ",") != "Msg #1 from Middleware 1,Msg #2 from Middleware 1" {
		t.Fatalf("got %q", got)
	}
	if got := pollMsgs(t, tl); len(got) != 0 {
		t.Fatalf("nothing new: %q", got)
	}
	appendFile(t, path, line(3)[10:]+"garbage\n"+line(4))
	if got := pollMsgs(t, tl); strings.Join(got, ",") != "Msg #3 from Middleware 1,Msg #4 from Middleware 1" || tl.Bad != 1 {
		t.Fatalf("got %q, %d bad", got, tl.Bad)
	}
	os.WriteFile(path, []byte(line(9)), 0o644) // a new run
	if got := pollMsgs(t, tl); strings.Join(got, ",") != "Msg #9 from Middleware 1" {
		t.Fatalf("after the file started again: %q", got)
	}
}

// A tail can start near the end of a long log, at a whole line, and read
// a burst over several polls.
func TestTailFromAndMaxRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middleware-1.jsonl")
	var b strings.Builder
	for i := 1; i <= 2000; i++ {
		b.WriteString(line(i))
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	tl := &Tail{Path: path, From: 4096}
	got := pollMsgs(t, tl)
	if len(got) == 0 || len(got) > 4096/50 || got[len(got)-1] != "Msg #2000 from Middleware 1" {
		t.Fatalf("from the last 4 KiB: %d messages, %q…", len(got), got[:min(len(got), 2)])
	}
	if !strings.HasPrefix(got[0], "Msg #") {
		t.Errorf("first record %q is not whole", got[0])
	}

	tl = &Tail{Path: path, MaxRead: 10000}
	n, polls := 0, 0
	for {
		got := pollMsgs(t, tl)
		if len(got) == 0 {
			break
		}
		n += len(got)
		polls++
	}
	if n != 2000 || polls < int(tl.Offset()/10000) {
		t.Errorf("read %d records in %d polls", n, polls)
	}
}

func TestFileMW(t *testing.T) {
	for name, want := range map[string]int{
		"middleware-3.jsonl": 3, filepath.Join("logs", "mw-12.jsonl"): 12, "MW_3.log": 3, "middleware4": 4,
		"netsim.jsonl": 0, "events.jsonl": 0, "middleware-3.jsonl.reserve": 3,
	} {
		if got := FileMW(name); got != want {
			t.Errorf("FileMW(%q) = %d, want %d", name, got, want)
		}
	}
}
