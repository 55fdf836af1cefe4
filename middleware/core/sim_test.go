package core_test

import (
	"container/heap"
	"flag"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
	"totalorder/middleware/core/coretest"
)

// A deterministic simulated lab: n cores, a network program that delays
// each copy of each message independently (and may drop or duplicate it),
// FIFO control links with small random latency, clock ticks, staggered
// starts, crashes with durable state and restarts, pauses (a process
// stops; its inputs queue up) and partitions of the control links. Every
// run is checked by the order checker; a failing seed prints its replay
// command.

var (
	replaySeed = flag.Int64("seed", 0, "replay one simulation seed")
	traceSim   = flag.Bool("trace", false, "with -seed: print every message of the replayed run")
	traceAll   = flag.Bool("trace-all", false, "with -trace: heartbeats, hellos and digests too")
)

type scenario struct {
	name      string
	drop, dup float64
	// stagger starts one middleware up to this long before the others
	// (or, with staggerLast, after them).
	stagger     time.Duration
	staggerLast bool
	crashes     int  // kill -9 at random times, random victims
	crashLeader bool // the first crash hits the leader / sequencer
	restart     bool // crashed middlewares come back with their state
	wipe        bool // ... without it (amnesia): a fresh state log
	rejoin      bool // ... and ask to be taken back (raft)
	pauses      int  // SIGSTOP for 0.5–5 s
	partitions  int  // control links cut between two sides for 0.5–5 s
	// safetyOnly checks total order and integrity but not that everyone
	// delivered everything: a protocol that cannot go on safely may stall.
	safetyOnly bool
	// minSleep raises the network program's maxSleepTime to at least this.
	minSleep time.Duration
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

type sim struct {
	*coretest.Lab
	t        testing.TB
	rng      *rand.Rand
	proto    core.Protocol
	n        int
	maxSleep time.Duration
	sc       scenario
	now      time.Duration
	q        eventQueue
	seqNo    int
	paused   map[int]time.Duration // paused until
	linkLast map[[2]int]time.Duration
	cut      map[[2]int]bool // control links down, both directions listed
	inFlight int             // network copies not yet arrived
	base     time.Time
}

func newSim(t testing.TB, rng *rand.Rand, proto core.Protocol, sc scenario, n int, maxSleep time.Duration) *sim {
	s := &sim{
		t: t, rng: rng, proto: proto, sc: sc, n: n, maxSleep: maxSleep,
		linkLast: make(map[[2]int]time.Duration),
		cut:      make(map[[2]int]bool),
		base:     time.Unix(1_700_000_000, 0),
		paused:   make(map[int]time.Duration),
	}
	s.Lab = coretest.New(n, proto, s, s.wall)
	// The middlewares know the network's maxSleepTime, as run.sh tells them.
	s.Lab.Configure = func(cfg *core.Config) { cfg.NetMaxSleep = maxSleep }
	if *traceSim {
		s.Lab.Trace = traceWriter{s}
		s.Lab.TraceAll = *traceAll
		s.Lab.OnNote = func(id int, nt core.Note) {
			s.tracef("node %d: %v %s seq=%d recovered=%v", id, nt.Kind, nt.Text(), nt.Seq, nt.Recovered)
		}
	}
	return s
}

func (s *sim) at(d time.Duration, f func()) {
	s.seqNo++
	heap.Push(&s.q, &simEvent{at: d, order: s.seqNo, do: f})
}

// atNode runs f on node id's behalf at d, once the node is not paused
// (a paused process's inputs queue up in order), and drops it if the node
// crashed or restarted meanwhile.
func (s *sim) atNode(d time.Duration, id int, f func()) {
	inc := s.Nodes[id].Inc
	var run func()
	run = func() {
		nd := s.Nodes[id]
		if !nd.Alive || nd.Inc != inc {
			return
		}
		if s.paused[id] > s.now {
			s.at(s.paused[id], run)
			return
		}
		f()
	}
	s.at(d, run)
}

func (s *sim) wall() time.Time { return s.base.Add(s.now) }

func (s *sim) tracef(format string, args ...any) {
	if *traceSim {
		fmt.Printf("%9.3fms "+format+"\n", append([]any{float64(s.now) / 1e6}, args...)...)
	}
}

func (s *sim) start(id int) {
	if err := s.Start(id); err != nil {
		s.t.Fatal(err)
	}
	s.tracef("node %d START incarnation %d (%d durable records)", id, s.Nodes[id].Inc, len(s.Nodes[id].Durable))
	var tick func()
	tick = func() {
		s.Tick(id)
		s.atNode(s.now+s.Nodes[id].Core.TickEvery(), id, tick)
	}
	s.atNode(s.now+time.Duration(s.rng.Intn(10))*time.Millisecond, id, tick)
}

func (s *sim) crash(id int) {
	if !s.Nodes[id].Alive {
		return
	}
	delete(s.paused, id)
	s.tracef("node %d CRASH", id)
	s.Crash(id)
}

// The sim is the lab's transport: each message in flight is an event.

// LinkClosed tells to's adapter that the link from `from` closed, after
// whatever the link still carried.
func (s *sim) LinkClosed(from, to int) {
	d := s.linkDelay(from, to)
	s.atNode(d, to, func() { s.DeliverLinkClosed(from, to) })
}

func (s *sim) linkDelay(from, to int) time.Duration {
	key := [2]int{from, to}
	d := s.now + time.Duration(50+s.rng.Intn(450))*time.Microsecond
	if last := s.linkLast[key]; d < last {
		d = last // TCP keeps a link in order
	}
	s.linkLast[key] = d
	return d
}

// Multicast is the network program: each copy after its own random delay,
// some dropped or duplicated as the scenario says.
func (s *sim) Multicast(from int, text string) {
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
			to := to
			// The network program's copy finds the process that
			// listens then (a restarted one too), or nobody.
			s.inFlight++
			s.at(d, func() {
				s.inFlight--
				if !s.Nodes[to].Alive {
					return
				}
				s.atNode(s.now, to, func() {
					if err := s.DeliverData(to, text); err != nil {
						s.t.Fatalf("DataIn(%q): %v", text, err)
					}
				})
			})
		}
	}
}

