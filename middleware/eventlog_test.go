package middleware

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// fullDisk is a file that can run out of space: while full it writes at
// most room bytes, then fails with ENOSPC.
type fullDisk struct {
	data        []byte
	full        bool
	room        int
	truncateErr error
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if !d.full {
		d.data = append(d.data, p...)
		return len(p), nil
	}
	k := min(d.room, len(p))
	d.data = append(d.data, p[:k]...)
	d.room -= k
	return k, &os.PathError{Op: "write", Path: "events.jsonl", Err: syscall.ENOSPC}
}

func (d *fullDisk) Truncate(size int64) error {
	if d.truncateErr != nil {
		return d.truncateErr
	}
	d.data = d.data[:size]
	return nil
}

func (d *fullDisk) Stat() (os.FileInfo, error) { return sizeInfo{int64(len(d.data))}, nil }
func (d *fullDisk) Close() error               { return nil }

type sizeInfo struct{ size int64 }

func (s sizeInfo) Name() string       { return "events.jsonl" }
func (s sizeInfo) Size() int64        { return s.size }
func (s sizeInfo) Mode() os.FileMode  { return 0o644 }
func (s sizeInfo) ModTime() time.Time { return time.Time{} }
func (s sizeInfo) IsDir() bool        { return false }
func (s sizeInfo) Sys() any           { return nil }

// lines parses every line of the file; it fails on any that is not whole.
func lines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("the file ends in half a line: %q", data[max(0, len(data)-60):])
	}
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("not a whole JSON line: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func TestEventLogFullDisk(t *testing.T) {
	for _, truncateFails := range []bool{false, true} {
		name := "truncate works"
		if truncateFails {
			name = "truncate fails"
		}
		t.Run(name, func(t *testing.T) {
			d := &fullDisk{}
			var ops logBuffer
			e := newEventLog(d, "events.jsonl", 1, "r1")
			e.oplog = zerolog.New(&ops)
			now := time.Unix(1700000000, 0)
			num := uint64(0)
			send := func(k int) {
				for range k {
					num++
					e.write(&core.Note{Kind: core.NoteSent, ID: core.MsgID{Sender: 1, Num: num}, At: now})
				}
			}
			send(3)
			e.flush(now)
			if got := len(lines(t, d.data)); got != 3 || e.problem() != "" {
				t.Fatalf("%d lines, problem %q; want 3 and none", got, e.problem())
			}

			d.full, d.room = true, 10 // half a line fits
			if truncateFails {
				d.truncateErr = syscall.EIO
			}
			send(2)
			e.flush(now)
			if want := "events log: write failed (no space left), 2 events not written"; e.problem() != want {
				t.Fatalf("problem %q, want %q", e.problem(), want)
			}
			if !truncateFails {
				lines(t, d.data) // no half line
			}
			// More failures of the same kind: one operational line.
			for k := range 20 {
				send(1)
				e.flush(now.Add(time.Duration(k+1) * retryEvery))
			}
			if c := strings.Count(ops.String(), "write failed"); c != 1 {
				t.Fatalf("%d lines for one kind of error, want 1:\n%s", c, ops.String())
			}
			send(1) // kept until the next try
			e.flush(now.Add(20*retryEvery + time.Millisecond))

			d.full, d.truncateErr = false, nil
			e.flush(now.Add(time.Hour))
			var got []map[string]any
			if truncateFails {
				// The fragment is on a line of its own; every later line is whole.
				frag := bytes.Index(d.data, []byte("\n\n"))
				if frag >= 0 {
					t.Fatalf("an empty line where the fragment was cut: %q", d.data)
				}
				parts := bytes.SplitN(d.data, []byte("\n"), 5)
				got = lines(t, parts[4])
				if json.Valid(parts[3]) {
					t.Fatalf("expected the fragment as line 4, got %q", parts[3])
				}
			} else {
				got = lines(t, d.data)[3:]
			}
			if len(got) != 2 || got[0]["event"] != "lost" || got[0]["count"] != float64(22) || got[0]["error"] != "no space left" {
				t.Fatalf("after recovery: %v; want the lost marker (22 events) then the one kept event", got)
			}
			if got[1]["event"] != "sent" || got[1]["msg"] != "Msg #26 from Middleware 1" {
				t.Fatalf("the event kept during the outage: %v", got[1])
			}
			if want := "events log: 22 events lost earlier (no space left), writing again"; e.problem() != want {
				t.Fatalf("problem %q, want %q", e.problem(), want)
			}
			if !strings.Contains(ops.String(), "writing again") {
				t.Fatalf("no line about resuming:\n%s", ops.String())
			}
		})
	}
}

