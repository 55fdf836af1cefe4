// Package check verifies what the middlewares of one lab run logged: that
// they delivered messages in one total order, with contiguous sequence
// numbers, without duplicates or invented messages, and (at quiescence)
// that every survivor delivered the same messages. It also measures
// delivery latency against two lower bounds.
//
// It imports nothing from this repository so that the protocol core's
// simulation tests can call Check on in-memory logs.
package check

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
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

// Violation is a broken property; Check returns the first one it finds.
type Violation struct {
	Property string `json:"property"`
	Detail   string `json:"detail"`
}

func (v *Violation) Error() string { return "VIOLATION " + v.Property + ": " + v.Detail }

// msgInfo is what Check knows about one distinct message.
type msgInfo struct {
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
}

// Check verifies the logs of one run. It returns the report and, when a
// property fails, a *Violation naming the first failure; the report is
// filled in either way (Report.Violation and Report.Verdict say which).
func Check(incs []Incarnation, opt Options) (*Report, error) {
	c := &checker{incs: incs, opt: opt}
	c.index()
	rep := c.stats()
	v := c.verify()
	rep.Warnings = append(rep.Warnings, c.warns...)
	rep.Violation = v
	rep.Verdict = rep.verdict()
	if v != nil {
		return rep, v
	}
	return rep, nil
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
	c.msgs = append(c.msgs, msgInfo{name: name, sentBy: -1, seqBy: -1})
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

func violation(prop, format string, args ...any) *Violation {
	return &Violation{Property: prop, Detail: fmt.Sprintf(format, args...)}
}

// verify runs the property checks in a fixed order: per-incarnation
// (duplicates, contiguity), then across incarnations (total order), then
// integrity and agreement. Each check relies on the ones before it.
func (c *checker) verify() *Violation {
	if v := c.verifyLocal(); v != nil {
		return v
	}
	if v := c.verifyTotalOrder(); v != nil {
		return v
	}
	if !c.opt.AllowUnsent {
		if v := c.verifyIntegrity(); v != nil {
			return v
		}
	}
	if c.opt.Agreement {
		if v := c.verifyAgreement(); v != nil {
			return v
		}
	}
	return nil
}

// verifyLocal checks each incarnation alone: no message delivered twice,
// every delivery numbered, numbers contiguous, and a middleware's first
// incarnation starting at 1 (later ones rejoin mid-run and may start
// anywhere).
func (c *checker) verifyLocal() *Violation {
	delivered := make([]int32, len(c.msgs)) // incarnation index+1 that delivered it last
	for i := range c.incs {
		info := &c.info[i]
		stamp := int32(i + 1)
		var prev uint64
		for j, e := range c.incs[i].Entries {
			if e.Kind != Ready {
				continue
			}
			id := c.msgOf[i][j]
			if delivered[id] == stamp {
				return violation(PropIntegrity, "%s delivered %q twice (again at seq %d)", c.label(i), e.Msg, e.Seq)
			}
			delivered[id] = stamp
			switch {
			case e.Seq == 0:
				return violation(PropContiguousSeq, "%s delivered %q without a seq number", c.label(i), e.Msg)
			case !info.delivered:
				if info.nth == 1 && e.Seq != 1 {
					return violation(PropContiguousSeq, "%s started delivering at seq %d (%q), not at seq 1", c.label(i), e.Seq, e.Msg)
				}
				info.start = e.Seq
			case e.Seq != prev+1:
				return violation(PropContiguousSeq, "%s delivered %q at seq %d right after seq %d", c.label(i), e.Msg, e.Seq, prev)
			}
			info.delivered = true
			info.end = e.Seq
			prev = e.Seq
		}
	}
	return nil
}

// seqSlot records which message was delivered at a seq, and by whom first.
type seqSlot struct{ msg, inc int32 }

// verifyTotalOrder checks that each seq maps to one message everywhere and
// each message to one seq. With contiguous, increasing seqs per
// incarnation (verifyLocal) this implies that every pair of Ready lists
// orders their common messages alike. It reports the conflict at the
// lowest seq.
func (c *checker) verifyTotalOrder() *Violation {
	var lo, hi uint64 = ^uint64(0), 0
	var readyCount uint64
	for i := range c.info {
		if info := &c.info[i]; info.delivered {
			lo, hi = min(lo, info.start), max(hi, info.end)
			readyCount += info.end - info.start + 1
		}
	}
	if readyCount == 0 {
		return nil
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
	var best *Violation
	bestSeq := ^uint64(0)
	found := func(seq uint64, v *Violation) {
		if seq < bestSeq {
			best, bestSeq = v, seq
		}
	}
	for i := range c.incs {
		for j, e := range c.incs[i].Entries {
			if e.Kind != Ready {
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
			switch {
			case slot.msg != 0 && slot.msg-1 != id:
				found(e.Seq, violation(PropTotalOrder, "%s delivered %q at seq %d but %s delivered %q at seq %d",
					c.label(int(slot.inc)), c.msgs[slot.msg-1].name, e.Seq, c.label(i), e.Msg, e.Seq))
			case m.seqBy >= 0 && m.seq != e.Seq:
				found(min(m.seq, e.Seq), violation(PropTotalOrder, "%s delivered %q at seq %d but %s delivered it at seq %d",
					c.label(int(m.seqBy)), e.Msg, m.seq, c.label(i), e.Seq))
			case slot.msg == 0:
				slot = seqSlot{msg: id + 1, inc: int32(i)}
				if dense != nil {
					dense[e.Seq-lo] = slot
				} else {
					sparse[e.Seq] = slot
				}
				m.seq, m.seqBy = e.Seq, int32(i)
			}
		}
	}
	return best
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
// (duplicates were ruled out by verifyLocal).
func (c *checker) verifyIntegrity() *Violation {
	for _, id := range c.byOrder() {
		m := &c.msgs[id]
		if m.seqBy >= 0 && m.sentBy < 0 {
			return violation(PropIntegrity, "%s delivered %q at seq %d but no log shows it sent (use -allow-unsent if some logs are missing)",
				c.label(int(m.seqBy)), m.name, m.seq)
		}
	}
	return nil
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
	return info.delivered && m.seqBy >= 0 && info.start <= m.seq && m.seq <= info.end
}

// excused reports whether survivor s need not deliver m because s is a
// restarted middleware that joined after m's place in the order. A rejoined
// incarnation that delivered nothing has an unknown join point, so only
// its own messages are required of it.
func (c *checker) excused(s int, m *msgInfo) bool {
	info := &c.info[s]
	if info.nth == 1 || int(m.sentBy) == s {
		return false
	}
	if m.seqBy >= 0 {
		return !info.delivered || m.seq < info.start
	}
	return m.sentTS < info.firstTS
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
func (c *checker) verifyAgreement() *Violation {
	surv := c.survivors()
	if len(surv) == 0 {
		return nil
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
			continue
		}
		who := strings.Join(missing, ", ")
		switch {
		case fromSurvivor && holder < 0:
			return violation(PropAgreement, "%q sent by %s was never delivered by %s", m.name, c.label(int(m.sentBy)), who)
		case fromSurvivor:
			return violation(PropAgreement, "%s never delivered %q (sent by %s, seq %d at %s)",
				who, m.name, c.label(int(m.sentBy)), m.seq, c.label(holder))
		case m.sentBy >= 0:
			return violation(PropAgreement, "%q sent by crashed %s was delivered by %s (seq %d) but not by %s: it must reach all survivors or none",
				m.name, c.label(int(m.sentBy)), c.label(holder), m.seq, who)
		default:
			return violation(PropAgreement, "%q (sender unknown) was delivered by %s (seq %d) but not by %s: it must reach all survivors or none",
				m.name, c.label(holder), m.seq, who)
		}
	}
	return nil
}
