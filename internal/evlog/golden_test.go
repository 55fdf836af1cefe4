package evlog

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/recorded.golden")

// The recorded runs in testdata/recorded were written by the lab before
// this package (the middleware through zerolog, netsim by hand): netsim
// and three headless middlewares over loopback, netsim's -max-sleep 300ms.
//
//   - raft: two sends each; Middleware 3 cut off for 1.5 s and sending
//     while cut off; Middleware 2 paused (kill -STOP) for 1.3 s; one send
//     each; Middleware 3 killed (kill -9) and started again; one send from
//     3 and 1.
//   - none: -protocol none, five sends each: the Ready lists differ and
//     the live agreement check says where ("diverged").
//   - raft-control-prefix: the first 60 lines of each log of a raft run
//     with -events-control (control messages and leader views).
//
// TestRecordedRunGolden reads them and writes them again with the Writer:
// recorded.golden is the result, in today's format. It pins both how the
// older format reads and how the format is written; the records read
// from the golden file are those read from the recorded ones.
func TestRecordedRunGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "recorded", "*", "*.jsonl"))
	if err != nil || len(paths) < 12 {
		t.Fatalf("recorded logs: %v, %v", paths, err)
	}
	var golden bytes.Buffer
	var recorded [][]Record
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(`"level":"info"`)) && !strings.HasSuffix(p, "netsim.jsonl") {
			t.Errorf("%s: not a log of the older format", p)
		}
		recs := readRecords(t, p, data)
		if want := bytes.Count(data, []byte("\n")); len(recs) != want {
			t.Errorf("%s: %d records from %d lines", p, len(recs), want)
		}
		recorded = append(recorded, recs)
		rel, _ := filepath.Rel(filepath.Join("testdata", "recorded"), p)
		golden.WriteString("# " + filepath.ToSlash(rel) + "\n")
		w := NewWriter(nopFile{&golden}, p, Options{})
		for i := range recs {
			w.Write(&recs[i])
		}
		w.Flush(testNow)
	}
	goldenPath := filepath.Join("testdata", "recorded.golden")
	if *update {
		if err := os.WriteFile(goldenPath, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(golden.Bytes(), want) {
		got := strings.Split(golden.String(), "\n")
		exp := strings.Split(string(want), "\n")
		for i := 0; i < min(len(got), len(exp)); i++ {
			if got[i] != exp[i] {
				t.Fatalf("differs from %s at line %d (go test -update rewrites it):\ngot  %s\nwant %s", goldenPath, i+1, got[i], exp[i])
			}
		}
		t.Fatalf("differs from %s: %d lines, want %d (go test -update rewrites it)", goldenPath, len(got), len(exp))
	}
	for _, bad := range []string{`"level"`, `"time"`} {
		if bytes.Contains(want, []byte(bad)) {
			t.Errorf("the golden log has a logging library's %s field", bad)
		}
	}

	// The golden file reads back as the recorded logs read.
	sections := strings.Split(string(want), "# ")[1:]
	if len(sections) != len(recorded) {
		t.Fatalf("%d sections, want %d", len(sections), len(recorded))
	}
	for i, sec := range sections {
		name, body, _ := strings.Cut(sec, "\n")
		back := readRecords(t, name, []byte(body))
		if len(back) != len(recorded[i]) {
			t.Fatalf("%s: %d records, want %d", name, len(back), len(recorded[i]))
		}
		for k := range back {
			if !sameRecord(back[k], recorded[i][k]) {
				t.Fatalf("%s record %d: %+v, recorded %+v", name, k+1, back[k], recorded[i][k])
			}
		}
	}
}

// readRecords reads data whole, failing on any bad line; the records are
// copies, kept.
func readRecords(t *testing.T, name string, data []byte) []Record {
	t.Helper()
	rd := NewReader(bytes.NewReader(data))
	var out []Record
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c := *r
		c.Msg = bytes.Clone(r.Msg)
		out = append(out, c)
	}
}
