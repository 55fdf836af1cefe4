// Package check verifies what the middlewares of one lab run logged: that
// they delivered messages in one total order, with contiguous sequence
// numbers, without duplicates or invented messages, and (at quiescence)
// that every survivor delivered the same messages. It also measures
// delivery latency against its lower bound, content arrival, and against
// a reference, delivery in send order.
//
// It imports nothing from this repository so that the protocol core's
// simulation tests can call Check on in-memory logs.
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
	key := prop + "\x00" + what
	v := c.kinds[key]
	if v == nil {
		v = &Violation{Property: prop, what: what}
		c.kinds[key] = v
		c.found = append(c.found, v)
	}
	v.Count++
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
// contiguity), then across incarnations (total order), then integrity and
// agreement. Every check runs, whatever the ones before found.
func (c *checker) verify() {
	c.verifyLocal()
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

// seqSlot records which message was delivered at a seq, and by whom first.
type seqSlot struct{ msg, inc int32 }

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
	// Seqs are dense in any sane log, so a slice indexed by seq is the fast
	// path; a map guards against absurd numbers in a broken one.
	var dense []seqSlot
	var sparse map[uint64]seqSlot
	if hi-lo < 4*readyCount+1024 {
		dense = make([]seqSlot, hi-lo+1)
	} else {
		sparse = make(map[uint64]seqSlot)
	}
	badSeq := map[uint64]bool{}         // positions already counted
	badMsg := make([]bool, len(c.msgs)) // messages already counted
	for i := range c.incs {
		for j, e := range c.incs[i].Entries {
			if e.Kind != Ready || e.Seq == 0 {
				continue
			}
			id := c.msgOf[i][j]
			var slot seqSlot
			if dense != nil {
				slot = dense[e.Seq-lo]
			} else {
				slot = sparse[e.Seq]
			}
			m := &c.msgs[id]
			if slot.msg != 0 && slot.msg-1 != id && !badSeq[e.Seq] {
				badSeq[e.Seq] = true
				seq := e.Seq
				c.fail(PropTotalOrder, whatSlot, &seq, fmt.Sprintf("%s delivered %q at seq %d but %s delivered %q at seq %d",
					c.label(int(slot.inc)), c.msgs[slot.msg-1].name, e.Seq, c.label(i), e.Msg, e.Seq))
			}
			if m.seqBy >= 0 && m.seq != e.Seq && !badMsg[id] {
				badMsg[id] = true
				seq := min(m.seq, e.Seq)
				c.fail(PropTotalOrder, whatTwoSeqs, &seq, fmt.Sprintf("%s delivered %q at seq %d but %s delivered it at seq %d",
					c.label(int(m.seqBy)), e.Msg, m.seq, c.label(i), e.Seq))
			}
			if slot.msg == 0 {
				slot = seqSlot{msg: id + 1, inc: int32(i)}
				if dense != nil {
					dense[e.Seq-lo] = slot
				} else {
					sparse[e.Seq] = slot
				}
			}
			if m.seqBy < 0 {
				m.seq, m.seqBy = e.Seq, int32(i)
			}
		}
	}
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

var senderName = regexp.MustCompile(`from Middleware (\d+)$`)

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
	if info.nth == 1 || int(m.sentBy) == s {
		return false
	}
	if m.seqBy >= 0 {
		return !info.delivered || m.seq < info.start
	}
	return m.sentTS < info.firstTS
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
