package core

import (
	"sort"
	"time"
)

// The fixed-sequencer protocol.
//
// Normal case: a sender hands content to the network program and at the
// same moment sends its id to the sequencer (R). The sequencer numbers ids
// in the order it first hears of them and sends (epoch, seq, id) to every
// member (O). A member delivers seq k once it has k's order and content and
// has delivered k-1. A member holding content without an order asks the
// sequencer itself after AskAfter (so a sender that dies right after
// sending cannot strand its message); an ordered message whose content has
// not come after a wait fitted to the observed network delays is fetched
// from a peer (F/C).
//
// Take-over: when the sequencer falls silent, the highest joined member
// alive starts epoch e+1 (T). Every member that accepts stops listening to
// older epochs and reports what it knows (S): the orders above the
// candidate's delivery point, ids it holds without an order, and its own
// delivery point. The candidate keeps the longest contiguous prefix of
// orders (every order any survivor delivered is in it), voids the rest,
// tells each member where the prefix ends and from where it delivers (N),
// resends what members lack and numbers the remaining ids after the prefix.
// A restarted middleware joins (J/W): it delivers from the sequencer's next
// position onward, learns which ids were ordered before it (so it never
// asks for them again) and continues its message numbering.
//
// Void positions: if the network lost every copy of an ordered message and
// every middleware that had it crashed, no survivor can deliver it (and
// none did). The sequencer, having asked every member alive in vain, voids
// the position (an order for id 0:0); members skip it, so Ready seq numbers
// count deliveries (position minus voids before it) and stay contiguous.
//
// Failure detection assumes crash-stop: a middleware that is declared dead
// but was only paused must restart to rejoin cleanly.

// voidID in an order marks a void position.
var voidID = MsgID{}

type role uint8

const (
	roleFollower role = iota
	roleCandidate
	roleLeader
)

type askState struct {
	since, lastAsked time.Time
}

type sequencer struct {
	c        *Core
	role     role
	epoch    uint64
	maxEpoch uint64 // highest epoch heard of
	leader   int    // 0: none known
	joined   bool

	order       map[uint64]MsgID // position -> id, current epoch's view
	idSeq       map[MsgID]uint64
	orderAt     map[uint64]time.Time // when an undelivered order arrived
	highest     uint64               // highest position with a known order
	nextDeliver uint64
	before      map[int][]Range // ids ordered before this middleware joined
	unordered   map[MsgID]*askState
	askQueue    []MsgID // unordered ids, roughly by when they are next due
	lastFetch   map[uint64]time.Time
	fetchTries  map[uint64]int
	lagMax      time.Duration // longest wait for content after its order
	nextDecay   time.Time
	nextAskScan time.Time
	gapSeq      uint64
	gapSince    time.Time
	lastGapAsk  time.Time
	lastJoinAsk time.Time
	neverReady  int                     // content of ids ordered before the join
	voids       uint64                  // void positions below nextDeliver
	negatives   map[uint64]map[int]bool // leader: who lacks the content of a position
	// held are positions whose content this middleware told the
	// sequencer it lacks: if the content comes after all, it waits for the
	// sequencer's word (a repeated order, or a void) before delivering.
	held       map[uint64]bool
	epochReady bool      // the current epoch's N (or W) has arrived
	acceptedAt time.Time // when this middleware accepted the current epoch's T
	prefixEnd  uint64    // leader: where its epoch's inherited prefix ended

	// leader
	nextSeq   uint64
	members   map[int]uint64 // member -> first position it delivers
	memberIDs []int          // sorted, self excluded

	// candidate
	retryTakeoverAt time.Time // not before: a take-over was refused
	takeEpoch       uint64
	takeStart       time.Time
	waiting         map[int]bool
	replies         map[int]Msg
}

func newSequencer(c *Core) *sequencer {
	return &sequencer{
		c:           c,
		order:       make(map[uint64]MsgID),
		idSeq:       make(map[MsgID]uint64),
		orderAt:     make(map[uint64]time.Time),
		nextDeliver: 1,
		before:      make(map[int][]Range),
		unordered:   make(map[MsgID]*askState),
		lastFetch:   make(map[uint64]time.Time),
		fetchTries:  make(map[uint64]int),
		negatives:   make(map[uint64]map[int]bool),
		held:        make(map[uint64]bool),
		members:     make(map[int]uint64),
	}
}

