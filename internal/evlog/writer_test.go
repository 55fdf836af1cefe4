package evlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"totalorder/internal/evlog/evlogtest"
)

var testNow = time.Unix(1700000000, 0)

func sent(num int, at time.Time) *Record {
	return &Record{Event: Sent, Msg: []byte("Msg #" + strconv.Itoa(num) + " from Middleware 1"), TS: at.UnixMicro()}
}

// The writer stamps a middleware's id and run on every record, its own
// Lost lines included; the network program's carry neither.
func TestWriterStamps(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(nopFile{&buf}, "middleware-4.jsonl", Options{MW: 4, Run: "r4"})
	r := sent(1, testNow)
	r.MW, r.Run = 9, "other"
	w.Write(r)
	if r.MW != 9 || r.Run != "other" {
		t.Error("Write changed the record it was given")
	}
	w.Flush(testNow)
	want := `{"event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1700000000000000,"mw":4,"run":"r4"}` + "\n"
	if buf.String() != want {
		t.Errorf("wrote %s want %s", buf.String(), want)
	}
	buf.Reset()
	n := NewWriter(nopFile{&buf}, "netsim.jsonl", Options{})
	n.Write(&Record{Event: Copy, ID: 7, Msg: []byte("Msg #1 from Middleware 2"), TS: 5, To: 3, DelayUS: 812000})
	n.Flush(testNow)
	if want := `{"event":"copy","id":7,"msg":"Msg #1 from Middleware 2","ts_us":5,"to":3,"delay_us":812000}` + "\n"; buf.String() != want {
		t.Errorf("wrote %s want %s", buf.String(), want)
	}
}

func TestWriterFullDisk(t *testing.T) {
	for _, truncateFails := range []bool{false, true} {
		name := "truncate works"
		if truncateFails {
			name = "truncate fails"
		}
		t.Run(name, func(t *testing.T) {
			d := &evlogtest.FullDisk{}
			w := NewWriter(d, "events.jsonl", Options{MW: 1, Run: "r1"})
			var notes []Notice
			w.Notify = func(n Notice) { notes = append(notes, n) }
			num := 0
			send := func(k int) {
				for range k {
					num++
					w.Write(sent(num, testNow))
				}
			}
			send(3)
			w.Flush(testNow)
			if got := len(evlogtest.Lines(t, d.Data)); got != 3 || w.Problem() != "" || len(notes) != 0 {
				t.Fatalf("%d lines, problem %q, notices %v; want 3 and none", got, w.Problem(), notes)
			}

			d.Full, d.Room = true, 10 // half a line fits
			if truncateFails {
				d.TruncateErr = syscall.EIO
			}
			send(2)
			w.Flush(testNow)
			if want := "events log: write failed (no space left), 2 events not written"; w.Problem() != want {
				t.Fatalf("problem %q, want %q", w.Problem(), want)
			}
			if len(notes) != 1 || notes[0].Err != "no space left" {
				t.Fatalf("notices %+v, want one failure", notes)
			}
			if !truncateFails {
				evlogtest.Lines(t, d.Data) // no half line
			}
			for k := range 20 {
				send(1)
				w.Flush(testNow.Add(time.Duration(k+1) * RetryEvery))
			}
			if len(notes) != 21 {
				t.Fatalf("%d notices for 21 failed writes", len(notes))
			}
			send(1) // kept until the next try
			w.Flush(testNow.Add(20*RetryEvery + time.Millisecond))
			if len(notes) != 21 {
				t.Fatal("a write tried before its time")
			}

			d.Full, d.TruncateErr = false, nil
			w.Flush(testNow.Add(time.Hour))
			got := evlogtest.LinesAfter(t, d.Data, 3, truncateFails)
			if len(got) != 2 || got[0]["event"] != "lost" || got[0]["count"] != float64(22) || got[0]["error"] != "no space left" ||
				got[0]["mw"] != float64(1) || got[0]["run"] != "r1" {
				t.Fatalf("after recovery: %v; want the lost marker (22 events) then the one kept event", got)
			}
			if got[1]["event"] != "sent" || got[1]["msg"] != "Msg #26 from Middleware 1" {
				t.Fatalf("the event kept during the outage: %v", got[1])
			}
			if want := "events log: 22 events lost earlier (no space left), writing again"; w.Problem() != want {
				t.Fatalf("problem %q, want %q", w.Problem(), want)
			}
			if last := notes[len(notes)-1]; !last.Resumed || last.Lost != 22 {
				t.Fatalf("last notice %+v, want resumed after 22 lost", last)
			}
		})
	}
}

// Beyond MaxPending bytes kept while writing fails, records are lost too
// (and counted), so a long outage does not eat the memory.
func TestWriterBoundsWhatItKeeps(t *testing.T) {
	d := &evlogtest.FullDisk{Full: true}
	w := NewWriter(d, "events.jsonl", Options{})
	w.Write(sent(1, testNow))
	w.Flush(testNow) // fails: retry later
	n := 0
	for w.Buffered() <= MaxPending {
		n++
		w.Write(sent(n, testNow))
	}
	w.Flush(testNow.Add(RetryEvery / 2)) // too soon to try: drops
	if w.Buffered() != 0 {
		t.Fatalf("%d bytes kept", w.Buffered())
	}
	if !strings.Contains(w.Problem(), strconv.Itoa(n+1)+" events not written") {
		t.Errorf("problem %q, want %d events not written", w.Problem(), n+1)
	}
}

