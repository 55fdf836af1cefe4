package compare

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
	"totalorder/timeline"
)

// mwLog is what one middleware logged, its incarnations merged in order.
type mwLog struct {
	ready []check.Entry    // Ready entries in log order
	recv  map[string]int64 // first Received of each message, µs
}

// byMW indexes the logs by middleware id.
func byMW(incs []check.Incarnation) map[int]*mwLog {
	out := map[int]*mwLog{}
	for _, inc := range incs {
		m := out[inc.MW]
		if m == nil {
			m = &mwLog{recv: map[string]int64{}}
			out[inc.MW] = m
		}
		for _, e := range inc.Entries {
			switch e.Kind {
			case check.Ready:
				m.ready = append(m.ready, e)
			case check.Received:
				if _, ok := m.recv[e.Msg]; !ok {
					m.recv[e.Msg] = e.TS
				}
			}
		}
	}
	return out
}

// sentAt maps each message to its sender's Sent event, µs.
func sentAt(incs []check.Incarnation) map[string]int64 {
	out := map[string]int64{}
	for _, inc := range incs {
		for _, e := range inc.Entries {
			if _, ok := out[e.Msg]; e.Kind == check.Sent && !ok {
				out[e.Msg] = e.TS
			}
		}
	}
	return out
}

func ids(logs map[int]*mwLog) []int {
	var out []int
	for id := range logs {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Latencies measures every delivery (a Ready entry at one middleware):
// ordering is Ready − that middleware's first Received of the message, the
// time ordering held the content back; end-to-end is Ready − the sender's
// Sent. A delivery missing the other event is left out of that measure;
// a negative time (clock steps) counts as 0.
func Latencies(incs []check.Incarnation) (ordering, endToEnd check.Stats) {
	return LatenciesAt(incs, nil)
}

// LatenciesAt is Latencies over the deliveries at the middlewares keep
// accepts (nil: all).
func LatenciesAt(incs []check.Incarnation, keep func(mw int) bool) (ordering, endToEnd check.Stats) {
	sent := sentAt(incs)
	var ord, e2e []time.Duration
	us := func(d int64) time.Duration { return time.Duration(max(d, 0)) * time.Microsecond }
	for id, m := range byMW(incs) {
		if keep != nil && !keep(id) {
			continue
		}
		for _, e := range m.ready {
			if r, ok := m.recv[e.Msg]; ok {
				ord = append(ord, us(e.TS-r))
			}
			if s, ok := sent[e.Msg]; ok {
				e2e = append(e2e, us(e.TS-s))
			}
		}
	}
	return check.Summarize(ord), check.Summarize(e2e)
}

// Side is one middleware's message at a position.
type Side struct {
	MW  int    `json:"mw"`
	Msg string `json:"msg"`
}

// Agreement says whether the Ready lists agree position by position.
type Agreement struct {
	OK bool `json:"ok"`
	// At is the first position where two middlewares delivered different
	// messages (0: none); A and B are the first two that differ there.
	At uint64 `json:"at,omitempty"`
	A  Side   `json:"a"`
	B  Side   `json:"b"`
	// Differ counts the positions at which some two middlewares differ.
	Differ int `json:"differ,omitempty"`
	// Common is how many positions every middleware delivered (1..Common).
	Common uint64 `json:"common"`
	// Checker is a violation the order checker found that the positions
	// do not show (a duplicate, a gap in the seqs, an invented message).
	Checker string `json:"checker,omitempty"`
}

// FirstDivergence compares the middlewares' Ready lists position by
// position (by seq) and finds the first position that differs.
func FirstDivergence(incs []check.Incarnation) Agreement {
	logs := byMW(incs)
	mws := ids(logs)
	at := make(map[int]map[uint64]string, len(mws))
	var hi uint64
	for _, id := range mws {
		pos := map[uint64]string{}
		for _, e := range logs[id].ready {
			if _, dup := pos[e.Seq]; !dup && e.Seq > 0 {
				pos[e.Seq] = e.Msg
				hi = max(hi, e.Seq)
			}
		}
		at[id] = pos
	}
	a := Agreement{OK: true}
	common := true
	for k := uint64(1); k <= hi; k++ {
		var first *Side
		differs := false
		for _, id := range mws {
			msg, ok := at[id][k]
			if !ok {
				common = false
				continue
			}
			if first == nil {
				first = &Side{MW: id, Msg: msg}
			} else if msg != first.Msg && !differs {
				differs = true
				if a.At == 0 {
					a.OK, a.At, a.A, a.B = false, k, *first, Side{MW: id, Msg: msg}
				}
			}
		}
		if differs {
			a.Differ++
		}
		if common && len(mws) > 0 {
			a.Common = k
		}
	}
	return a
}

// withChecker adds what the order checker found beyond the positions: a
// total-order failure the positions did not show, a gap in the seqs, a
// duplicate or an invented delivery. Undelivered messages (the checker's
// agreement property) are the delivery column's business, not this one's.
func (a *Agreement) withChecker(rep *check.Report) {
	if rep == nil {
		return
	}
	for _, v := range rep.Violations {
		if v.Property == check.PropAgreement || (v.Property == check.PropTotalOrder && a.At != 0) {
			continue
		}
		a.OK = false
		a.Checker = v.Error()
		return
	}
}

// String is the table's cell: "ok", or the first divergence with its
// position and the two messages.
func (a Agreement) String() string {
	switch {
	case a.At != 0:
		s := fmt.Sprintf("differs at #%d: M%d has %s, M%d has %s", a.At, a.A.MW, short(a.A.Msg), a.B.MW, short(a.B.Msg))
		if a.Differ > 1 {
			s += fmt.Sprintf(" (%d positions differ)", a.Differ)
		}
		return s
	case a.Checker != "":
		return a.Checker
	}
	return "ok"
}

// short writes "Msg #3 from Middleware 2" as "#3 of M2".
func short(msg string) string {
	var k, i int
	if _, err := fmt.Sscanf(msg, "Msg #%d from Middleware %d", &k, &i); err != nil {
		return fmt.Sprintf("%q", msg)
	}
	return fmt.Sprintf("#%d of M%d", k, i)
}

// notOrdering are the control kinds that are never ordering's doing:
// the agreement check's digests and the bodies the core sends for every
// protocol. Periodic kinds (heartbeats, hellos, raft's heartbeats) need
// no list: the idle rate takes them out (WorkloadControls).
var notOrdering = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []core.Kind{core.KindDigest, core.KindDigestAsk, core.KindBody} {
		m[strings.ToLower(k.String())] = true
	}
	return m
}()

// Window is a stretch of time, in µs.
type Window struct{ From, To int64 }

func (w Window) has(ts int64) bool { return ts >= w.From && ts <= w.To }

// WorkloadControls counts the control messages the workload added during
// run: for each kind (notOrdering left out), those sent during run less
// what the lab sent while idle, at the rate it did in idle, never below
// 0. What a lab sends whatever the load (heartbeats and the like, of the
// core or of the protocol) thus drops out, whatever its kind is called.
func WorkloadControls(cs []timeline.Control, idle, run Window) float64 {
	inRun, inIdle := map[string]int{}, map[string]int{}
	for _, c := range cs {
		if notOrdering[c.Kind] {
			continue
		}
		if run.has(c.Out) {
			inRun[c.Kind]++
		}
		if idle.has(c.Out) {
			inIdle[c.Kind]++
		}
	}
	scale := 0.0
	if idle.To > idle.From {
		scale = float64(run.To-run.From) / float64(idle.To-idle.From)
	}
	var n float64
	for k, c := range inRun {
		n += max(float64(c)-float64(inIdle[k])*scale, 0)
	}
	return n
}

// delivered counts the distinct messages some middleware delivered.
func delivered(incs []check.Incarnation) int {
	seen := map[string]bool{}
	for _, inc := range incs {
		for _, e := range inc.Entries {
			if e.Kind == check.Ready {
				seen[e.Msg] = true
			}
		}
	}
	return len(seen)
}

// PauseSpan is one middleware stopped (SIGSTOP) from From to To (µs).
type PauseSpan struct {
	MW     int   `json:"mw"`
	Leader bool  `json:"leader"` // it led (raft's leader, the sequencer)
	From   int64 `json:"from_us"`
	To     int64 `json:"to_us"`
}

// Length is how long the pause lasted.
func (p PauseSpan) Length() time.Duration { return time.Duration(p.To-p.From) * time.Microsecond }

// Pause is what the others did while one middleware was paused.
type Pause struct {
	PauseSpan
	// SentDuring counts the messages the others sent during the pause;
	// During how many of those every other middleware delivered before
	// the pause ended.
	SentDuring int `json:"sent_during"`
	During     int `json:"delivered_during"`
	// Gap is the longest time, starting within the pause, in which some
	// other middleware delivered none of the others' messages. Under half the pause: the group
	// went on without the paused one (WentOn); else it stalled.
	Gap time.Duration `json:"gap_ns"`
	// CaughtUp: the paused middleware delivered what the others had
	// delivered by the end of the pause, CatchUp after it resumed.
	CaughtUp bool          `json:"caught_up"`
	CatchUp  time.Duration `json:"catch_up_ns"`
	// Stopped is why the run did not complete ("" if it did).
	Stopped string `json:"stopped,omitempty"`
	// Ordering and EndToEnd are the latencies at the other middlewares:
	// the paused one's own are the pause, whatever the protocol.
	Ordering check.Stats `json:"others_ordering"`
	EndToEnd check.Stats `json:"others_end_to_end"`
}

// AnalyzePause measures a pause from the logs. end (µs) is when the wait
// for deliveries ended; complete says whether every middleware delivered
// every message by then, and if not, why is the reason.
func AnalyzePause(incs []check.Incarnation, span PauseSpan, end int64, complete bool, why string) Pause {
	p := Pause{PauseSpan: span}
	p.Ordering, p.EndToEnd = LatenciesAt(incs, func(mw int) bool { return mw != span.MW })
	if !complete {
		p.Stopped = why
		if p.Stopped == "" {
			p.Stopped = "not every message was delivered"
		}
	}
	// The others' messages sent during the pause (anything the paused
	// one logs as sent in the window was sent as it resumed).
	sent := map[string]int64{}
	for _, inc := range incs {
		for _, e := range inc.Entries {
			if _, ok := sent[e.Msg]; e.Kind == check.Sent && !ok && inc.MW != span.MW {
				sent[e.Msg] = e.TS
				if e.TS >= span.From && e.TS <= span.To {
					p.SentDuring++
				}
			}
		}
	}
	logs := byMW(incs)
	p.During = -1
	k := -1 // how many every other middleware had delivered by the end of the pause
	for _, id := range ids(logs) {
		if id == span.MW {
			continue
		}
		during, byEnd := 0, 0
		last := span.From
		var gap time.Duration
		for _, e := range sortedReady(logs[id].ready) {
			s, others := sent[e.Msg]
			if e.TS <= span.To {
				byEnd++
				if others && e.TS >= span.From && s >= span.From {
					during++
				}
			}
			// Gaps are between deliveries of the others' messages: the
			// paused one's own, sent as it resumes, would make the end of
			// a workload that ends during the pause look like a stall.
			if e.TS <= span.From || !others {
				continue
			}
			if last < span.To {
				gap = max(gap, time.Duration(e.TS-last)*time.Microsecond)
			}
			last = e.TS
		}
		if last == span.From && !complete {
			gap = max(gap, time.Duration(end-span.From)*time.Microsecond) // nothing after the pause began
		}
		p.Gap = max(p.Gap, gap)
		if p.During < 0 || during < p.During {
			p.During = during
		}
		if k < 0 || byEnd < k {
			k = byEnd
		}
	}
	p.During = max(p.During, 0)
	if own := logs[span.MW]; k <= 0 {
		p.CaughtUp = true
	} else if own != nil && len(own.ready) >= k {
		p.CaughtUp = true
		p.CatchUp = time.Duration(max(sortedReady(own.ready)[k-1].TS-span.To, 0)) * time.Microsecond
	}
	return p
}

func sortedReady(es []check.Entry) []check.Entry {
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b check.Entry) int { return cmp.Compare(a.TS, b.TS) })
	return out
}