func (s *sequencer) delivered() uint64 {
	if !s.joined {
		return 0
	}
	return s.nextDeliver - 1
}

func (s *sequencer) pending() int {
	return s.c.counts.received - s.c.counts.ready - s.neverReady
}

func (s *sequencer) sent(id MsgID) {
	s.hold(id, true)
	s.ask(id)
}

// hold records an id this middleware has without an order; asked says
// whether the sequencer was just asked.
func (s *sequencer) hold(id MsgID, asked bool) {
	a := &askState{since: s.c.now}
	if asked {
		a.lastAsked = s.c.now
	}
	s.unordered[id] = a
	s.askQueue = append(s.askQueue, id)
}

// maxGapReply bounds the orders resent for one gap request; the member
// asks again for the rest.
const maxGapReply = 1024

// maxAsksPerScan bounds re-asking, so that an overloaded sequencer is not
// buried under repeated requests.
const maxAsksPerScan = 512

func (s *sequencer) ask(id MsgID) {
	switch {
	case s.role == roleLeader:
		s.assign(id, s.c.cfg.ID)
	case s.role == roleFollower && s.leader != 0 && s.c.peers[s.leader].alive:
		s.c.send(s.leader, Msg{Kind: KindRequest, ID: id})
	}
}

func (s *sequencer) contentArrived(id MsgID, fetched bool) {
	if s.orderedBefore(id) {
		s.neverReady++
		return
	}
	if seq, ok := s.idSeq[id]; ok {
		if s.held[seq] && s.role == roleFollower && s.leader != 0 {
			// Let the sequencer know before it voids the position.
			s.c.send(s.leader, Msg{Kind: KindContent, ID: id, Text: id.Text()})
		}
		if at, ok := s.orderAt[seq]; ok && !fetched {
			// Only network arrivals teach how long content takes;
			// counting fetches would make the wait feed on itself.
			if lag := s.c.now.Sub(at); lag > s.lagMax {
				s.lagMax = lag
			}
		}
		s.tryDeliver()
		return
	}
	if s.role == roleLeader {
		s.assign(id, s.c.cfg.ID)
		return
	}
	if _, ok := s.unordered[id]; !ok {
		s.hold(id, false)
	}
}

// orderedBefore reports ids ordered before this middleware joined.
func (s *sequencer) orderedBefore(id MsgID) bool {
	rs := s.before[id.Sender]
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Hi >= id.Num })
	return i < len(rs) && rs[i].Lo <= id.Num
}

func (s *sequencer) learnOrder(seq uint64, id MsgID) {
	delete(s.unordered, id) // even if its position has passed: never ask again
	if seq < s.nextDeliver {
		return
	}
	if _, ok := s.order[seq]; ok {
		return
	}
	if _, ok := s.idSeq[id]; ok {
		return
	}
	s.order[seq] = id
	s.idSeq[id] = seq
	s.orderAt[seq] = s.c.now
	if seq > s.highest {
		s.highest = seq
	}
	s.c.noteMax(id)
	s.tryDeliver()
}

func (s *sequencer) applyVoid(q uint64) {
	if q < s.nextDeliver {
		return
	}
	s.order[q] = voidID // the voided id keeps its idSeq entry: never ordered again
	delete(s.orderAt, q)
	if q > s.highest {
		s.highest = q
	}
	s.tryDeliver()
}

// resetRecovery forgets per-position fetch state: positions are
// renumbered when an epoch changes or this middleware joins.
func (s *sequencer) resetRecovery() {
	s.lastFetch = make(map[uint64]time.Time)
	s.fetchTries = make(map[uint64]int)
	s.negatives = make(map[uint64]map[int]bool)
	s.held = make(map[uint64]bool)
}

