// Package check verifies what the middlewares of one lab run logged: that
// they delivered messages in one total order, with contiguous sequence
// numbers, without duplicates (within one run of a middleware or across
// its restarts) or invented messages, and (at quiescence) that every
// survivor delivered the same messages. It names the first position where
// two Ready lists differ, and reports beside its own findings the
// divergences the middlewares' live agreement checks recorded. It also
// measures delivery latency against its lower bound, content arrival, and
// against a reference, delivery in send order.
//
// It imports nothing from this repository but the events log's package
// (internal/evlog, which imports nothing from it either), so that the
// protocol core's simulation tests can call Check on in-memory logs.
package check

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind says which list of a middleware an entry was added to.
type Kind uint8

const (
	Sent     Kind = iota + 1 // the application sent it
	Received                 // its content arrived from the network
	Ready                    // delivered to the application in total order
)

func (k Kind) String() string {
	switch k {
	case Sent:
		return "sent"
	case Received:
		return "received"
	case Ready:
		return "ready"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Entry is one line of an events log.
type Entry struct {
	Kind Kind
	Msg  string // the human part, "Msg #k from Middleware i"; names must be unique per run
	TS   int64  // unix microseconds
	Seq  uint64 // Ready only: agreed position, 1, 2, 3…
	// Recovered marks a Received whose content did not come from the
	// network program ("recovered":true: from the committed log;
	// "fetched":true: from a peer). Informational: Check ignores it.
	Recovered bool
}

// Incarnation is everything one run of one middleware process logged, in
// log order. A restarted middleware has several incarnations; Check takes
// those of one middleware in the order they ran.
type Incarnation struct {
	MW      int
	Run     string // incarnation id; informational only
	Entries []Entry
	// Gaps are the stretches its log could not write; checks do not
	// blame anyone for what may be in them.
	Gaps []Gap
	// Diverged are the splits this incarnation's live agreement check
	// recorded ("diverged" lines): not list changes, reported as found.
	Diverged []Divergence
}

// Divergence is a position where two middlewares' Ready lists differ: one
// a middleware recorded itself (its live agreement check compares digests
// with each peer and writes a "diverged" line at the first position that
// differs), or the first one the checker finds in the logs.
type Divergence struct {
	MW   int    `json:"mw"`
	Run  string `json:"run,omitempty"`
	Peer int    `json:"peer"`
	Seq  uint64 `json:"seq"`
	// Here is MW's message at Seq, There the peer's. In a recorded
	// divergence they are what the live check knows: message ids
	// ("Msg #2 from Middleware 4"), without a body.
	Here  string `json:"here"`
	There string `json:"there"`
	TS    int64  `json:"ts_us,omitempty"` // when it was recorded
	// Logs says, for a recorded divergence, what the events logs show at
	// Seq: "confirmed" (both logs hold these two messages there), or what
	// they hold instead.
	Logs string `json:"logs,omitempty"`
}

// Options say what the run was allowed to do. The zero value checks total
// order, contiguous seq and integrity but not agreement; the command line
// turns agreement on by default.
type Options struct {
	// Agreement checks, at quiescence, that every survivor delivered every
	// message it had to. Given total order and contiguous seqs this also
	// means all survivors end at the same seq.
	Agreement bool
	// Crashed holds middleware ids whose last incarnation crashed or was
	// killed; non-last incarnations count as crashed anyway.
	Crashed map[int]bool
	// AllowUnsent accepts deliveries of messages no log shows as sent (for
	// runs where some logs are missing).
	AllowUnsent bool
}

// Property names, as used in Violation.Property.
const (
	PropTotalOrder    = "total order"
	PropContiguousSeq = "contiguous seq"
	PropIntegrity     = "integrity"
	PropAgreement     = "agreement"
)

// Violation is one kind of failure of a property: how many times it
// happened and the first examples. Check reports every kind it finds.
type Violation struct {
	Property string `json:"property"`
	// Detail is the example itself when there is one, else the count
	// and the first example: "274 positions carry different messages at
	// different middlewares; first: …".
	Detail   string   `json:"detail"`
	Count    int      `json:"count"`
	Examples []string `json:"examples,omitempty"` // the first few, earliest first
	what     string   // the plural summary of this kind
}

func (v *Violation) Error() string { return "VIOLATION " + v.Property + ": " + v.Detail }

// maxExamples is how many examples a Violation keeps.
const maxExamples = 3

// Violations is Check's error: every kind of failure found, in the order
// of the checks. errors.As finds the first *Violation in it.
type Violations []*Violation

func (vs Violations) Error() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Error()
	}
	return strings.Join(parts, " | ")
}

func (vs Violations) Unwrap() []error {
	errs := make([]error, len(vs))
	for i, v := range vs {
		errs[i] = v
	}
	return errs
}