// A disk still full when the middleware exits: close frees the room kept
// at open and ends the log with a final "lost" line, which the checker
// reads as events its writer could not write before exiting. If even
// that room does not help, the log still ends in a whole line.
func TestEventLogFullDiskAtExit(t *testing.T) {
	for _, roomHelps := range []bool{true, false} {
		name := "the room kept helps"
		if !roomHelps {
			name = "nothing helps"
		}
		t.Run(name, func(t *testing.T) {
			d := &fullDisk{}
			e := newEventLog(d, "middleware-1.jsonl", 1, "r1")
			released := 0
			e.release = func() error {
				released++
				if roomHelps {
					d.full = false
				}
				return nil
			}
			now := time.Unix(1700000000, 0)
			ready := func(seq uint64, at time.Time) {
				e.write(&core.Note{Kind: core.NoteReady, ID: core.MsgID{Sender: 1, Num: seq}, Seq: seq, At: at})
			}
			ready(1, now)
			ready(2, now)
			e.flush(now)
			d.full, d.room = true, 30 // a fragment fits, then nothing
			ready(3, now.Add(time.Second))
			e.flush(now.Add(time.Second))
			ready(4, now.Add(2*time.Second))
			err := e.close()
			if err == nil || !strings.Contains(err.Error(), "2 events not written (no space left)") {
				t.Fatalf("close: %v, want 2 events not written", err)
			}
			if released != 1 {
				t.Errorf("room released %d times, want once", released)
			}
			got := lines(t, d.data)
			if !roomHelps {
				if len(got) != 2 || strings.Contains(string(d.data), `"lost"`) {
					t.Fatalf("lines %v, want the 2 written before the disk filled", got)
				}
				return
			}
			if len(got) != 3 {
				t.Fatalf("lines %v, want 2 readies and the final lost line", got)
			}
			last := got[2]
			if last["event"] != "lost" || last["final"] != true || last["count"] != float64(2) || last["error"] != "no space left" ||
				last["from_ts_us"] != float64(now.Add(time.Second).UnixMicro()) || last["to_ts_us"] != float64(now.Add(2*time.Second).UnixMicro()) {
				t.Fatalf("last line %v, want the final lost line for 2 events", last)
			}
			// The checker reads it as the end of the log missing.
			incs, warns, err := check.ParseReader(bytes.NewReader(d.data), "middleware-1.jsonl")
			if err != nil || len(warns) != 0 || len(incs) != 1 {
				t.Fatalf("parse: %v, warnings %q, %d incarnations", err, warns, len(incs))
			}
			if g := incs[0].Gaps; len(g) != 1 || !g[0].End || g[0].Count != 2 || g[0].After != 2 {
				t.Fatalf("gaps %+v, want one final gap of 2 events after 2 entries", g)
			}
		})
	}
}

// The room for the final line is a file beside the log, written at open
// and deleted at close; a clean close adds no line to the log.
func TestEventLogKeepsRoomForItsLastLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "middleware-3.jsonl")
	os.WriteFile(path+".reserve", []byte("left by a killed run"), 0o644)
	e, err := openEventLog(path, 3, "r")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + ".reserve")
	if err != nil || fi.Size() != reserveSize {
		t.Fatalf("room kept: %v, %v; want a file of %d bytes", fi, err, reserveSize)
	}
	e.write(&core.Note{Kind: core.NoteSent, ID: core.MsgID{Sender: 3, Num: 1}, At: time.Now()})
	if err := e.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".reserve"); !os.IsNotExist(err) {
		t.Errorf("the room kept outlives the log: %v", err)
	}
	data, _ := os.ReadFile(path)
	if got := lines(t, data); len(got) != 1 || got[0]["event"] != "sent" {
		t.Errorf("log %v, want only the sent line", got)
	}
}

// Room that comes back just before close (another middleware on the same
// disk freed its own): the forced flush at close writes the marker of
// what was lost, and as nothing follows it, it is the final one.
func TestEventLogRoomBackAtExit(t *testing.T) {
	d := &fullDisk{}
	e := newEventLog(d, "middleware-2.jsonl", 2, "r2")
	released := 0
	e.release = func() error { released++; return nil }
	now := time.Unix(1700000000, 0)
	e.write(&core.Note{Kind: core.NoteReady, ID: core.MsgID{Sender: 1, Num: 1}, Seq: 1, At: now})
	e.flush(now)
	d.full = true
	e.write(&core.Note{Kind: core.NoteReady, ID: core.MsgID{Sender: 1, Num: 2}, Seq: 2, At: now})
	e.flush(now)
	d.full = false
	if err := e.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	got := lines(t, d.data)
	if len(got) != 2 || got[1]["event"] != "lost" || got[1]["final"] != true || got[1]["count"] != float64(1) {
		t.Fatalf("lines %v, want the ready and a final lost line", got)
	}
	if released != 1 {
		t.Errorf("room released %d times, want once (at close)", released)
	}
}