// promiseAbsent: this middleware tells the sequencer (from) that it lacks
// id's content. The sequencer may void the position on that word, so a
// copy arriving later must not be delivered without its say-so.
func (s *sequencer) promiseAbsent(from int, id MsgID) {
	if q, ok := s.idSeq[id]; ok && from == s.leader && s.role == roleFollower && q >= s.nextDeliver {
		s.held[q] = true
	}
}

// contentFrom: a peer sent content. If it was a member that had promised
// to lack it, it is waiting for the sequencer to confirm the position.
func (s *sequencer) contentFrom(from int, id MsgID) {
	if s.role != roleLeader {
		return
	}
	if q, ok := s.idSeq[id]; ok {
		if _, member := s.members[from]; member && q >= s.members[from] {
			s.c.send(from, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: q, ID: s.order[q]})
		}
	}
}

// noContent is a member answering a fetch with "I do not have it".
func (s *sequencer) noContent(from int, id MsgID) {
	q, ok := s.idSeq[id]
	if s.role != roleLeader || !ok || q < s.nextDeliver || s.c.content[id] || s.c.own[id] {
		return
	}
	neg := s.negatives[q]
	if neg == nil {
		neg = make(map[int]bool)
		s.negatives[q] = neg
	}
	neg[from] = true
	s.maybeVoid(q)
}

// maybeVoid voids position q once every member alive said it lacks the
// content (vacuously true for a sequencer left alone).
func (s *sequencer) maybeVoid(q uint64) {
	neg := s.negatives[q]
	for _, p := range s.c.peerIDs() {
		if s.c.peers[p].alive && !neg[p] {
			return
		}
	}
	for _, p := range s.memberIDs {
		s.c.send(p, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: q, ID: voidID})
	}
	s.applyVoid(q)
}

func (s *sequencer) tryDeliver() {
	if !s.joined {
		return
	}
	for {
		id, ok := s.order[s.nextDeliver]
		if !ok {
			return
		}
		if id == voidID {
			s.voids++
		} else if !s.c.content[id] || s.held[s.nextDeliver] {
			return
		} else {
			s.c.deliver(id, s.nextDeliver-s.voids)
		}
		delete(s.negatives, s.nextDeliver)
		delete(s.held, s.nextDeliver)
		delete(s.orderAt, s.nextDeliver)
		delete(s.lastFetch, s.nextDeliver)
		delete(s.fetchTries, s.nextDeliver)
		s.nextDeliver++
	}
}

// assign is the sequencer numbering an id it heard of.
func (s *sequencer) assign(id MsgID, from int) {
	if seq, ok := s.idSeq[id]; ok {
		if start, member := s.members[from]; member && seq >= start {
			s.c.send(from, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: seq, ID: id})
		}
		return
	}
	if s.orderedBefore(id) {
		return
	}
	seq := s.nextSeq
	s.nextSeq++
	for _, p := range s.memberIDs {
		s.c.send(p, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: seq, ID: id})
	}
	s.learnOrder(seq, id)
}

func (s *sequencer) fillHeartbeat(m *Msg) {
	m.Epoch, m.Joined, m.Delivered = s.epoch, s.joined, s.delivered()
	if s.role != roleCandidate {
		m.Leader = s.leader
	}
	if s.role == roleLeader {
		m.Seq = s.nextSeq - 1
	}
}