// Gap is a stretch of an events log its writer could not write (the log
// says so with a "lost" line).
type Gap struct {
	After  int    // number of the incarnation's entries logged before the gap
	Count  int    // events not written
	FromTS int64  // ts_us of the first and last event not written
	ToTS   int64  //
	Error  string // why, e.g. "no space left"
	// End marks the events its writer could not write before it exited
	// ("final":true on the "lost" line, written in room kept for it):
	// nothing of the incarnation follows, so deliveries the gap may hold
	// (up to Count beyond the last logged seq) are not required of it.
	End bool
}

// msgInfo is what Check knows about one distinct message.
type msgInfo struct {
	id     int32
	name   string
	sentTS int64 // first sent event; valid when sentBy >= 0
	sentBy int32 // incarnation index of the first sent event, -1 if never sent
	seq    uint64
	seqBy  int32 // incarnation that first delivered it at seq, -1 if undelivered
}

// incInfo is what Check derives about one incarnation.
type incInfo struct {
	nth, of    int  // this is incarnation nth (1-based) of `of` for its middleware
	survivor   bool // last incarnation of a middleware not listed as crashed
	start, end uint64
	delivered  bool  // has at least one Ready entry
	ready      int   // number of Ready entries
	lastReady  int   // number of entries up to and including its last Ready
	firstTS    int64 // TS of its first entry: a proxy for when it joined
}

type checker struct {
	incs  []Incarnation
	opt   Options
	ids   map[string]int32
	msgs  []msgInfo
	msgOf [][]int32 // msgOf[i][j] is the message id of incs[i].Entries[j]
	info  []incInfo
	order []int32 // message ids by delivery order, see byOrder
	warns []string
	found Violations
	kinds map[string]*Violation   // by property and summary
	ranks map[*Violation][]uint64 // ranks of the examples kept, see fail
	// unsentInGap counts deliveries with no sent event whose sender's log
	// has a gap.
	unsentInGap int
	// undeliveredInGap counts messages no log shows delivered, whose
	// deliveries gaps may hold.
	undeliveredInGap int
	// delivered[s][id], when the seq ranges cannot be trusted (an earlier
	// check failed), says whether survivor s delivered message id.
	delivered map[int][]bool
	// first is the lowest position two middlewares filled differently.
	first *Divergence
}

// Check verifies the logs of one run. It returns the report and, when a
// property fails, Violations naming every kind of failure found (with
// counts and first examples); the report is filled in either way
// (Report.Violations and Report.Verdict say which). Logs with gaps (a
// "lost" line) are reported in Report.Incomplete and checked around the
// gaps.
func Check(incs []Incarnation, opt Options) (*Report, error) {
	c := &checker{incs: incs, opt: opt, kinds: map[string]*Violation{}}
	c.index()
	rep := c.stats()
	c.verify()
	rep.Divergence = c.first
	rep.Recorded = c.recorded()
	rep.Warnings = append(rep.Warnings, c.warns...)
	rep.Incomplete = c.incomplete()
	rep.Violations = c.found
	if len(c.found) > 0 {
		rep.Violation = c.found[0]
	}
	rep.Verdict = rep.verdict()
	if len(c.found) > 0 {
		return rep, c.found
	}
	return rep, nil
}

// fail records one failure of a kind: what is its plural summary ("%d
// positions carry …"), example its description. Failures are recorded in
// the order found, except where rank is not nil: then the examples kept are
// those of lowest rank (the earliest seqs).
func (c *checker) fail(prop, what string, rank *uint64, example string) {
	c.failN(prop, what, 1, rank, example)
}

// failN records n failures of a kind that one example describes (say, a
// restarted middleware delivering 1039 messages again).
func (c *checker) failN(prop, what string, n int, rank *uint64, example string) {
	key := prop + "\x00" + what
	v := c.kinds[key]
	if v == nil {
		v = &Violation{Property: prop, what: what}
		c.kinds[key] = v
		c.found = append(c.found, v)
	}
	v.Count += n
	if rank == nil {
		if len(v.Examples) < maxExamples {
			v.Examples = append(v.Examples, example)
		}
	} else {
		c.ranked(v, *rank, example)
	}
	v.Detail = v.Examples[0]
	if v.Count > 1 {
		v.Detail = fmt.Sprintf(v.what+"; first: %s", v.Count, v.Examples[0])
	}
}

func (c *checker) ranked(v *Violation, rank uint64, example string) {
	if c.ranks == nil {
		c.ranks = map[*Violation][]uint64{}
	}
	r := c.ranks[v]
	i := 0
	for i < len(r) && r[i] <= rank {
		i++
	}
	if i >= maxExamples {
		return
	}
	r = append(r[:i], append([]uint64{rank}, r[i:]...)...)
	v.Examples = append(v.Examples[:i], append([]string{example}, v.Examples[i:]...)...)
	if len(r) > maxExamples {
		r, v.Examples = r[:maxExamples], v.Examples[:maxExamples]
	}
	c.ranks[v] = r
}

