package netsim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/evlog"
)

// The events log has a line for every message accepted, every copy handed
// over (with its destination and delay) and every copy dropped, with the
// message's human part only.
func TestEventsLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "netsim.jsonl")
	a, b := newSink(t), newSink(t)
	r := startServer(t, Config{EventsPath: path, MaxSleep: 20 * time.Millisecond, Seed: 3}, a, b)
	send(t, r.Addr().String(), "Msg #1 from Middleware 2 meta=7")
	r.waitStats(t, "the first accepted", func(s Stats) bool { return s.Accepted == 1 })
	send(t, r.Addr().String(), "Msg #2 from Middleware 2")
	r.waitStats(t, "four copies", func(s Stats) bool { return s.Delivered == 4 })
	r.SetDrop(1)
	send(t, r.Addr().String(), "odd \"text\"\n")
	r.waitStats(t, "two drops", func(s Stats) bool { return s.Dropped == 2 })
	r.stop(t) // flushes and closes the log

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		Event string `json:"event"`
		ID    uint64 `json:"id"`
		Msg   string `json:"msg"`
		To    int    `json:"to"`
		Delay *int64 `json:"delay_us"`
		TS    int64  `json:"ts_us"`
	}
	count := map[string]int{}
	accepted := map[uint64]int64{}
	for _, text := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var l line
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			t.Fatalf("line %q: %v", text, err)
		}
		count[l.Event]++
		if l.TS <= 0 || l.ID == 0 {
			t.Errorf("line %q lacks its time or id", text)
		}
		switch l.Event {
		case "accepted":
			accepted[l.ID] = l.TS
			if l.ID == 1 && l.Msg != "Msg #1 from Middleware 2" {
				t.Errorf("accepted msg %q: want the human part only", l.Msg)
			}
		case "copy":
			if l.To < 1 || l.To > 2 || l.Delay == nil || *l.Delay < 0 || *l.Delay > 20000 {
				t.Errorf("copy line %q", text)
			}
			if at, ok := accepted[l.ID]; !ok || l.TS < at {
				t.Errorf("copy %q before its message was accepted", text)
			}
		case "drop":
			if l.Msg != "odd \"text\"\n" || l.To < 1 {
				t.Errorf("drop line %q", text)
			}
		}
	}
	if count["accepted"] != 3 || count["copy"] != 4 || count["drop"] != 2 {
		t.Errorf("events %v, want 3 accepted, 4 copies, 2 drops", count)
	}
}

func TestHumanPart(t *testing.T) {
	for in, want := range map[string]string{
		"Msg #12 from Middleware 3":       "Msg #12 from Middleware 3",
		"Msg #12 from Middleware 3 x=1|2": "Msg #12 from Middleware 3",
		"Msg #12 from Middleware 31\n":    "Msg #12 from Middleware 31",
		"hello":                           "hello",
		"Msg # from Middleware 3":         "Msg # from Middleware 3",
		strings.Repeat("x", 300):          strings.Repeat("x", 200),
		"Msg #1 from Middleware ":         "Msg #1 from Middleware ",
	} {
		if got := string(humanPart([]byte(in))); got != want {
			t.Errorf("humanPart(%.30q) = %.30q, want %.30q", in, got, want)
		}
	}
}

// BenchmarkEventsLogWrite is the network program's events log under
// load: a copy line per op, from one goroutine, to a file.
func BenchmarkEventsLogWrite(b *testing.B) {
	e, err := openEventsLog(filepath.Join(b.TempDir(), "netsim.jsonl"), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	content := []byte("Msg #12345 from Middleware 3 meta=7")
	b.ReportAllocs()
	var id uint64
	for b.Loop() {
		id++
		e.write(evlog.Copy, id, content, 3, 812*time.Millisecond)
	}
	if err := e.close(); err != nil {
		b.Fatal(err)
	}
}
