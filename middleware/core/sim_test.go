package core_test

import (
	"container/heap"
	"flag"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// A deterministic simulated lab: n cores, a network program that delays
// each copy of each message independently (and may drop or duplicate it),
// FIFO control links with small random latency, clock ticks, crashes and
// restarts. Every run is checked by the order checker; a failing seed is
// printed so it can be replayed with -seed.

var (
	replaySeed = flag.Int64("seed", 0, "replay one simulation seed")
	traceSim   = flag.Bool("trace", false, "with -seed: print every message of the replayed run")
)

type scenario struct {
	name      string
	crashes   int  // how many crashes (at random times, random victims)
	crashSeq  bool // the first crash hits the sequencer (highest id alive)
	restart   bool // crashed middlewares come back with a new incarnation
	drop, dup float64
	// late delays that share of copies by 1.5–4 s more than maxSleep:
	// they arrive after fetches and voids were decided.
	late float64
	// ctlLoss loses that share of control messages (a link that broke
	// with data in it).
	ctlLoss float64
	// nonUniform checks survivors only: crashed incarnations may have
	// delivered a message that every survivor lost for good (all its
	// copies dropped and all its holders crashed), which survivors void.
	nonUniform bool
	// livenessOnly (ISIS under crashes) checks that no survivor hangs:
	// each delivers every message of every middleware that never crashed,
	// once. Textbook ISIS does not promise more when a sender dies.
	livenessOnly bool
}

type simEvent struct {
	at    time.Duration
	order int // tie-break: insertion order
	do    func()
}

type eventQueue []*simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	return q[i].at < q[j].at || (q[i].at == q[j].at && q[i].order < q[j].order)
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*simEvent)) }
func (q *eventQueue) Pop() any     { o := *q; e := o[len(o)-1]; *q = o[:len(o)-1]; return e }

type simNode struct {
	core      *core.Core
	startedAt time.Duration
	inc       int // incarnation number; messages for an older one are lost
	alive     bool
	entries   []check.Entry
	incs      []check.Incarnation
}

type sim struct {
	t        testing.TB
	rng      *rand.Rand
	proto    core.Protocol
	n        int
	maxSleep time.Duration
	sc       scenario
	now      time.Duration
	q        eventQueue
	seqNo    int
	nodes    []*simNode // 1-based
	linkLast map[[2]int]time.Duration
	base     time.Time
	crashed  map[int]bool
	sent     int
}

func (s *sim) at(d time.Duration, f func()) {
	s.seqNo++
	heap.Push(&s.q, &simEvent{at: d, order: s.seqNo, do: f})
}

func (s *sim) wall() time.Time { return s.base.Add(s.now) }

func (s *sim) cfg(id int, inc int) core.Config {
	return core.Config{ID: id, N: s.n, Protocol: s.proto, Run: fmt.Sprintf("r%d", inc)}
}

func (s *sim) start(id int) {
	nd := s.nodes[id]
	nd.inc++
	nd.alive = true
	nd.startedAt = s.now
	nd.entries = nil
	cfg := s.cfg(id, nd.inc)
	// As the adapter does from its events log: the last number logged sent.
	for _, inc := range nd.incs {
		for _, e := range inc.Entries {
			if mid, ok := core.ParseText(e.Msg); ok && e.Kind == check.Sent && mid.Num > cfg.LastNum {
				cfg.LastNum = mid.Num
			}
		}
	}
	nd.core = core.New(cfg, s.wall())
	inc := nd.inc
	var tick func()
	tick = func() {
		if nd.inc != inc || !nd.alive {
			return
		}
		nd.core.Tick(s.wall())
		s.flush(id)
		s.at(s.now+nd.core.TickEvery(), tick)
	}
	s.at(s.now+time.Duration(s.rng.Intn(10))*time.Millisecond, tick)
}