// index interns message names and records who sent what and which
// incarnations each middleware had.
func (c *checker) index() {
	total := 0
	for i := range c.incs {
		total += len(c.incs[i].Entries)
	}
	c.ids = make(map[string]int32, total/4+16)
	c.msgs = make([]msgInfo, 0, total/4+16)
	c.info = make([]incInfo, len(c.incs))
	c.msgOf = make([][]int32, len(c.incs))
	ids := make([]int32, total) // one allocation for all of msgOf

	count := map[int]int{}
	for i := range c.incs {
		count[c.incs[i].MW]++
	}
	seen := map[int]int{}
	var resent int // sent events for a name already sent
	var resentExample string
	for i := range c.incs {
		inc := &c.incs[i]
		seen[inc.MW]++
		info := &c.info[i]
		info.nth, info.of = seen[inc.MW], count[inc.MW]
		info.survivor = info.nth == info.of && !c.opt.Crashed[inc.MW]
		if len(inc.Entries) > 0 {
			info.firstTS = inc.Entries[0].TS
		}
		c.msgOf[i], ids = ids[:len(inc.Entries):len(inc.Entries)], ids[len(inc.Entries):]
		for j, e := range inc.Entries {
			id := c.intern(e.Msg)
			c.msgOf[i][j] = id
			if e.Kind == Ready {
				info.ready++
				info.lastReady = j + 1
			}
			if e.Kind != Sent {
				continue
			}
			m := &c.msgs[id]
			if m.sentBy < 0 {
				m.sentBy, m.sentTS = int32(i), e.TS
				continue
			}
			// Checks key on names, so a reused name (say, a restarted
			// middleware counting from Msg #1 again) makes its messages
			// look like duplicates.
			if resent++; resent == 1 {
				resentExample = fmt.Sprintf("%q by %s and %s", e.Msg, c.label(int(m.sentBy)), c.label(i))
			}
		}
	}
	if resent > 0 {
		c.warns = append(c.warns, fmt.Sprintf("%d message name(s) sent more than once, e.g. %s: names must be unique in a run",
			resent, resentExample))
	}
	var crashed []int
	for mw, ok := range c.opt.Crashed {
		if ok && count[mw] == 0 {
			crashed = append(crashed, mw)
		}
	}
	slices.Sort(crashed)
	for _, mw := range crashed {
		c.warns = append(c.warns, fmt.Sprintf("crashed middleware %d has no log", mw))
	}
}

func (c *checker) intern(name string) int32 {
	if id, ok := c.ids[name]; ok {
		return id
	}
	id := int32(len(c.msgs))
	c.ids[name] = id
	c.msgs = append(c.msgs, msgInfo{id: id, name: name, sentBy: -1, seqBy: -1})
	return id
}

// label names an incarnation for humans: "Middleware 2", or with the
// incarnation when the middleware was restarted.
func (c *checker) label(i int) string {
	inc, info := &c.incs[i], &c.info[i]
	if info.of <= 1 {
		return fmt.Sprintf("Middleware %d", inc.MW)
	}
	s := fmt.Sprintf("Middleware %d (incarnation %d of %d", inc.MW, info.nth, info.of)
	if inc.Run != "" {
		s += ", run " + inc.Run
	}
	return s + ")"
}

// verify runs the property checks: per incarnation (duplicates,
// contiguity), then across the incarnations of each middleware (nothing
// delivered again, no position refilled), then across middlewares (total
// order), then integrity and agreement. Every check runs, whatever the ones before found.
func (c *checker) verify() {
	c.verifyLocal()
	c.verifyAcross()
	c.verifyTotalOrder()
	clean := len(c.found) == 0
	if !c.opt.AllowUnsent {
		c.verifyIntegrity()
	}
	if c.opt.Agreement {
		c.verifyAgreement(clean)
	}
}

// gapBefore reports whether incarnation i's log has a gap between its
// entries j0 (exclusive; -1 for the start) and j (exclusive).
func (c *checker) gapBefore(i, j0, j int) bool {
	for _, g := range c.incs[i].Gaps {
		if g.After > j0 && g.After <= j {
			return true
		}
	}
	return false
}

// Summaries of the kinds of failure.
const (
	whatTwice     = "%d deliveries of a message the same middleware had already delivered"
	whatAgain     = "%d deliveries of a message an earlier incarnation of the same middleware had delivered"
	whatRefilled  = "%d positions a restarted middleware delivered again with another message"
	whatNoSeq     = "%d deliveries without a seq number"
	whatStart     = "%d middlewares started delivering at a seq other than 1"
	whatJump      = "%d deliveries not numbered right after the one before"
	whatSlot      = "%d positions carry different messages at different middlewares"
	whatTwoSeqs   = "%d messages were delivered at different positions by different middlewares"
	whatUnsent    = "%d delivered messages no log shows sent"
	whatAgreement = "%d messages not delivered by every survivor that had to"
)

