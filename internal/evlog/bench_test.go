package evlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func recordedLines(b *testing.B) []byte {
	b.Helper()
	paths, _ := filepath.Glob(filepath.Join("testdata", "recorded", "*", "*.jsonl"))
	var all []byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, data...)
	}
	return all
}

// BenchmarkWrite is writing one ready record (a line of the middleware's
// log) into the writer's buffer.
func BenchmarkWrite(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(nopFile{&buf}, "middleware-1.jsonl", Options{MW: 1, Run: "1700000000000000"})
	r := Record{Event: Ready, Msg: []byte("Msg #12345 from Middleware 3"), TS: 1700000000000000, Seq: 12345}
	b.ReportAllocs()
	for b.Loop() {
		w.Write(&r)
		if w.Buffered() > 1<<20 {
			w.Flush(testNow)
			buf.Reset()
		}
	}
}

// BenchmarkRead is reading the recorded runs (both formats of line), per
// line.
func BenchmarkRead(b *testing.B) {
	data := recordedLines(b)
	lines := bytes.Count(data, []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd := NewReader(bytes.NewReader(data))
		for {
			if _, err := rd.Next(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

// BenchmarkReadEncodingJSON is the same lines through encoding/json, as
// the checker read them before (for comparison).
func BenchmarkReadEncodingJSON(b *testing.B) {
	data := recordedLines(b)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var m struct {
				Event string `json:"event"`
				Msg   *string
				TS    *int64 `json:"ts_us"`
				Seq   uint64
				MW    *int
				Run   json.RawMessage
			}
			if err := json.Unmarshal(l, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}