func (s *sim) crash(id int) {
	nd := s.nodes[id]
	if !nd.alive {
		return
	}
	nd.alive = false
	s.crashed[id] = true
	if *traceSim {
		fmt.Printf("%8.3fms node %d CRASH\n", float64(s.now)/1e6, id)
	}
	nd.incs = append(nd.incs, check.Incarnation{MW: id, Run: fmt.Sprint(nd.inc), Entries: nd.entries})
	nd.entries = nil
	// Its control connections close: each peer's adapter reports it after
	// whatever the link still carried.
	for to := 1; to <= s.n; to++ {
		if to == id {
			continue
		}
		key := [2]int{id, to}
		d := s.now + time.Duration(50+s.rng.Intn(450))*time.Microsecond
		if last := s.linkLast[key]; d < last {
			d = last
		}
		s.linkLast[key] = d
		to, toInc, run := to, s.nodes[to].inc, s.cfg(id, nd.inc).Run
		s.at(d, func() {
			if dst := s.nodes[to]; dst.alive && dst.inc == toInc {
				dst.core.ControlIn(s.wall(), core.Msg{Kind: core.KindLinkClosed, From: id, Run: run})
				s.flush(to)
			}
		})
	}
}

// flush carries out a node's output: content to the network program,
// control messages over FIFO links, notes into its log.
func (s *sim) flush(id int) {
	nd := s.nodes[id]
	out := nd.core.Output()
	ts := s.wall().UnixMicro()
	for _, nt := range out.Notes {
		if *traceSim {
			fmt.Printf("%8.3fms node %d: %v %s seq=%d fetched=%v\n", float64(s.now)/1e6, id, nt.Kind, nt.ID.Text(), nt.Seq, nt.Fetched)
		}
		e := check.Entry{Msg: nt.ID.Text(), TS: ts, Seq: nt.Seq}
		switch nt.Kind {
		case core.NoteSent:
			e.Kind = check.Sent
			s.sent++
		case core.NoteReceived:
			e.Kind = check.Received
		case core.NoteReady:
			e.Kind = check.Ready
		}
		nd.entries = append(nd.entries, e)
	}
	for _, mid := range out.ToNetwork {
		text := mid.Text()
		relay := s.now + time.Duration(s.rng.Intn(300))*time.Microsecond
		for to := 1; to <= s.n; to++ {
			copies := 1
			if s.rng.Float64() < s.sc.drop {
				copies = 0
			} else if s.rng.Float64() < s.sc.dup {
				copies = 2
			}
			for k := 0; k < copies; k++ {
				d := relay
				if s.maxSleep > 0 {
					d += time.Duration(s.rng.Int63n(int64(s.maxSleep) + 1))
				}
				if s.rng.Float64() < s.sc.late {
					d += 1500*time.Millisecond + time.Duration(s.rng.Int63n(int64(2500*time.Millisecond)))
				}
				to := to
				s.at(d, func() {
					dst := s.nodes[to]
					if !dst.alive {
						return // the network program's copy finds nobody listening
					}
					if err := dst.core.DataIn(s.wall(), text); err != nil {
						s.t.Fatalf("DataIn(%q): %v", text, err)
					}
					s.flush(to)
				})
			}
		}
	}
	for _, env := range out.Control {
		key := [2]int{id, env.To}
		d := s.now + time.Duration(50+s.rng.Intn(450))*time.Microsecond
		if last := s.linkLast[key]; d < last {
			d = last // TCP keeps a link in order
		}
		s.linkLast[key] = d
		// Round-trip through the wire encoding, as the adapters do.
		line := core.AppendMsg(nil, &env.Msg)
		m, err := core.DecodeMsg(line[:len(line)-1])
		if err != nil {
			s.t.Fatalf("decode %q: %v", line, err)
		}
		m.From = id
		if s.rng.Float64() < s.sc.ctlLoss {
			continue
		}
		if *traceSim && m.Kind != core.KindHeartbeat {
			fmt.Printf("%8.3fms %d->%d %s", float64(s.now)/1e6, id, env.To, line)
		}
		to, toInc := env.To, s.nodes[env.To].inc
		s.at(d, func() {
			dst := s.nodes[to]
			if !dst.alive || dst.inc != toInc {
				return // the link broke with the process
			}
			dst.core.ControlIn(s.wall(), m)
			s.flush(to)
		})
	}
	nd.core.ClearOutput()
}