// verifyLocal checks each incarnation alone: no message delivered twice,
// every delivery numbered, numbers contiguous, and a middleware's first
// incarnation starting at 1 (later ones rejoin mid-run and may start
// anywhere). A gap in the log excuses a jump in the numbers across it.
func (c *checker) verifyLocal() {
	delivered := make([]int32, len(c.msgs)) // incarnation index+1 that delivered it last
	for i := range c.incs {
		info := &c.info[i]
		stamp := int32(i + 1)
		var prev uint64
		prevAt := -1 // entry index of the previous Ready
		for j, e := range c.incs[i].Entries {
			if e.Kind != Ready {
				continue
			}
			id := c.msgOf[i][j]
			if delivered[id] == stamp {
				c.fail(PropIntegrity, whatTwice, nil, fmt.Sprintf("%s delivered %q twice (again at seq %d)", c.label(i), e.Msg, e.Seq))
				if e.Seq > 0 {
					prev, prevAt = e.Seq, j // it took a position
					info.start, info.end = min(info.start, e.Seq), max(info.end, e.Seq)
				}
				continue
			}
			delivered[id] = stamp
			switch {
			case e.Seq == 0:
				c.fail(PropContiguousSeq, whatNoSeq, nil, fmt.Sprintf("%s delivered %q without a seq number", c.label(i), e.Msg))
				if info.delivered {
					prev, prevAt = prev+1, j // it presumably took the next position
				}
				continue
			case !info.delivered:
				if info.nth == 1 && e.Seq != 1 && !c.gapBefore(i, -1, j) {
					c.fail(PropContiguousSeq, whatStart, nil, fmt.Sprintf("%s started delivering at seq %d (%q), not at seq 1", c.label(i), e.Seq, e.Msg))
				}
				info.start = e.Seq
			case e.Seq != prev+1 && !(e.Seq > prev && c.gapBefore(i, prevAt, j)):
				c.fail(PropContiguousSeq, whatJump, nil, fmt.Sprintf("%s delivered %q at seq %d right after seq %d", c.label(i), e.Msg, e.Seq, prev))
			}
			info.delivered = true
			info.start = min(info.start, e.Seq)
			info.end = max(info.end, e.Seq)
			prev, prevAt = e.Seq, j
		}
	}
}

// seqSlot records which message (id+1; 0: none) was delivered at a seq,
// and by whom first.
type seqSlot struct{ msg, inc int32 }

// seqSlots maps seqs in [lo, hi] to slots. Seqs are dense in any sane
// log, so a slice indexed by seq is the fast path; a map guards against
// absurd numbers in a broken one.
type seqSlots struct {
	lo     uint64
	dense  []seqSlot
	sparse map[uint64]seqSlot
}

func newSeqSlots(lo, hi, count uint64) seqSlots {
	if hi-lo < 4*count+1024 {
		return seqSlots{lo: lo, dense: make([]seqSlot, hi-lo+1)}
	}
	return seqSlots{sparse: make(map[uint64]seqSlot)}
}

func (s *seqSlots) get(seq uint64) seqSlot {
	if s.dense != nil {
		return s.dense[seq-s.lo]
	}
	return s.sparse[seq]
}

func (s *seqSlots) set(seq uint64, slot seqSlot) {
	if s.dense != nil {
		s.dense[seq-s.lo] = slot
	} else {
		s.sparse[seq] = slot
	}
}

// verifyTotalOrder checks that each seq maps to one message everywhere and
// each message to one seq. With contiguous, increasing seqs per
// incarnation (verifyLocal) this implies that every pair of Ready lists
// orders their common messages alike. It reports the conflict at the
// lowest seq.
func (c *checker) verifyTotalOrder() {
	var lo, hi uint64 = ^uint64(0), 0
	var readyCount uint64
	for i := range c.info {
		if info := &c.info[i]; info.delivered {
			lo, hi = min(lo, info.start), max(hi, info.end)
			readyCount += info.end - info.start + 1
		}
	}
	if readyCount == 0 {
		return
	}
	slots := newSeqSlots(lo, hi, readyCount)
	badSeq := map[uint64]bool{}         // positions already counted
	badMsg := make([]bool, len(c.msgs)) // messages already counted
	for i := range c.incs {
		for j, e := range c.incs[i].Entries {
			if e.Kind != Ready || e.Seq == 0 {
				continue
			}
			id := c.msgOf[i][j]
			slot := slots.get(e.Seq)
			m := &c.msgs[id]
			// Two incarnations of one middleware are verifyAcross's.
			if slot.msg != 0 && slot.msg-1 != id && !badSeq[e.Seq] && !c.sameMW(int(slot.inc), i) {
				badSeq[e.Seq] = true
				seq := e.Seq
				c.fail(PropTotalOrder, whatSlot, &seq, c.disagree(int(slot.inc), i, e.Seq, c.msgs[slot.msg-1].name, e.Msg))
			}
			if m.seqBy >= 0 && m.seq != e.Seq && !badMsg[id] && !c.sameMW(int(m.seqBy), i) {
				badMsg[id] = true
				seq := min(m.seq, e.Seq)
				c.fail(PropTotalOrder, whatTwoSeqs, &seq, fmt.Sprintf("%s delivered %q at seq %d but %s delivered it at seq %d",
					c.label(int(m.seqBy)), e.Msg, m.seq, c.label(i), e.Seq))
			}
			if slot.msg == 0 {
				slots.set(e.Seq, seqSlot{msg: id + 1, inc: int32(i)})
			}
			if m.seqBy < 0 {
				m.seq, m.seqBy = e.Seq, int32(i)
			}
		}
	}
}

