package middleware

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/evlog"
	"totalorder/internal/evlog/evlogtest"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

func TestEventLogFullDisk(t *testing.T) {
	for _, truncateFails := range []bool{false, true} {
		name := "truncate works"
		if truncateFails {
			name = "truncate fails"
		}
		t.Run(name, func(t *testing.T) {
			d := &evlogtest.FullDisk{}
			var ops logBuffer
			e := newEventLog(evlog.NewWriter(d, "events.jsonl", evlog.Options{MW: 1, Run: "r1"}))
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
			if got := len(evlogtest.Lines(t, d.Data)); got != 3 || e.problem() != "" {
				t.Fatalf("%d lines, problem %q; want 3 and none", got, e.problem())
			}

			d.Full, d.Room = true, 10 // half a line fits
			if truncateFails {
				d.TruncateErr = syscall.EIO
			}
			send(2)
			e.flush(now)
			if want := "events log: write failed (no space left), 2 events not written"; e.problem() != want {
				t.Fatalf("problem %q, want %q", e.problem(), want)
			}
			if !truncateFails {
				evlogtest.Lines(t, d.Data) // no half line
			}
			// More failures of the same kind: one operational line.
			for k := range 20 {
				send(1)
				e.flush(now.Add(time.Duration(k+1) * evlog.RetryEvery))
			}
			if c := strings.Count(ops.String(), "write failed"); c != 1 {
				t.Fatalf("%d lines for one kind of error, want 1:\n%s", c, ops.String())
			}
			send(1) // kept until the next try
			e.flush(now.Add(20*evlog.RetryEvery + time.Millisecond))

			d.Full, d.TruncateErr = false, nil
			e.flush(now.Add(time.Hour))
			got := evlogtest.LinesAfter(t, d.Data, 3, truncateFails)
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

// A disk still full when the middleware exits, whose room comes back for
// the last line (evlog keeps room for it): the log ends with a final
// "lost" line, which the checker reads as events its writer could not
// write before exiting, not as a fault of the order.
func TestEventLogFullDiskAtExit(t *testing.T) {
	d := &evlogtest.FullDisk{}
	e := newEventLog(evlog.NewWriter(d, "middleware-1.jsonl", evlog.Options{MW: 1, Run: "r1"}))
	now := time.Unix(1700000000, 0)
	ready := func(seq uint64, at time.Time) {
		e.write(&core.Note{Kind: core.NoteReady, ID: core.MsgID{Sender: 1, Num: seq}, Seq: seq, At: at})
	}
	ready(1, now)
	ready(2, now)
	e.flush(now)
	d.Full, d.Failures = true, 2 // this flush and the one at close
	ready(3, now.Add(time.Second))
	e.flush(now.Add(time.Second))
	ready(4, now.Add(2*time.Second))
	err := e.close()
	if err == nil || !strings.Contains(err.Error(), "2 events not written (no space left)") {
		t.Fatalf("close: %v, want 2 events not written", err)
	}
	got := evlogtest.Lines(t, d.Data)
	if len(got) != 3 || got[2]["event"] != "lost" || got[2]["final"] != true || got[2]["count"] != float64(2) {
		t.Fatalf("lines %v, want 2 readies and the final lost line", got)
	}
	incs, warns, err := check.ParseReader(bytes.NewReader(d.Data), "middleware-1.jsonl")
	if err != nil || len(warns) != 0 || len(incs) != 1 {
		t.Fatalf("parse: %v, warnings %q, %d incarnations", err, warns, len(incs))
	}
	if g := incs[0].Gaps; len(g) != 1 || !g[0].End || g[0].Count != 2 || g[0].After != 2 {
		t.Fatalf("gaps %+v, want one final gap of 2 events after 2 entries", g)
	}
}

// The room for the final line is kept beside the log from open to close.
func TestEventLogKeepsRoomForItsLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middleware-3.jsonl")
	e, err := openEventLog(path, 3, "r")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + ".reserve"); err != nil || fi.Size() != evlog.ReserveSize {
		t.Fatalf("room kept: %v, %v; want a file of %d bytes", fi, err, evlog.ReserveSize)
	}
	e.write(&core.Note{Kind: core.NoteSent, ID: core.MsgID{Sender: 3, Num: 1}, At: time.Now()})
	if err := e.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".reserve"); !os.IsNotExist(err) {
		t.Errorf("the room kept outlives the log: %v", err)
	}
}

// Every record the middleware writes, exactly: one JSON object a line,
// "event" first, the middleware and its run on each, no logging
// library's fields.
func TestEventLogRecords(t *testing.T) {
	d := &evlogtest.FullDisk{}
	e := newEventLog(evlog.NewWriter(d, "middleware-2.jsonl", evlog.Options{MW: 2, Run: "1700000000000000"}))
	e.Control = true
	at := time.UnixMicro(1700000001000000)
	id := core.MsgID{Sender: 3, Num: 4}
	for _, n := range []core.Note{
		{Kind: core.NoteSent, ID: id, Body: "Bid 130 on \"Lamp\"", At: at},
		{Kind: core.NoteReceived, ID: id, At: at, Recovered: true},
		{Kind: core.NoteReady, ID: id, Seq: 7, At: at, Recovered: true},
		{Kind: core.NoteDiverged, ID: id, Seq: 7, Peer: 5, There: "Msg #1 from Middleware 5", At: at},
	} {
		e.write(&n)
	}
	e.controlOut([]core.Envelope{{To: 5, Msg: core.Msg{Kind: core.KindRequest}}}, at)
	e.controlIn([]core.Msg{{Kind: core.KindOrder, From: 5}}, at)
	e.leader(0, 1, at)
	e.mark("cut off", at)
	e.flush(at)
	want := `{"event":"sent","msg":"Msg #4 from Middleware 3: Bid 130 on \"Lamp\"","ts_us":1700000001000000,"mw":2,"run":"1700000000000000"}
{"event":"received","msg":"Msg #4 from Middleware 3","ts_us":1700000001000000,"recovered":true,"mw":2,"run":"1700000000000000"}
{"event":"ready","msg":"Msg #4 from Middleware 3","ts_us":1700000001000000,"seq":7,"mw":2,"run":"1700000000000000"}
{"event":"diverged","msg":"Msg #4 from Middleware 3","ts_us":1700000001000000,"seq":7,"peer":5,"there":"Msg #1 from Middleware 5","mw":2,"run":"1700000000000000"}
{"event":"control","ts_us":1700000001000000,"peer":5,"dir":"out","kind":"request","mw":2,"run":"1700000000000000"}
{"event":"control","ts_us":1700000001000000,"peer":5,"dir":"in","kind":"order","mw":2,"run":"1700000000000000"}
{"event":"leader","ts_us":1700000001000000,"leader":0,"term":1,"mw":2,"run":"1700000000000000"}
{"event":"mark","ts_us":1700000001000000,"label":"cut off","mw":2,"run":"1700000000000000"}
`
	if string(d.Data) != want {
		t.Errorf("wrote\n%s\nwant\n%s", d.Data, want)
	}
}

// pastRun finds where numbering and delivery go on, in logs written
// before the events log package (through zerolog) as in today's, past a
// fragment left by a kill and lines of other middlewares.
func TestPastRunReadsOlderLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "middleware-2.jsonl")
	log := `{"level":"info","event":"sent","msg":"Msg #7 from Middleware 2","ts_us":1,"mw":2,"run":"a","time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"sent","msg":"Msg #9 from Middleware 3","ts_us":2,"mw":3,"run":"x","time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"ready","msg":"Msg #7 from Middleware 2","ts_us":3,"seq":12,"mw":2,"run":"a","time":"2025-01-01T00:00:00Z"}
{"level":"info","event":"ready","msg":"Msg #9 from Middleware 3","ts_us":3,"seq":40,"mw":3,"run":"x"}
{"level":"info","event":"sent","msg":"Msg #8 from Midd
{"event":"sent","msg":"Msg #5 from Middleware 2","ts_us":4,"mw":2,"run":"b"}
{"event":"ready","msg":"Msg #5 from Middleware 2","ts_us":5,"seq":3,"mw":2,"run":"b"}
{"event":"ready","msg":"Msg #6 from Middleware 2","ts_us":5,"seq":13}
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if any, num, seq := pastRun(path, 2); !any || num != 7 || seq != 13 {
		t.Errorf("pastRun: number %d, position %d; want 7 and 13", num, seq)
	}
	if any, num, seq := pastRun(filepath.Join(t.TempDir(), "none.jsonl"), 2); any || num != 0 || seq != 0 {
		t.Errorf("no log: %d, %d", num, seq)
	}
}