func runSim(t testing.TB, seed int64, proto core.Protocol, sc scenario) error {
	rng := rand.New(rand.NewSource(seed))
	s := &sim{
		t: t, rng: rng, proto: proto, sc: sc,
		n:        2 + rng.Intn(6),
		linkLast: make(map[[2]int]time.Duration),
		base:     time.Unix(1_700_000_000, 0),
		crashed:  make(map[int]bool),
	}
	sleeps := []time.Duration{0, time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond}
	s.maxSleep = sleeps[rng.Intn(len(sleeps))]
	if sc.crashes > 0 && s.n < 3 {
		s.n = 3
	}
	s.nodes = make([]*simNode, s.n+1)
	for id := 1; id <= s.n; id++ {
		s.nodes[id] = &simNode{}
		id := id
		// Processes start up to 300 ms apart, as a launcher starts them.
		s.at(time.Duration(rng.Intn(300))*time.Millisecond, func() { s.start(id) })
	}
	sendWindow := 1500 * time.Millisecond
	for id := 1; id <= s.n; id++ {
		for k := rng.Intn(8); k >= 0; k-- {
			id, count := id, 1
			if rng.Intn(5) == 0 {
				count = 1 + rng.Intn(10)
			}
			s.at(time.Duration(rng.Int63n(int64(sendWindow))), func() {
				if nd := s.nodes[id]; nd.alive {
					nd.core.Send(s.wall(), count)
					s.flush(id)
				}
			})
		}
	}
	for k := 0; k < sc.crashes; k++ {
		when := 300*time.Millisecond + time.Duration(rng.Int63n(int64(sendWindow)))
		first := k == 0
		s.at(when, func() {
			victim := 1 + rng.Intn(s.n)
			if first && sc.crashSeq {
				for id := s.n; id >= 1; id-- {
					if s.nodes[id].alive {
						victim = id
						break
					}
				}
			}
			if len(s.crashed) >= s.n-1 || !s.nodes[victim].alive {
				return
			}
			s.crash(victim)
			if sc.restart {
				s.at(s.now+time.Duration(200+rng.Intn(1500))*time.Millisecond, func() {
					delete(s.crashed, victim)
					s.start(victim)
				})
			}
		})
	}
	end := sendWindow + 3*s.maxSleep + 8*time.Second
	for s.q.Len() > 0 {
		e := heap.Pop(&s.q).(*simEvent)
		if e.at > end {
			break
		}
		s.now = e.at
		e.do()
	}
	everCrashed := make(map[int]bool)
	for id := 1; id <= s.n; id++ {
		if len(s.nodes[id].incs) > 0 {
			everCrashed[id] = true
		}
	}
	if sc.livenessOnly {
		return s.checkLiveness(seed, everCrashed)
	}
	var incs []check.Incarnation
	for id := 1; id <= s.n; id++ {
		nd := s.nodes[id]
		for _, inc := range nd.incs {
			if sc.nonUniform {
				inc.Entries = onlySent(inc.Entries)
			}
			incs = append(incs, inc)
		}
		if nd.alive {
			incs = append(incs, check.Incarnation{MW: id, Run: fmt.Sprint(nd.inc), Entries: nd.entries})
		}
	}
	_, err := check.Check(incs, check.Options{Agreement: true, Crashed: s.crashed})
	if err != nil {
		return fmt.Errorf("seed %d (%s, %s, n=%d, maxSleep=%v): %w", seed, proto, sc.name, s.n, s.maxSleep, err)
	}
	return nil
}

func incEntries(incs []check.Incarnation) [][]check.Entry {
	var out [][]check.Entry
	for _, inc := range incs {
		out = append(out, inc.Entries)
	}
	return out
}

func onlySent(es []check.Entry) []check.Entry {
	var out []check.Entry
	for _, e := range es {
		if e.Kind == check.Sent {
			out = append(out, e)
		}
	}
	return out
}

