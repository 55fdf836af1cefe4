package middleware

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"totalorder/middleware/core"
	"totalorder/timeline"
)

// The records for the timeline: control messages only with Control, the
// leader view only when it changes; the timeline reads them back and the
// checker ignores them quietly.
func TestEventLogTimelineRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "middleware-2.jsonl")
	ev, err := openEventLog(path, 2, "r")
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMicro(1700000000000000)
	out := []core.Envelope{{To: 5, Msg: core.Msg{Kind: core.KindRequest}}}
	in := []core.Msg{{Kind: core.KindOrder, From: 5}, {Kind: core.KindLinkClosed, From: 3}}
	ev.controlOut(out, at) // Control off: nothing
	ev.leader(0, 0, at)    // nothing known yet: nothing
	ev.Control = true
	ev.controlOut(out, at.Add(time.Millisecond))
	ev.controlIn(in, at.Add(3*time.Millisecond))
	ev.leader(5, 1, at.Add(4*time.Millisecond))
	ev.leader(5, 1, at.Add(5*time.Millisecond)) // unchanged: nothing
	ev.leader(0, 1, at.Add(6*time.Millisecond))
	if err := ev.close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if n := strings.Count(string(data), "\n"); n != 4 {
		t.Fatalf("%d lines, want 4:\n%s", n, data)
	}
	// Middleware 5's log has the other end of the request and order.
	p5 := filepath.Join(dir, "middleware-5.jsonl")
	ev5, _ := openEventLog(p5, 5, "r5")
	ev5.Control = true
	ev5.controlIn([]core.Msg{{Kind: core.KindRequest, From: 2}}, at.Add(2*time.Millisecond))
	ev5.controlOut([]core.Envelope{{To: 2, Msg: core.Msg{Kind: core.KindOrder}}}, at.Add(2*time.Millisecond))
	ev5.close()

	m, err := timeline.Load(timeline.NewDirSource(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctl := m.Controls()
	if len(ctl) != 2 {
		t.Fatalf("controls %+v", ctl)
	}
	for _, c := range ctl {
		if c.In == 0 || c.In < c.Out || (c.Kind != "request" && c.Kind != "order") {
			t.Errorf("control %+v not matched", c)
		}
	}
	var labels []string
	for _, mk := range m.Marks() {
		labels = append(labels, mk.Label)
	}
	if strings.Join(labels, ",") != "leader 5 · term 1,no leader · term 1" {
		t.Errorf("leader marks %q", labels)
	}
}
