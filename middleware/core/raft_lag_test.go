package core_test

import (
	"container/heap"
	"math/rand"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// lagSim is five raft members in the simulator; member 2 is paused while
// the others order `lag` messages, then resumes. Raft compacts its log
// behind snapshots, so a member that far behind is sent a snapshot, not
// entries.
func lagSim(t *testing.T, lag int) *sim {
	cryptotest.SetGlobalRandom(t, 7)
	s := newSim(t, rand.New(rand.NewSource(7)), core.Raft, scenario{}, 5, time.Millisecond)
	for id := 1; id <= s.n; id++ {
		s.at(0, func() { s.start(id) })
	}
	run := func(until time.Duration) {
		for s.q.Len() > 0 {
			e := heap.Pop(&s.q).(*simEvent)
			if e.at > until {
				heap.Push(&s.q, e)
				return
			}
			s.now = e.at
			e.do()
		}
	}
	run(2 * time.Second)
	// A few messages everyone has, then the pause.
	s.atNode(s.now, 1, func() { s.Nodes[1].Core.Send(s.wall(), 5); s.Flush(1) })
	run(s.now + time.Second)
	pause := s.now
	s.paused[2] = pause + time.Hour // until resumed below
	for sent := 0; sent < lag; sent += 4000 {
		for _, id := range []int{1, 3, 4, 5} {
			s.atNode(s.now, id, func() { s.Nodes[id].Core.Send(s.wall(), 1000); s.Flush(id) })
		}
		run(s.now + time.Second)
	}
	s.paused[2] = s.now
	// The paused member's queued inputs run now; then it catches up.
	for k := 0; k < 120 && !s.quiescent(); k++ {
		run(s.now + 500*time.Millisecond)
	}
	return s
}

// Behind by 140,000 messages: the log was compacted behind the snapshot
// taken at 131,072 ids (entries of 1,000 ids keep about 85,000 ids in
// 256 KiB), so the member is sent that snapshot; it still carries every
// position (the order window is 131,072 positions, trimmed in steps of a
// quarter), so the member delivers everything, in the same order as the
// others.
func TestRaftMemberFarBehindCatchesUpBySnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("140,000 messages")
	}
	s := lagSim(t, 140_000)
	if !s.quiescent() {
		t.Fatalf("member 2 did not catch up: %+v", s.Nodes[2].Core.View())
	}
	rep, err := check.Check(s.Incarnations(), check.Options{Agreement: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages != 140_005 {
		t.Errorf("%d messages ordered, want 140,005", rep.Messages)
	}
}

// Behind by 200,000, more than the snapshot (taken at 196,608 ids) carries
// positions for, the member cannot deliver without a hole: it stops, says
// why, and never delivers out of order.
func TestRaftMemberTooFarBehindStops(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 messages")
	}
	s := lagSim(t, 200_000)
	v := s.Nodes[2].Core.View()
	if !strings.Contains(v.Waiting, "stopped") {
		t.Errorf("member 2 says %q, want that it stopped", v.Waiting)
	}
	if _, err := check.Check(s.Incarnations(), check.Options{}); err != nil {
		t.Fatal(err)
	}
}