func (s *sequencer) control(m Msg) {
	if m.Epoch > s.maxEpoch && m.Kind != KindRequest && m.Kind != KindPropose && m.Kind != KindFinal {
		s.maxEpoch = m.Epoch
	}
	switch m.Kind {
	case KindHeartbeat:
		s.heartbeat(m)
	case KindRequest:
		s.c.noteMax(m.ID)
		if s.role == roleLeader {
			s.assign(m.ID, m.From)
		}
	case KindOrder:
		if s.role == roleFollower && s.joined && s.epochReady && m.Epoch == s.epoch && m.From == s.leader {
			if s.held[m.Seq] && (m.ID == voidID || s.order[m.Seq] == m.ID) {
				delete(s.held, m.Seq) // the sequencer's word on a position we said we lacked
			}
			if m.ID == voidID {
				s.applyVoid(m.Seq)
			} else {
				s.learnOrder(m.Seq, m.ID)
				s.tryDeliver()
			}
		}
	case KindGap:
		if s.role == roleLeader && m.Epoch == s.epoch {
			start, member := s.members[m.From]
			if m.Hi == 0 && member {
				// The member lost this epoch's N: send it again.
				s.c.send(m.From, Msg{Kind: KindNewEpoch, Epoch: s.epoch, Seq: s.prefixEnd, Start: start})
				m.Seq, m.Hi = start, s.nextSeq-1
			}
			if m.Hi >= m.Seq+maxGapReply {
				m.Hi = m.Seq + maxGapReply - 1
			}
			for q := m.Seq; q <= m.Hi && q < s.nextSeq; q++ {
				if id, ok := s.order[q]; ok {
					s.c.send(m.From, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: q, ID: id})
				}
			}
		}
	case KindTakeover:
		s.takeoverAsked(m)
	case KindState:
		if s.role == roleCandidate && m.Epoch == s.takeEpoch && s.waiting[m.From] {
			delete(s.waiting, m.From)
			s.replies[m.From] = m
			s.maybeCompleteTakeover()
		}
	case KindReject:
		if s.role == roleCandidate && s.waiting[m.From] {
			// Someone follows a later candidate, or still hears the
			// sequencer: give up, and do not try again for a while.
			s.role, s.leader = roleFollower, 0
			s.retryTakeoverAt = s.c.now.Add(s.c.cfg.SuspectAfter)
		}
	case KindNewEpoch:
		if s.role == roleFollower && m.Epoch == s.epoch && m.From == s.leader && s.joined && !s.epochReady {
			s.newEpoch(m)
		}
	case KindJoin:
		if s.role != roleLeader {
			break
		}
		if start, member := s.members[m.From]; member && start <= s.nextDeliver && m.Run == s.c.peers[m.From].run {
			s.welcomeAt(m.From, m.Run, start) // our welcome was lost: the same again
		} else {
			s.welcome(m.From, m.Run)
		}
	case KindWelcome:
		// A welcome queued for an earlier incarnation of ours is not ours.
		if !s.joined && m.Epoch >= s.epoch && (m.Run == "" || m.Run == s.c.cfg.Run) {
			s.welcomed(m)
		}
	}
}

func later(e1 uint64, l1 int, e2 uint64, l2 int) bool {
	return e1 > e2 || (e1 == e2 && l1 > l2)
}

func (s *sequencer) heartbeat(m Msg) {
	if _, member := s.members[m.From]; s.role == roleLeader && !member &&
		m.Joined && m.Epoch == s.epoch && m.Leader == s.c.cfg.ID {
		// A member this sequencer gave up on (silent a while, or its link
		// broke) is still following: take it back where it stands.
		s.addMember(m.From, m.Delivered+1)
		hi := s.nextSeq - 1
		if hi >= m.Delivered+maxGapReply {
			hi = m.Delivered + maxGapReply // it asks for the rest by gap
		}
		for q := m.Delivered + 1; q <= hi; q++ {
			if id, ok := s.order[q]; ok {
				s.c.send(m.From, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: q, ID: id})
			}
		}
	}
	if s.joined && m.Joined && m.Epoch > s.epoch && m.Leader == m.From && s.role != roleCandidate {
		// The group moved on without this middleware (it was declared
		// dead): it can only rejoin at the current position.
		s.joined, s.role, s.leader = false, roleFollower, 0
		s.members = make(map[int]uint64)
		s.memberIDs = nil
	}
	if !s.joined && m.Joined && m.Leader == m.From && m.Epoch > 0 && s.role == roleFollower &&
		s.c.now.Sub(s.lastJoinAsk) >= 3*s.c.cfg.HeartbeatEvery {
		s.lastJoinAsk = s.c.now
		s.c.send(m.From, Msg{Kind: KindJoin, Run: s.c.cfg.Run})
	}
}