// A disk still full when the writer closes: Close frees the room kept at
// Open and ends the log with a final "lost" line. If even that room does
// not help, the log still ends in a whole line.
func TestWriterFullDiskAtClose(t *testing.T) {
	for _, roomHelps := range []bool{true, false} {
		name := "the room kept helps"
		if !roomHelps {
			name = "nothing helps"
		}
		t.Run(name, func(t *testing.T) {
			d := &evlogtest.FullDisk{}
			w := NewWriter(d, "middleware-1.jsonl", Options{MW: 1, Run: "r1"})
			released := 0
			w.release = func() error {
				released++
				if roomHelps {
					d.Full = false
				}
				return nil
			}
			ready := func(seq uint64, at time.Time) {
				w.Write(&Record{Event: Ready, Msg: []byte("Msg #" + strconv.Itoa(int(seq)) + " from Middleware 1"), Seq: seq, TS: at.UnixMicro()})
			}
			ready(1, testNow)
			ready(2, testNow)
			w.Flush(testNow)
			d.Full, d.Room = true, 30 // a fragment fits, then nothing
			ready(3, testNow.Add(time.Second))
			w.Flush(testNow.Add(time.Second))
			ready(4, testNow.Add(2*time.Second))
			err := w.Close()
			if err == nil || !strings.Contains(err.Error(), "2 events not written (no space left)") {
				t.Fatalf("close: %v, want 2 events not written", err)
			}
			if released != 1 {
				t.Errorf("room released %d times, want once", released)
			}
			got := evlogtest.Lines(t, d.Data)
			if !roomHelps {
				if len(got) != 2 || strings.Contains(string(d.Data), `"lost"`) {
					t.Fatalf("lines %v, want the 2 written before the disk filled", got)
				}
				return
			}
			if len(got) != 3 {
				t.Fatalf("lines %v, want 2 readies and the final lost line", got)
			}
			last := got[2]
			if last["event"] != "lost" || last["final"] != true || last["count"] != float64(2) || last["error"] != "no space left" ||
				last["from_ts_us"] != float64(testNow.Add(time.Second).UnixMicro()) || last["to_ts_us"] != float64(testNow.Add(2*time.Second).UnixMicro()) {
				t.Fatalf("last line %v, want the final lost line for 2 events", last)
			}
		})
	}
}

// The room for the final line is a file beside the log, written at Open
// and deleted at Close; a clean Close adds no line to the log.
func TestWriterKeepsRoomForItsLastLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "middleware-3.jsonl")
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path+".reserve", []byte("left by a killed run"), 0o644)
	w, err := Open(path, Options{MW: 3, Run: "r", KeepRoom: true})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + ".reserve")
	if err != nil || fi.Size() != ReserveSize {
		t.Fatalf("room kept: %v, %v; want a file of %d bytes", fi, err, ReserveSize)
	}
	w.Write(sent(1, time.Now()))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".reserve"); !os.IsNotExist(err) {
		t.Errorf("the room kept outlives the log: %v", err)
	}
	data, _ := os.ReadFile(path)
	if got := evlogtest.Lines(t, data); len(got) != 1 || got[0]["event"] != "sent" {
		t.Errorf("log %v, want only the sent line", got)
	}
	// Without KeepRoom, no room is kept.
	other := filepath.Join(dir, "netsim.jsonl")
	if w, err = Open(other, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other + ".reserve"); !os.IsNotExist(err) {
		t.Errorf("room kept without KeepRoom: %v", err)
	}
	w.Close()
}

// Room that comes back just before Close (another middleware on the same
// disk freed its own): the forced flush at Close writes the marker of
// what was lost, and as nothing follows it, it is the final one.
func TestWriterRoomBackAtClose(t *testing.T) {
	d := &evlogtest.FullDisk{}
	w := NewWriter(d, "middleware-2.jsonl", Options{MW: 2, Run: "r2"})
	released := 0
	w.release = func() error { released++; return nil }
	w.Write(sent(1, testNow))
	w.Flush(testNow)
	d.Full = true
	w.Write(sent(2, testNow))
	w.Flush(testNow)
	d.Full = false
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	got := evlogtest.Lines(t, d.Data)
	if len(got) != 2 || got[1]["event"] != "lost" || got[1]["final"] != true || got[1]["count"] != float64(1) {
		t.Fatalf("lines %v, want the sent and a final lost line", got)
	}
	if released != 1 {
		t.Errorf("room released %d times, want once (at close)", released)
	}
}

// A log left ending in a fragment by a killed process: the next line
// starts on a line of its own.
func TestWriterAfterAFragment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middleware-1.jsonl")
	os.WriteFile(path, []byte(`{"event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1}`+"\n"+`{"event":"rea`), 0o644)
	w, err := Open(path, Options{MW: 1, Run: "again"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sent(2, testNow))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	rd := NewReader(f)
	var got []string
	for {
		r, err := rd.Next()
		if err != nil {
			if le, ok := err.(*LineError); ok {
				got = append(got, "bad line "+strconv.Itoa(le.Line))
				continue
			}
			break
		}
		got = append(got, string(r.Msg))
	}
	if want := "Msg #1 from Middleware 1|bad line 2|Msg #2 from Middleware 1"; strings.Join(got, "|") != want {
		t.Errorf("read %q, want %q", got, want)
	}
}