func (c *checker) sameMW(a, b int) bool { return c.incs[a].MW == c.incs[b].MW }

// disagree words a position that two incarnations a and b filled with
// different messages: `Middleware 2 and 4 disagree at #3: "Msg #1 from
// Middleware 5" vs "Msg #2 from Middleware 1"` (#3 as the windows say
// it), and keeps the lowest such position as the first divergence.
func (c *checker) disagree(a, b int, seq uint64, msgA, msgB string) string {
	if d := c.first; d == nil || seq < d.Seq {
		c.first = &Divergence{MW: c.incs[a].MW, Run: c.incs[a].Run, Peer: c.incs[b].MW, Seq: seq, Here: msgA, There: msgB}
	}
	who := fmt.Sprintf("Middleware %d and %d", c.incs[a].MW, c.incs[b].MW)
	if c.info[a].of > 1 || c.info[b].of > 1 {
		who = c.label(a) + " and " + c.label(b)
	}
	return fmt.Sprintf("%s disagree at #%d: %q vs %q", who, seq, msgA, msgB)
}

// verifyAcross checks the incarnations of each restarted middleware
// together, in the order they ran: a message an earlier incarnation
// delivered must not be delivered again (the application would see it
// twice: say, a member restarted with an empty state delivering positions
// 1–1039 again), and no position may be delivered again with another
// message. Repeats within one incarnation are verifyLocal's. Each pair of
// incarnations is reported once, with how many deliveries it repeats.
func (c *checker) verifyAcross() {
	var order []int // incarnations of restarted middlewares, by middleware
	for i := range c.incs {
		if c.info[i].of > 1 {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		return
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(c.incs[a].MW, c.incs[b].MW) })
	// Per message: the latest incarnation (index+1) of the current
	// middleware that delivered it, and at which seq; gen tells the
	// middlewares apart without clearing.
	gen := make([]int32, len(c.msgs))
	by := make([]int32, len(c.msgs))
	at := make([]uint64, len(c.msgs))
	var g int32
	for k := 0; k < len(order); {
		mw := c.incs[order[k]].MW
		end := k
		for end < len(order) && c.incs[order[end]].MW == mw {
			end++
		}
		g++
		var lo, hi, count uint64 = ^uint64(0), 0, 0
		for _, i := range order[k:end] {
			if info := &c.info[i]; info.delivered {
				lo, hi = min(lo, info.start), max(hi, info.end)
				count += info.end - info.start + 1
			}
		}
		if count == 0 {
			k = end
			continue
		}
		slots := newSeqSlots(lo, hi, count) // seq → message and incarnation, of this middleware
		for _, i := range order[k:end] {
			again := map[int]*repeat{}  // by earlier incarnation
			refill := map[int]*repeat{} // by earlier incarnation
			for j, e := range c.incs[i].Entries {
				if e.Kind != Ready {
					continue
				}
				id := c.msgOf[i][j]
				if gen[id] == g && int(by[id]) != i {
					again[int(by[id])] = again[int(by[id])].add(e.Seq, e.Msg, at[id], "")
				}
				if gen[id] != g || int(by[id]) != i {
					gen[id], by[id], at[id] = g, int32(i), e.Seq
				}
				if e.Seq == 0 {
					continue
				}
				if s := slots.get(e.Seq); s.msg != 0 && int(s.inc) != i && s.msg-1 != id {
					refill[int(s.inc)] = refill[int(s.inc)].add(e.Seq, e.Msg, e.Seq, c.msgs[s.msg-1].name)
				}
				slots.set(e.Seq, seqSlot{msg: id + 1, inc: int32(i)})
			}
			for _, before := range sortedKeys(again) {
				r := again[before]
				var ex string
				if r.n == 1 {
					ex = fmt.Sprintf("%s delivered %q again at seq %d: its %s had delivered it at seq %d",
						c.label(i), r.msg, r.seq, c.incName(before), r.was)
				} else {
					ex = fmt.Sprintf("%s delivered again %d messages its %s had delivered, %s; the first: %q at seq %d (seq %d before)",
						c.label(i), r.n, c.incName(before), r.span(), r.msg, r.seq, r.was)
				}
				c.failN(PropIntegrity, whatAgain, r.n, nil, ex)
			}
			for _, before := range sortedKeys(refill) {
				r := refill[before]
				var ex string
				if r.n == 1 {
					ex = fmt.Sprintf("%s delivered %q at seq %d, where its %s had delivered %q",
						c.label(i), r.msg, r.seq, c.incName(before), r.other)
				} else {
					ex = fmt.Sprintf("%s delivered other messages at %d positions its %s had filled, %s; the first: %q at seq %d, where %q was",
						c.label(i), r.n, c.incName(before), r.span(), r.msg, r.seq, r.other)
				}
				c.failN(PropTotalOrder, whatRefilled, r.n, nil, ex)
			}
		}
		k = end
	}
}