// Control carries a control message over its FIFO link, unless cut.
func (s *sim) Control(to int, m core.Msg) {
	from := m.From
	if s.cut[[2]int{from, to}] {
		return // the link is down: lost
	}
	d := s.linkDelay(from, to)
	s.atNode(d, to, func() {
		if !s.cut[[2]int{from, to}] {
			s.DeliverControl(to, m)
		}
	})
}

// partition cuts every control link between side and the rest for d.
func (s *sim) partition(side map[int]bool, d time.Duration) {
	s.tracef("PARTITION %v for %v", side, d)
	var pairs [][2]int
	for a := 1; a <= s.n; a++ {
		for b := 1; b <= s.n; b++ {
			if a != b && side[a] && !side[b] {
				pairs = append(pairs, [2]int{a, b}, [2]int{b, a})
			}
		}
	}
	for _, p := range pairs {
		if !s.cut[p] {
			s.cut[p] = true
			if s.Nodes[p[0]].Alive && s.Nodes[p[1]].Alive {
				s.LinkClosed(p[0], p[1])
			}
		}
	}
	s.at(s.now+d, func() {
		s.tracef("HEAL %v", side)
		for _, p := range pairs {
			delete(s.cut, p)
		}
	})
}

// leader is the lab's leader, or a random member when none is known.
func (s *sim) leader() int {
	if id := s.Leader(); id != 0 {
		return id
	}
	return 1 + s.rng.Intn(s.n)
}

func runSim(t testing.TB, seed int64, proto core.Protocol, sc scenario) error {
	_, err := runSimSplits(t, seed, proto, sc)
	return err
}