func (s *sequencer) takeoverAsked(m Msg) {
	cur, curLeader := s.epoch, s.leader
	if s.role == roleCandidate {
		cur, curLeader = s.takeEpoch, s.c.cfg.ID
	}
	if !later(m.Epoch, m.From, cur, curLeader) {
		s.c.send(m.From, Msg{Kind: KindReject, Epoch: cur, Leader: curLeader})
		return
	}
	if l := s.leader; s.role == roleFollower && s.joined && l != 0 && l != m.From &&
		s.c.peers[l].alive && s.c.now.Sub(s.c.peers[l].lastHeard) < s.c.cfg.SuspectAfter/2 {
		// Our sequencer is plainly alive (the candidate is overloaded or
		// cut off from it): a second sequencer would split the group.
		s.c.send(m.From, Msg{Kind: KindReject, Epoch: cur, Leader: curLeader})
		return
	}
	s.role, s.epoch, s.leader = roleFollower, m.Epoch, m.From
	s.epochReady, s.acceptedAt = false, s.c.now
	s.members, s.memberIDs = make(map[int]uint64), nil
	st := Msg{Kind: KindState, Epoch: m.Epoch, Delivered: s.delivered(), Joined: s.joined}
	if s.joined {
		from := m.Delivered
		if d := s.delivered(); d < from {
			from = d
		}
		for q := from + 1; q <= s.highest; q++ {
			if id, ok := s.order[q]; ok {
				st.Assigns = append(st.Assigns, Assign{Seq: q, ID: id})
			}
		}
	}
	st.IDs = sortedKeys(s.unordered)
	for p := 1; p <= s.c.cfg.N; p++ {
		if n := s.c.maxNum[p]; n > 0 {
			st.MaxNums = append(st.MaxNums, MsgID{Sender: p, Num: n})
		}
	}
	s.c.send(m.From, st)
}

func (s *sequencer) newEpoch(m Msg) {
	s.epochReady = true
	s.resetRecovery()
	for q := m.Seq + 1; q <= s.highest; q++ {
		if id, ok := s.order[q]; ok {
			delete(s.order, q)
			delete(s.idSeq, id)
			delete(s.orderAt, q)
			if s.c.content[id] || s.c.own[id] {
				s.hold(id, true)
			}
		}
	}
	if s.highest > m.Seq {
		s.highest = m.Seq
	}
	if m.Start > s.nextDeliver {
		// Positions nobody alive knows: this middleware lagged behind a
		// sequencer that died. Skip them rather than wait forever.
		s.nextDeliver = m.Start
		if s.highest < m.Start-1 {
			s.highest = m.Start - 1
		}
	}
	s.tryDeliver()
}

func (s *sequencer) welcomed(m Msg) {
	s.epoch, s.leader, s.role, s.joined = m.Epoch, m.From, roleFollower, true
	s.epochReady = true
	s.resetRecovery()
	s.nextDeliver, s.highest, s.voids = m.Seq, m.Seq-1, m.Hi
	s.order = make(map[uint64]MsgID)
	s.idSeq = make(map[MsgID]uint64)
	s.orderAt = make(map[uint64]time.Time)
	s.before = make(map[int][]Range)
	for _, r := range m.Ranges {
		s.before[r.Sender] = append(s.before[r.Sender], r)
	}
	if m.Num > s.c.nextNum {
		s.c.nextNum = m.Num
	}
	for id := range s.unordered {
		if s.orderedBefore(id) {
			delete(s.unordered, id)
			if s.c.content[id] {
				s.neverReady++
			}
		}
	}
	s.c.flushHeldSends()
}

// welcome admits a (re)started middleware. It delivers from where this
// sequencer delivers, not from the next new position: every position before
// that is settled here, so none of them can be voided behind its back and
// its Ready numbering (which counts voids) agrees with everyone's.
func (s *sequencer) welcome(p int, run string) {
	s.welcomeAt(p, run, s.nextDeliver)
}

// welcomeAt admits p from position start (at most nextDeliver).
func (s *sequencer) welcomeAt(p int, run string, start uint64) {
	voids := s.voids
	for q := start; q < s.nextDeliver; q++ {
		if s.order[q] == voidID {
			voids--
		}
	}
	s.addMember(p, start)
	s.c.send(p, Msg{Kind: KindWelcome, Epoch: s.epoch, Seq: start, Hi: voids, Num: s.c.maxNum[p], Run: run, Ranges: s.orderedRanges(start)})
	for q := start; q < s.nextSeq; q++ {
		if id, ok := s.order[q]; ok {
			s.c.send(p, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: q, ID: id})
		}
	}
}

