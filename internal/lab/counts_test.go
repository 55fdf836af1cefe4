package lab

import (
	"io"
	"os"
	"testing"
)

// Counts follows a log as it is written: lines counted once whole, the
// older format (a logging library's fields in each line) as today's,
// other records and bad lines not at all.
func TestCountsFollowsTheLog(t *testing.T) {
	l := &Lab{cfg: Config{Dir: t.TempDir(), N: 1}, tail: map[string]*logTail{}}
	if c, err := l.Counts(1); err != nil || c != (Counts{}) {
		t.Fatalf("no log yet: %+v, %v", c, err)
	}
	f, err := os.Create(l.LogPath(1))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(s string) {
		t.Helper()
		if _, err := io.WriteString(f, s); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"level":"info","event":"sent","msg":"Msg #1 from Middleware 1","ts_us":1,"mw":1,"run":"r","time":"x"}
{"level":"info","event":"received","msg":"Msg #1 from Middleware 1","ts_us":2,"mw":1,"run":"r","time":"x"}
{"level":"info","event":"control","dir":"out","peer":2,"kind":"MsgApp","ts_us":2,"mw":1,"run":"r"}
{"event":"ready","msg":"Msg #1 from Middleware 1","ts_us":3,"seq":1,"mw":1,"run":"r"}
{"event":"diverged","msg":"Msg #1 from Middleware 1","ts_us":3,"seq":1,"peer":2,"there":"Msg #1 from Middleware 2","mw":1,"run":"r"}
{"event":"ready","msg":"Msg #2 from Middleware 1","ts_`)
	if c, err := l.Counts(1); err != nil || c != (Counts{Sent: 1, Received: 1, Ready: 1}) {
		t.Fatalf("got %+v, %v; want 1, 1, 1 (the half line not yet)", c, err)
	}
	write(`us":4,"seq":2,"mw":1,"run":"r"}` + "\nnot json, \"event\":\"ready\"\n")
	if c, err := l.Counts(1); err != nil || c != (Counts{Sent: 1, Received: 1, Ready: 2}) {
		t.Fatalf("got %+v, %v; want the second ready counted once", c, err)
	}
	if c, _ := l.Ready(1); c != 2 {
		t.Fatalf("Ready: %d", c)
	}
}