// WentOn reports whether the others went on without the paused
// middleware: their longest gap in deliveries during the pause was under
// half the pause. (A protocol that waits for every member may still
// deliver a message or two early in the pause, on what it heard before.)
func (p Pause) WentOn() bool { return p.Gap < p.Length()/2 }

// Short is the chart's label: "went on", "stalled 3.0 s" or "stopped".
func (p Pause) Short() string {
	switch {
	case p.Stopped != "" && !p.WentOn():
		return "stopped"
	case p.SentDuring == 0:
		return "nothing sent"
	case p.WentOn():
		return "went on"
	}
	return "stalled " + secs(p.Gap)
}

// String is the table's cell.
func (p Pause) String() string {
	who := fmt.Sprintf("M%d", p.MW)
	if p.Leader {
		who += " (leader)"
	}
	var s string
	switch {
	case p.SentDuring == 0:
		s = "nothing was sent during the pause"
	case p.WentOn():
		s = fmt.Sprintf("went on without it (%d of %d sent meanwhile delivered, longest gap %s)", p.During, p.SentDuring, human(p.Gap))
		if p.CaughtUp {
			s += fmt.Sprintf("; it caught up %s after resuming", human(p.CatchUp))
		}
	default:
		s = "stalled " + secs(p.Gap)
		if p.Stopped == "" {
			s += ", then caught up"
		}
	}
	if p.Stopped != "" {
		s += "; stopped: " + p.Stopped
	}
	return who + ": " + s
}