func (s *sequencer) addMember(p int, start uint64) {
	if _, ok := s.members[p]; !ok {
		s.memberIDs = append(s.memberIDs, p)
		sort.Ints(s.memberIDs)
	}
	s.members[p] = start
}

func (s *sequencer) removeMember(p int) {
	if _, ok := s.members[p]; !ok {
		return
	}
	delete(s.members, p)
	for i, q := range s.memberIDs {
		if q == p {
			s.memberIDs = append(s.memberIDs[:i], s.memberIDs[i+1:]...)
			break
		}
	}
}

// orderedRanges compresses every id known to be ordered before position
// below into ranges.
func (s *sequencer) orderedRanges(below uint64) []Range {
	nums := make(map[int][]uint64)
	for id, q := range s.idSeq {
		if id == voidID || q >= below {
			continue
		}
		nums[id.Sender] = append(nums[id.Sender], id.Num)
	}
	var out []Range
	for p := 1; p <= s.c.cfg.N; p++ {
		ns := nums[p]
		for _, r := range s.before[p] {
			for n := r.Lo; n <= r.Hi; n++ {
				ns = append(ns, n)
			}
		}
		if len(ns) == 0 {
			continue
		}
		sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
		r := Range{Sender: p, Lo: ns[0], Hi: ns[0]}
		for _, n := range ns[1:] {
			if n <= r.Hi+1 {
				if n > r.Hi {
					r.Hi = n
				}
				continue
			}
			out = append(out, r)
			r = Range{Sender: p, Lo: n, Hi: n}
		}
		out = append(out, r)
	}
	return out
}

func (s *sequencer) peerDown(p int) {
	switch s.role {
	case roleCandidate:
		if s.waiting[p] {
			delete(s.waiting, p)
			s.maybeCompleteTakeover()
		}
	case roleLeader:
		s.removeMember(p)
	case roleFollower:
		if s.leader == p {
			s.leader = 0
		}
	}
}

// eligible reports whether this middleware should take over: no sequencer,
// and it is the highest joined middleware alive (or, while nobody has
// joined yet, the highest alive, once it has heard from everyone alive).
func (s *sequencer) eligible() bool {
	me := s.c.cfg.ID
	for id, p := range s.c.peers {
		if !p.alive {
			continue
		}
		if !p.heard {
			if id > me || !s.joined {
				return false // not heard from yet: it may rank above
			}
			continue
		}
		if p.joined && p.leader == id && p.epoch >= s.maxEpoch {
			return false // a live sequencer exists
		}
		if s.joined {
			if p.joined && id > me {
				return false
			}
		} else if p.joined || id > me {
			return false
		}
	}
	return true
}

func (s *sequencer) startTakeover() {
	s.role = roleCandidate
	s.takeEpoch = s.maxEpoch + 1
	if s.epoch >= s.takeEpoch {
		s.takeEpoch = s.epoch + 1
	}
	s.maxEpoch = s.takeEpoch
	s.takeStart = s.c.now
	s.waiting = make(map[int]bool)
	s.replies = make(map[int]Msg)
	for _, p := range s.c.peerIDs() {
		if s.c.peers[p].alive {
			s.waiting[p] = true
			s.c.send(p, Msg{Kind: KindTakeover, Epoch: s.takeEpoch, Delivered: s.delivered()})
		}
	}
	s.maybeCompleteTakeover()
}