// runSimSplits runs one simulation and returns, with the checker's
// verdict, the splits the middlewares' own agreement check reported.
func runSimSplits(t testing.TB, seed int64, proto core.Protocol, sc scenario) ([]core.Note, error) {
	rng := rand.New(rand.NewSource(seed))
	n := 2 + rng.Intn(6)
	if sc.crashes+sc.pauses+sc.partitions > 0 && n < 3 {
		n = 3
	}
	sleeps := []time.Duration{0, time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second}
	s := newSim(t, rng, proto, sc, n, max(sleeps[rng.Intn(len(sleeps))], sc.minSleep))
	early := 1 + rng.Intn(s.n)
	startBase := time.Duration(0)
	if sc.stagger > 0 && !sc.staggerLast {
		startBase = time.Duration(rng.Int63n(int64(sc.stagger)))
	}
	for id := 1; id <= s.n; id++ {
		id := id
		// Processes start up to 300 ms apart, as a launcher starts them;
		// with stagger one of them much earlier or later.
		at := startBase + time.Duration(rng.Intn(300))*time.Millisecond
		if sc.stagger > 0 && id == early {
			if sc.staggerLast {
				at += time.Duration(rng.Int63n(int64(sc.stagger)))
			} else {
				at = 0
			}
		}
		s.at(at, func() { s.start(id) })
	}
	sendFrom := startBase
	sendWindow := 3 * time.Second
	for id := 1; id <= s.n; id++ {
		for k := rng.Intn(8); k >= 0; k-- {
			id, count := id, 1
			if rng.Intn(5) == 0 {
				count = 1 + rng.Intn(20)
			}
			s.at(sendFrom+time.Duration(rng.Int63n(int64(sendWindow))), func() {
				if s.Nodes[id].Alive {
					s.atNode(s.now, id, func() {
						s.Nodes[id].Core.Send(s.wall(), count)
						s.Flush(id)
					})
				}
			})
		}
	}
	faultAt := func() time.Duration {
		return sendFrom + 200*time.Millisecond + time.Duration(rng.Int63n(int64(sendWindow)))
	}
	faultLen := func() time.Duration {
		return 500*time.Millisecond + time.Duration(rng.Int63n(int64(4500*time.Millisecond)))
	}
	for k := 0; k < sc.crashes; k++ {
		first := k == 0
		s.at(faultAt(), func() {
			victim := 1 + rng.Intn(s.n)
			if first && sc.crashLeader {
				victim = s.leader()
			}
			alive := 0
			for id := 1; id <= s.n; id++ {
				if s.Nodes[id].Alive {
					alive++
				}
			}
			// Raft needs a majority alive to go on; the others may stall.
			if !s.Nodes[victim].Alive || (!sc.restart && alive-1 <= s.n/2) {
				return
			}
			s.crash(victim)
			if sc.restart {
				s.at(s.now+time.Duration(200+rng.Intn(3000))*time.Millisecond, func() {
					if sc.wipe {
						s.tracef("node %d LOSES ITS STATE", victim)
						s.Nodes[victim].Durable = nil
						s.Nodes[victim].Rejoin = sc.rejoin
					}
					s.start(victim)
				})
			}
		})
	}
	for k := 0; k < sc.pauses; k++ {
		first := k == 0
		s.at(faultAt(), func() {
			victim := 1 + rng.Intn(s.n)
			if first {
				victim = s.leader()
			}
			if s.Nodes[victim].Alive && s.paused[victim] <= s.now {
				s.paused[victim] = s.now + faultLen()
				s.tracef("node %d PAUSED until %.3fms", victim, float64(s.paused[victim])/1e6)
			}
		})
	}
	for k := 0; k < sc.partitions; k++ {
		s.at(faultAt(), func() {
			side := map[int]bool{}
			if rng.Intn(2) == 0 {
				side[s.leader()] = true
			}
			for len(side) == 0 || rng.Intn(3) == 0 {
				side[1+rng.Intn(s.n)] = true
			}
			if len(side) < s.n {
				s.partition(side, faultLen())
			}
		})
	}
	// Long enough after the last fault for raft to elect, catch up and
	// recover overdue content (RecoverAfter 5 s), and for sends to drain;
	// a run that is quiet before that ends early.
	faultsOver := sendFrom + sendWindow + 5500*time.Millisecond
	end := faultsOver + 3*s.maxSleep + 20*time.Second
	var quiet func()
	quiet = func() {
		if !s.quiescent() {
			s.at(s.now+500*time.Millisecond, quiet)
			return
		}
		end = s.now
	}
	s.at(faultsOver, quiet)
	for s.q.Len() > 0 {
		e := heap.Pop(&s.q).(*simEvent)
		if e.at > end {
			break
		}
		s.now = e.at
		e.do()
	}
	if err := s.Check(!sc.safetyOnly); err != nil {
		return s.Splits, fmt.Errorf("seed %d (%s, %s, n=%d, maxSleep=%v): %w", seed, proto, sc.name, s.n, s.maxSleep, err)
	}
	return s.Splits, nil
}