// repeat gathers what one incarnation repeated of an earlier one.
type repeat struct {
	n      int
	lo, hi uint64 // seqs of the repeats
	seq    uint64 // the first repeat: its seq, message,
	msg    string
	was    uint64 // its seq in the earlier incarnation,
	other  string // and the message that was at seq there
}

func (r *repeat) add(seq uint64, msg string, was uint64, other string) *repeat {
	if r == nil {
		return &repeat{n: 1, lo: seq, hi: seq, seq: seq, msg: msg, was: was, other: other}
	}
	r.n++
	r.lo, r.hi = min(r.lo, seq), max(r.hi, seq)
	return r
}

// span words the seqs of the repeats: "at seq 1–1039" when they are all
// of that range.
func (r *repeat) span() string {
	if r.hi-r.lo+1 == uint64(r.n) {
		return fmt.Sprintf("at seq %d–%d", r.lo, r.hi)
	}
	return fmt.Sprintf("between seq %d and %d", r.lo, r.hi)
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// incName names incarnation i within its middleware: "incarnation 1 (run
// a)".
func (c *checker) incName(i int) string {
	s := fmt.Sprintf("incarnation %d", c.info[i].nth)
	if r := c.incs[i].Run; r != "" {
		s += " (run " + r + ")"
	}
	return s
}

// orderKey sorts message ids by a numeric key, then by name; sorting these
// small values beats sorting ids through an indirection.
type orderKey struct {
	major uint64
	minor int64
	id    int32
}

func (c *checker) sortKeys(keys []orderKey) []int32 {
	slices.SortFunc(keys, func(a, b orderKey) int {
		if a.major != b.major {
			return cmp.Compare(a.major, b.major)
		}
		if a.minor != b.minor {
			return cmp.Compare(a.minor, b.minor)
		}
		return strings.Compare(c.msgs[a.id].name, c.msgs[b.id].name)
	})
	ids := make([]int32, len(keys))
	for i := range keys {
		ids[i] = keys[i].id
	}
	return ids
}

// byOrder lists message ids in delivery order (seq), then undelivered ones
// by send time, so that checks report the earliest problem. Only valid
// after verifyTotalOrder.
func (c *checker) byOrder() []int32 {
	if c.order == nil {
		keys := make([]orderKey, len(c.msgs))
		for id := range c.msgs {
			m := &c.msgs[id]
			keys[id] = orderKey{major: m.seq, minor: m.sentTS, id: int32(id)}
			if m.seqBy < 0 {
				keys[id].major = math.MaxUint64
			}
		}
		c.order = c.sortKeys(keys)
	}
	return c.order
}

// verifyIntegrity checks that everything delivered was sent by someone
// (duplicates are verifyLocal's). A message whose sender's log has a gap
// may have lost its sent event there: it is counted, not blamed.
func (c *checker) verifyIntegrity() {
	for _, id := range c.byOrder() {
		m := &c.msgs[id]
		if m.seqBy < 0 || m.sentBy >= 0 {
			continue
		}
		if c.senderLogHasGap(m.name) {
			c.unsentInGap++
			continue
		}
		c.fail(PropIntegrity, whatUnsent, nil, fmt.Sprintf("%s delivered %q at seq %d but no log shows it sent (use -allow-unsent if some logs are missing)",
			c.label(int(m.seqBy)), m.name, m.seq))
	}
}

// senderName reads the sender from "Msg #k from Middleware i", with or
// without a body (": Bid 130 on Lamp"): the first match is the header's.
var senderName = regexp.MustCompile(`from Middleware (\d+)(?::|$)`)

// senderLogHasGap reports whether a log that could hold the sent event of
// the message named name has a gap: its sender's, or any when the name
// does not say who sent it.
func (c *checker) senderLogHasGap(name string) bool {
	mw := -1
	if sm := senderName.FindStringSubmatch(name); sm != nil {
		mw, _ = strconv.Atoi(sm[1])
	}
	for i := range c.incs {
		if len(c.incs[i].Gaps) > 0 && (mw < 0 || c.incs[i].MW == mw) {
			return true
		}
	}
	return false
}

// recorded lists the divergences the middlewares recorded, by middleware
// and time, each checked against the logs: what the recorder and the peer
// logged at that seq (by message id: the live check knows no bodies). A
// recorded divergence the logs contradict (both hold the same message
// there) is also a warning: the live check and the logs disagree.
func (c *checker) recorded() []Divergence {
	var out []Divergence
	for i := range c.incs {
		for _, d := range c.incs[i].Diverged {
			d.MW, d.Run = c.incs[i].MW, c.incs[i].Run
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortStableFunc(out, func(a, b Divergence) int { return cmp.Or(cmp.Compare(a.MW, b.MW), cmp.Compare(a.TS, b.TS)) })
	// What each middleware logged at the seqs in question.
	type key struct {
		mw  int
		seq uint64
	}
	want := map[key][]string{}
	for _, d := range out {
		want[key{d.MW, d.Seq}], want[key{d.Peer, d.Seq}] = nil, nil
	}
	for i := range c.incs {
		for _, e := range c.incs[i].Entries {
			if e.Kind != Ready {
				continue
			}
			k := key{c.incs[i].MW, e.Seq}
			if got, ok := want[k]; ok && !slices.Contains(got, e.Msg) {
				want[k] = append(got, e.Msg)
			}
		}
	}
	held := func(mw int, seq uint64, id string) (string, bool) {
		got := want[key{mw, seq}]
		for _, m := range got {
			if msgID(m) == msgID(id) {
				return m, true
			}
		}
		if len(got) > 0 {
			return got[0], false
		}
		return "", false
	}
	for k := range out {
		d := &out[k]
		here, okHere := held(d.MW, d.Seq, d.Here)
		there, okThere := held(d.Peer, d.Seq, d.There)
		switch {
		case okHere && okThere:
			d.Logs = "confirmed"
		case here == "" || there == "":
			missing := d.MW
			if here != "" {
				missing = d.Peer
			}
			d.Logs = fmt.Sprintf("Middleware %d's log has no delivery at #%d", missing, d.Seq)
		case msgID(here) == msgID(there):
			d.Logs = fmt.Sprintf("both logs hold %q at #%d", here, d.Seq)
			c.warns = append(c.warns, fmt.Sprintf("Middleware %d recorded that it differs from Middleware %d at #%d, but both logs hold %q there",
				d.MW, d.Peer, d.Seq, here))
		default:
			d.Logs = fmt.Sprintf("the logs hold %q vs %q there", here, there)
		}
	}
	return out
}

// msgID is the id part of a message text: "Msg #4 from Middleware 3" of
// "Msg #4 from Middleware 3: Bid 130 on Lamp". Other texts are their own.
func msgID(text string) string {
	if !strings.HasPrefix(text, "Msg #") {
		return text
	}
	if loc := senderName.FindStringIndex(text); loc != nil && text[loc[1]-1] == ':' {
		return text[:loc[1]-1]
	}
	return text
}

// incomplete describes every log with gaps, for the report.
func (c *checker) incomplete() []string {
	var out []string
	for i := range c.incs {
		for _, g := range c.incs[i].Gaps {
			why := ""
			if g.Error != "" {
				why = " (" + g.Error + ")"
			}
			span := "from " + tsString(g.FromTS) + " to " + tsString(g.ToTS)
			if g.FromTS == g.ToTS {
				span = "at " + tsString(g.FromTS)
			}
			if g.End {
				out = append(out, fmt.Sprintf("%s's events log is incomplete: its last %d events, %s (UTC), were not written before it exited%s; the checks do not require what they may hold",
					c.label(i), g.Count, span, why))
				continue
			}
			out = append(out, fmt.Sprintf("%s's events log is incomplete: %d events %s (UTC) were not written%s; the checks skip that gap",
				c.label(i), g.Count, span, why))
		}
	}
	if c.undeliveredInGap > 0 {
		out = append(out, fmt.Sprintf("%d sent messages have no ready event in any log, which the incomplete logs may have lost", c.undeliveredInGap))
	}
	if c.unsentInGap > 0 {
		out = append(out, fmt.Sprintf("%d delivered messages have no sent event, which their senders' incomplete logs may have lost", c.unsentInGap))
	}
	return out
}

// tsString renders unix microseconds as a UTC time of day.
func tsString(us int64) string {
	return time.UnixMicro(us).UTC().Format("15:04:05.000000")
}

// survivors lists the incarnations that ran to the end, by middleware id.
func (c *checker) survivors() []int {
	var s []int
	for i := range c.info {
		if c.info[i].survivor {
			s = append(s, i)
		}
	}
	slices.SortStableFunc(s, func(a, b int) int { return cmp.Compare(c.incs[a].MW, c.incs[b].MW) })
	return s
}

// deliveredBy reports whether survivor s delivered m. After verifyLocal
// and verifyTotalOrder a seq range fully describes a Ready list.
func (c *checker) deliveredBy(s int, m *msgInfo) bool {
	info := &c.info[s]
	if c.delivered != nil {
		// A gap in s's log may hide the delivery: its seq range vouches.
		inRange := len(c.incs[s].Gaps) > 0 && info.delivered && m.seqBy >= 0 && info.start <= m.seq && m.seq <= info.end
		return c.delivered[s][m.id] || inRange
	}
	return info.delivered && m.seqBy >= 0 && info.start <= m.seq && m.seq <= info.end
}

// excused reports whether survivor s need not deliver m because s is a
// restarted middleware that joined after m's place in the order. A rejoined
// incarnation that delivered nothing has an unknown join point, so only
// its own messages are required of it.
func (c *checker) excused(s int, m *msgInfo) bool {
	info := &c.info[s]
	if m.seqBy < 0 && c.gapAfter(s, m) {
		return true // its delivery may be in the gap
	}
	if m.seqBy >= 0 && c.inEndGap(s, m.seq) {
		return true
	}
	if info.nth == 1 || int(m.sentBy) == s {
		return false
	}
	if m.seqBy >= 0 {
		return !info.delivered || m.seq < info.start
	}
	return m.sentTS < info.firstTS
}

// inEndGap reports whether the delivery at seq may be among the events
// incarnation s could not write after its last logged delivery: gaps
// after that (typically at the very end, Gap.End, when its disk stayed
// full until it exited) hold as many events as the deliveries up to seq
// would be.
func (c *checker) inEndGap(s int, seq uint64) bool {
	info := &c.info[s]
	lost := 0
	for _, g := range c.incs[s].Gaps {
		if g.After >= info.lastReady {
			lost += g.Count
		}
	}
	if lost == 0 {
		return false
	}
	last := uint64(0) // the last seq logged delivered (0: none, so from 1)
	if info.delivered {
		last = info.end
	}
	return seq > last && seq-last <= uint64(lost)
}

// gapAfter reports whether survivor s's log has a gap that may hold the
// delivery of m (a message no log shows delivered): one that ends after m
// was sent, or any when the send is not logged.
func (c *checker) gapAfter(s int, m *msgInfo) bool {
	for _, g := range c.incs[s].Gaps {
		if m.sentBy < 0 || g.ToTS >= m.sentTS {
			return true
		}
	}
	return false
}

// lastSeq says where a survivor stopped, for agreement violations: a
// survivor that stopped early is the usual way agreement fails.
func (c *checker) lastSeq(s int) string {
	if info := &c.info[s]; info.delivered {
		return fmt.Sprintf(" (last seq %d)", info.end)
	}
	return " (delivered nothing)"
}

// verifyAgreement checks that every survivor delivered every message sent
// by a survivor, and that a message sent by a crashed incarnation (or by
// nobody known, with AllowUnsent) reached all survivors or none. As a
// message one survivor delivered is required of all, survivors must also
// end at the same seq: a survivor that stops early is reported here.
//
// When an earlier check failed, seq ranges no longer describe Ready lists,
// so each survivor's actual deliveries are used instead.
func (c *checker) verifyAgreement(clean bool) {
	surv := c.survivors()
	if len(surv) == 0 {
		return
	}
	if !clean {
		c.delivered = map[int][]bool{}
		for _, s := range surv {
			d := make([]bool, len(c.msgs))
			for j, e := range c.incs[s].Entries {
				if e.Kind == Ready {
					d[c.msgOf[s][j]] = true
				}
			}
			c.delivered[s] = d
		}
	}
	for _, id := range c.byOrder() {
		m := &c.msgs[id]
		fromSurvivor := m.sentBy >= 0 && c.info[m.sentBy].survivor
		holder := -1 // a survivor that delivered m
		for _, s := range surv {
			if c.deliveredBy(s, m) {
				holder = s
				break
			}
		}
		if !fromSurvivor && holder < 0 {
			continue // a crashed sender's message that no survivor delivered
		}
		var missing []string
		for _, s := range surv {
			if !c.deliveredBy(s, m) && !c.excused(s, m) {
				missing = append(missing, c.label(s)+c.lastSeq(s))
			}
		}
		if len(missing) == 0 {
			if holder < 0 && m.seqBy < 0 {
				c.undeliveredInGap++
			}
			continue
		}
		who := strings.Join(missing, ", ")
		var ex string
		switch {
		case fromSurvivor && holder < 0:
			ex = fmt.Sprintf("%q sent by %s was never delivered by %s", m.name, c.label(int(m.sentBy)), who)
		case fromSurvivor:
			ex = fmt.Sprintf("%s never delivered %q (sent by %s, seq %d at %s)",
				who, m.name, c.label(int(m.sentBy)), m.seq, c.label(holder))
		case m.sentBy >= 0:
			ex = fmt.Sprintf("%q sent by crashed %s was delivered by %s (seq %d) but not by %s: it must reach all survivors or none",
				m.name, c.label(int(m.sentBy)), c.label(holder), m.seq, who)
		default:
			ex = fmt.Sprintf("%q (sender unknown) was delivered by %s (seq %d) but not by %s: it must reach all survivors or none",
				m.name, c.label(holder), m.seq, who)
		}
		c.fail(PropAgreement, whatAgreement, nil, ex)
	}
}