func (s *sequencer) maybeCompleteTakeover() {
	if s.role != roleCandidate || len(s.waiting) > 0 {
		return
	}
	me := s.c.cfg.ID
	union := make(map[uint64]MsgID, len(s.order))
	for q, id := range s.order {
		union[q] = id
	}
	parts := make([]int, 0, len(s.replies))
	for p := range s.replies {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	s.resetRecovery()
	var maxD uint64
	if s.joined {
		maxD = s.delivered()
	}
	for _, p := range parts {
		r := s.replies[p]
		for _, a := range r.Assigns {
			if _, ok := union[a.Seq]; !ok {
				union[a.Seq] = a.ID
			}
		}
		for _, x := range r.MaxNums {
			s.c.noteMax(x)
		}
		if r.Joined && r.Delivered > maxD {
			maxD = r.Delivered
		}
	}
	// An id known at two positions (orders of two failed epochs mixed):
	// keep the lower one; the other position becomes a gap.
	positions := make([]uint64, 0, len(union))
	for q := range union {
		positions = append(positions, q)
	}
	sort.Slice(positions, func(i, j int) bool { return positions[i] < positions[j] })
	seen := make(map[MsgID]bool, len(union))
	for _, q := range positions {
		if id := union[q]; id != voidID {
			if seen[id] {
				delete(union, q)
			}
			seen[id] = true
		}
	}
	prefixEnd := maxD
	for {
		if _, ok := union[prefixEnd+1]; !ok {
			break
		}
		prefixEnd++
	}
	// startFor is where a member with delivery point d resumes: right
	// after d, or after the last position in (d, prefixEnd] nobody knows.
	startFor := func(d uint64) uint64 {
		start := d + 1
		for q := d + 1; q <= prefixEnd; q++ {
			if _, ok := union[q]; !ok {
				start = q + 1
			}
		}
		return start
	}
	// Orders past the prefix are void: their ids are numbered again.
	var tail []uint64
	for q := range union {
		if q > prefixEnd {
			tail = append(tail, q)
		}
	}
	sort.Slice(tail, func(i, j int) bool { return tail[i] < tail[j] })
	var cands []MsgID
	for _, q := range tail {
		if union[q] != voidID {
			cands = append(cands, union[q])
		}
		delete(union, q)
	}
	for _, p := range parts {
		cands = append(cands, s.replies[p].IDs...)
	}
	cands = append(cands, sortedKeys(s.unordered)...)

	s.order = union
	// Voided ids keep their old entries so they are never ordered again.
	for id, q := range s.idSeq {
		if q > prefixEnd {
			delete(s.idSeq, id)
		}
	}
	for q, id := range union {
		if id != voidID {
			s.idSeq[id] = q
		}
	}
	for q := range s.orderAt {
		if q > prefixEnd {
			delete(s.orderAt, q)
		}
	}
	s.highest = prefixEnd
	s.epoch, s.leader, s.role = s.takeEpoch, me, roleLeader
	s.epochReady, s.prefixEnd = true, prefixEnd
	s.nextSeq = prefixEnd + 1
	s.members, s.memberIDs = make(map[int]uint64), nil
	if s.joined {
		if st := startFor(s.delivered()); st > s.nextDeliver {
			s.nextDeliver = st
		}
	} else {
		s.joined = true
		s.nextDeliver = prefixEnd + 1
	}
	for q := s.nextDeliver; q <= prefixEnd; q++ {
		if _, ok := s.orderAt[q]; !ok {
			s.orderAt[q] = s.c.now
		}
	}
	for _, p := range parts {
		r := s.replies[p]
		if !r.Joined {
			s.welcome(p, s.c.peers[p].run)
			continue
		}
		start := startFor(r.Delivered)
		s.addMember(p, start)
		s.c.send(p, Msg{Kind: KindNewEpoch, Epoch: s.epoch, Seq: prefixEnd, Start: start})
		for q := start; q <= prefixEnd; q++ {
			s.c.send(p, Msg{Kind: KindOrder, Epoch: s.epoch, Seq: q, ID: union[q]})
		}
	}
	s.replies, s.waiting = nil, nil
	for _, id := range cands {
		if _, ok := s.idSeq[id]; !ok {
			s.assign(id, me)
		}
	}
	s.c.flushHeldSends()
	s.tryDeliver()
}

// maxFetchWait bounds the adaptive wait (the network window's slider goes
// to 10 s).
const maxFetchWait = 21 * time.Second

func (s *sequencer) fetchWait() time.Duration {
	w := 2*s.lagMax + 100*time.Millisecond
	if w < s.c.cfg.FetchAfter {
		w = s.c.cfg.FetchAfter
	}
	if w > maxFetchWait {
		w = maxFetchWait
	}
	return w
}

func (s *sequencer) tick() {
	c := s.c
	now := c.now
	if !now.Before(s.nextDecay) {
		s.nextDecay = now.Add(time.Second)
		s.lagMax = s.lagMax * 7 / 8
	}
	switch s.role {
	case roleCandidate:
		if now.Sub(s.takeStart) > 2*c.cfg.SuspectAfter {
			s.role, s.leader = roleFollower, 0 // try again next tick, in a later epoch
		}
		return
	case roleFollower:
		if s.leader != 0 && !c.peers[s.leader].alive {
			s.leader = 0
		}
		if s.leader == 0 && !now.Before(s.retryTakeoverAt) && s.eligible() {
			s.startTakeover()
			return
		}
	}
	if !s.joined {
		return
	}
	if !now.Before(s.nextAskScan) {
		s.nextAskScan = now.Add(c.cfg.AskAfter / 2)
		for asked := 0; len(s.askQueue) > 0 && asked < maxAsksPerScan; {
			id := s.askQueue[0]
			a, ok := s.unordered[id]
			if !ok {
				s.askQueue = s.askQueue[1:] // ordered meanwhile
				continue
			}
			due := a.since.Add(c.cfg.AskAfter)
			if again := a.lastAsked.Add(2 * c.cfg.AskAfter); again.After(due) {
				due = again
			}
			if due.After(now) {
				break
			}
			s.askQueue = append(s.askQueue[1:], id)
			a.lastAsked = now
			s.ask(id)
			asked++
		}
	}
	if s.role == roleFollower && s.leader != 0 && !s.epochReady {
		// Accepted a take-over but its N has not come: ask for it again.
		if now.Sub(s.acceptedAt) >= c.cfg.AskAfter && now.Sub(s.lastGapAsk) >= c.cfg.AskAfter {
			s.lastGapAsk = now
			c.send(s.leader, Msg{Kind: KindGap, Epoch: s.epoch, Seq: s.nextDeliver})
		}
		return
	}
	if s.role == roleFollower && s.leader != 0 {
		top := s.highest
		if a := c.peers[s.leader].assigned; a > top && c.peers[s.leader].epoch == s.epoch {
			top = a
		}
		_, have := s.order[s.nextDeliver]
		switch {
		case have || top < s.nextDeliver:
			s.gapSeq = 0
		case s.gapSeq != s.nextDeliver:
			s.gapSeq, s.gapSince = s.nextDeliver, now
		case now.Sub(s.gapSince) >= c.cfg.AskAfter && now.Sub(s.lastGapAsk) >= c.cfg.AskAfter:
			s.lastGapAsk = now
			c.send(s.leader, Msg{Kind: KindGap, Epoch: s.epoch, Seq: s.nextDeliver, Hi: top})
		}
	}
	wait := s.fetchWait()
	alive := c.aliveIDs()
	for q := s.nextDeliver; q <= s.highest && q < s.nextDeliver+256; q++ {
		id, ok := s.order[q]
		if !ok || id == voidID || c.content[id] {
			continue
		}
		if now.Sub(s.orderAt[q]) < wait || now.Sub(s.lastFetch[q]) < wait {
			continue
		}
		s.lastFetch[q] = now
		if c.own[id] {
			c.contentArrived(id, true) // the network lost our own copy
			continue
		}
		tries := s.fetchTries[q]
		s.fetchTries[q] = tries + 1
		if s.role == roleLeader && tries > 0 {
			s.maybeVoid(q)
			if s.order[q] == voidID {
				continue
			}
		}
		to := id.Sender
		if to == c.cfg.ID || !c.peers[to].alive || tries > 0 {
			// The sender is gone (or did not answer): ask the others in turn.
			to = alive[(int(q)+tries)%len(alive)]
			if to == c.cfg.ID {
				to = alive[(int(q)+tries+1)%len(alive)]
			}
		}
		if to != c.cfg.ID {
			c.send(to, Msg{Kind: KindFetch, ID: id})
		}
	}
}