// quiescent reports whether nothing more can happen: no copy in flight, no
// fault under way, every live middleware has delivered the same number of
// messages, all of its own, and holds nothing undelivered.
func (s *sim) quiescent() bool {
	if s.inFlight > 0 || len(s.cut) > 0 {
		return false
	}
	last := int64(-1)
	for id := 1; id <= s.n; id++ {
		nd := s.Nodes[id]
		if !nd.Alive {
			continue
		}
		v := nd.Core.View()
		if s.paused[id] > s.now || v.Pending > 0 || v.Held > 0 {
			return false
		}
		seq := int64(0) // the last seq it delivered, in any incarnation
		own := map[string]bool{}
		for _, es := range append(incEntries(nd.Past), nd.Entries) {
			for _, e := range es {
				if e.Kind == check.Ready {
					seq = int64(e.Seq)
				}
			}
		}
		if last >= 0 && seq != last {
			return false
		}
		last = seq
		for _, e := range nd.Entries {
			switch e.Kind {
			case check.Sent:
				own[e.Msg] = true
			case check.Ready:
				delete(own, e.Msg)
			}
		}
		if len(own) > 0 {
			return false
		}
	}
	return true
}

// traceWriter prints the lab's conversation with the sim's clock.
type traceWriter struct{ s *sim }