func (s *sim) checkLiveness(seed int64, everCrashed map[int]bool) error {
	sentBy := make(map[string]int)
	for id := 1; id <= s.n; id++ {
		nd := s.nodes[id]
		for k, es := range append(incEntries(nd.incs), nd.entries) {
			for _, e := range es {
				if e.Kind != check.Sent {
					continue
				}
				if prev, ok := sentBy[e.Msg]; ok {
					return fmt.Errorf("seed %d (%s, %s, n=%d): %q sent twice (incarnations %d and %d of Middleware %d): a restart reused its numbering", seed, s.proto, s.sc.name, s.n, e.Msg, prev, k, id)
				}
				sentBy[e.Msg] = k
			}
		}
	}
	must := make(map[string]int64) // message -> when it was sent
	for id := 1; id <= s.n; id++ {
		if everCrashed[id] {
			continue
		}
		for _, e := range s.nodes[id].entries {
			if e.Kind == check.Sent {
				must[e.Msg] = e.TS
			}
		}
	}
	for id := 1; id <= s.n; id++ {
		nd := s.nodes[id]
		if !nd.alive {
			continue
		}
		// A restarted middleware owes only what was sent once it was back
		// in everyone's view.
		var since int64
		if len(nd.incs) > 0 {
			since = s.wall().Add(-s.now + nd.startedAt + 2*time.Second).UnixMicro()
		}
		got := make(map[string]bool)
		for _, e := range nd.entries {
			if e.Kind != check.Ready {
				continue
			}
			if got[e.Msg] {
				return fmt.Errorf("seed %d (%s, %s, n=%d): Middleware %d delivered %q twice", seed, s.proto, s.sc.name, s.n, id, e.Msg)
			}
			got[e.Msg] = true
		}
		for m, at := range must {
			if !got[m] && at >= since {
				return fmt.Errorf("seed %d (%s, %s, n=%d, maxSleep=%v): Middleware %d hangs: never delivered %q of a live sender", seed, s.proto, s.sc.name, s.n, s.maxSleep, id, m)
			}
		}
	}
	return nil
}

func simSeeds(t *testing.T, proto core.Protocol, sc scenario, seeds int) {
	if *replaySeed != 0 {
		if err := runSim(t, *replaySeed, proto, sc); err != nil {
			t.Fatal(err)
		}
		return
	}
	if testing.Short() {
		seeds /= 10
	}
	failed := 0
	for seed := int64(1); seed <= int64(seeds); seed++ {
		if err := runSim(t, seed, proto, sc); err != nil {
			t.Errorf("%v\n  replay: go test ./middleware/core -run '%s' -seed %d", err, t.Name(), seed)
			if failed++; failed >= 3 {
				t.FailNow()
			}
		}
	}
}

func TestSimSequencer(t *testing.T) {
	t.Parallel()
	simSeeds(t, core.Sequencer, scenario{name: "no faults"}, 1000)
}

func TestSimISIS(t *testing.T) {
	t.Parallel()
	simSeeds(t, core.ISIS, scenario{name: "no faults"}, 1000)
}

func TestSimSequencerFaults(t *testing.T) {
	for _, sc := range []scenario{
		{name: "sequencer crash", crashes: 1, crashSeq: true},
		{name: "member crash", crashes: 1},
		{name: "two crashes", crashes: 2, crashSeq: true},
		{name: "crash and restart", crashes: 2, crashSeq: true, restart: true},
		{name: "drops", drop: 0.2},
		{name: "duplicates", dup: 0.3},
		{name: "crashes with drops and duplicates", crashes: 2, crashSeq: true, drop: 0.1, dup: 0.1, nonUniform: true},
		{name: "restarts with duplicates", crashes: 2, restart: true, dup: 0.2},
		{name: "late copies with crashes and drops", crashes: 1, drop: 0.2, late: 0.3, nonUniform: true},
		{name: "lossy control links", ctlLoss: 0.01},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			simSeeds(t, core.Sequencer, sc, 1000)
		})
	}
}

func TestSimISISFaults(t *testing.T) {
	for _, sc := range []scenario{
		{name: "crashes do not hang it", crashes: 2, livenessOnly: true},
		{name: "restarts do not hang it", crashes: 2, restart: true, livenessOnly: true},
		{name: "lossy control links", ctlLoss: 0.01},
		{name: "late copies", drop: 0.1, late: 0.3},
		{name: "drops", drop: 0.2},
		{name: "duplicates", dup: 0.3},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			simSeeds(t, core.ISIS, sc, 1000)
		})
	}
}