func (w traceWriter) Write(b []byte) (int, error) {
	w.s.tracef("%s", strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func incEntries(incs []check.Incarnation) [][]check.Entry {
	var out [][]check.Entry
	for _, inc := range incs {
		out = append(out, inc.Entries)
	}
	return out
}

// simSeeds runs seeds 1..seeds. Raft draws its election timeouts from
// crypto/rand, so each raft run fixes that source to its seed: a seed
// replays exactly. (That source is process-wide, hence raft's subtests do
// not run in parallel; the others, which never read it, do.)
func simSeeds(t *testing.T, proto core.Protocol, sc scenario, seeds int) {
	fixRandom := func(seed int64) {
		if proto == core.Raft {
			cryptotest.SetGlobalRandom(t, uint64(seed))
		}
	}
	if proto != core.Raft && *replaySeed == 0 {
		t.Parallel()
	}
	if *replaySeed != 0 {
		fixRandom(*replaySeed)
		if err := runSim(t, *replaySeed, proto, sc); err != nil {
			t.Fatal(err)
		}
		return
	}
	if testing.Short() {
		seeds /= 20
	}
	failed := 0
	for seed := int64(1); seed <= int64(seeds); seed++ {
		fixRandom(seed)
		if err := runSim(t, seed, proto, sc); err != nil {
			t.Errorf("%v\n  replay: go test ./middleware/core -run '%s' -seed %d -trace", err, t.Name(), seed)
			if failed++; failed >= 3 {
				t.FailNow()
			}
		}
	}
}

// faultScenarios are the faults every protocol faces. safety marks those
// after which the baselines may stall (they must never disagree).
var faultScenarios = []struct {
	sc             scenario
	baselinesStall bool
}{
	{sc: scenario{name: "no faults"}},
	{sc: scenario{name: "drops", drop: 0.2}},
	{sc: scenario{name: "duplicates", dup: 0.3}},
	{sc: scenario{name: "one starts 5s early", stagger: 5 * time.Second}},
	{sc: scenario{name: "one starts 5s late", stagger: 5 * time.Second, staggerLast: true}},
	{sc: scenario{name: "leader paused", pauses: 1}},
	{sc: scenario{name: "pauses", pauses: 3}},
	{sc: scenario{name: "partitions", partitions: 2}},
	{sc: scenario{name: "leader crash", crashes: 1, crashLeader: true}, baselinesStall: true},
	{sc: scenario{name: "crashes", crashes: 2}, baselinesStall: true},
	{sc: scenario{name: "crash and restart", crashes: 2, crashLeader: true, restart: true}, baselinesStall: true},
	{sc: scenario{name: "everything", crashes: 2, restart: true, pauses: 2, partitions: 2, drop: 0.05, dup: 0.05}, baselinesStall: true},
	// Amnesia: a member (the leader first), or two, come back without
	// their state. Nobody may deliver a message twice or two messages at
	// one position; the amnesiac takes no part, so only safety is checked.
	{sc: scenario{name: "amnesia", crashes: 1, crashLeader: true, restart: true, wipe: true, safetyOnly: true}, baselinesStall: true},
	{sc: scenario{name: "amnesia of two", crashes: 2, restart: true, wipe: true, partitions: 1, safetyOnly: true}, baselinesStall: true},
}

// TestSim runs every protocol that orders (core.Protocols: a new
// protocol's file registers it, and it is simulated here by itself) under
// every fault scenario. A fault-tolerant protocol must deliver everything
// everywhere; the others must never disagree, and may stall where they
// cannot go on.
func TestSim(t *testing.T) {
	for _, proto := range core.Protocols {
		if !proto.Orders() {
			continue // none: TestSimNoneDiverges
		}
		t.Run(string(proto), func(t *testing.T) {
			if proto != core.Raft {
				t.Parallel()
			}
			for _, f := range faultScenarios {
				sc := f.sc
				sc.safetyOnly = sc.safetyOnly || (f.baselinesStall && !proto.FaultTolerant())
				t.Run(sc.name, func(t *testing.T) {
					simSeeds(t, proto, sc, 1000)
				})
			}
		})
	}
}

// A raft member that lost its state, taken back (-rejoin): the group
// removes it, adds it back as a learner, promotes it; it delivers every
// position after what its earlier incarnation delivered, nothing twice.
func TestSimRaftRejoin(t *testing.T) {
	for _, sc := range []scenario{
		{name: "follower or leader", crashes: 1, restart: true, wipe: true, rejoin: true},
		{name: "leader", crashes: 1, crashLeader: true, restart: true, wipe: true, rejoin: true},
		{name: "with faults", crashes: 1, restart: true, wipe: true, rejoin: true, pauses: 1, partitions: 1, drop: 0.05},
	} {
		t.Run(sc.name, func(t *testing.T) {
			simSeeds(t, core.Raft, sc, 300)
		})
	}
}

// Without ordering the windows disagree: under "none" the checker must fail
// runs within a few seeds, and every run it fails the middlewares' own
// agreement check must have caught too, at the position the checker names
// or before it.
func TestSimNoneDiverges(t *testing.T) {
	t.Parallel()
	sc := scenario{name: "no faults", minSleep: 500 * time.Millisecond}
	failed, firstFailed := 0, int64(0)
	const seeds = 40
	for seed := int64(1); seed <= seeds; seed++ {
		splits, err := runSimSplits(t, seed, core.None, sc)
		if err == nil {
			if len(splits) > 0 {
				t.Errorf("seed %d: the checker passed a run whose middlewares reported a split: %+v", seed, splits[0])
			}
			continue
		}
		if failed++; firstFailed == 0 {
			firstFailed = seed
		}
		if !strings.Contains(err.Error(), "VIOLATION") {
			t.Errorf("seed %d: the checker failed the run without naming a violation: %v", seed, err)
		}
		if len(splits) == 0 {
			t.Errorf("seed %d: the checker found %v, the agreement check nothing", seed, err)
		}
		for _, nt := range splits {
			if nt.Seq == 0 || nt.Text() == nt.There {
				t.Errorf("seed %d: a split names the same message on both sides: %+v", seed, nt)
			}
		}
	}
	t.Logf("none: the checker failed %d of %d runs, the first at seed %d", failed, seeds, firstFailed)
	if firstFailed == 0 || firstFailed > 5 || failed < seeds/2 {
		t.Fatalf("none: the checker failed %d of %d runs, the first at seed %d: want most, from the first few", failed, seeds, firstFailed)
	}
}
