package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Ordering by consensus on etcd's raft, the default protocol.
//
// Every middleware is a voter; raft's leader is the sequencer. On Send the
// sender hands the content to the network program and, at the same moment,
// proposes the message ids to raft (one entry per batch). The committed log
// is the total order: applying an entry appends its ids, minus any already
// committed (a proposal repeated after a leader change can commit twice),
// to the core's order, and the core delivers position k once k-1 is
// delivered and k's network copy is here, or, when that copy is overdue,
// from the entry itself (marked recovered: the id is the content).
//
// Safety is raft's: a minority cannot commit, a deposed leader is fenced by
// its term (CheckQuorum, PreVote), and raft state is persisted (Output.
// Persist) before the messages that depend on it go out, so a middleware
// killed and started again takes up where it was. A snapshot every
// snapEvery ids compacts the log and rewrites the state log, so memory and
// disk stay flat; a snapshot carries the last orderWindow positions, so a
// member that fell behind by less than that catches up without a hole.
//
// Raft messages travel as control messages of kind Y (the protobuf
// encoding); an entry's data is encodeProposal's.

// KindRaft carries one raft message.
const KindRaft Kind = 'Y'

func init() { registerKind(KindRaft, "Raft", fieldRaft) }

func init() {
	registerProtocol(protocolSpec{name: Raft, leader: true, rejoin: true, faultTolerant: true, rank: 1, orders: true,
		summary: "consensus on etcd's raft: survives a minority of crashes, pauses and cut links",
		make:    func(c host) protocol { return newRaft(c) }})
}

const (
	raftTick      = 10 * time.Millisecond
	heartbeatTick = 5  // ticks: 50 ms
	electionTick  = 40 // ticks: elections after 400–800 ms of silence
	// snapEvery is how many applied ids trigger a snapshot. Behind it stay
	// the entries of the last keepBytes of data (at most keepEntries
	// entries), for followers that lag a little: a bound in bytes, since
	// an entry holds 1 to maxPropose ids.
	snapEvery   = 1 << 16
	keepEntries = 4096
	keepBytes   = 256 << 10
	// maxPropose bounds the ids of one proposal.
	maxPropose = 1024
)

// State log records of this protocol: a raft snapshot, hard state and one
// log entry, each in raft's protobuf encoding after the kind byte.
const (
	recRaftSnap  = 's'
	recRaftHard  = 'h'
	recRaftEntry = 'e'
)

// Entry data: a batch of one sender's ids, or that sender's restart.
const (
	entryIDs     = 'p' // proposer, count, nums…
	entryRestart = 'r' // proposer, first number of the new incarnation
)

type raftProto struct {
	c       host
	rn      *raft.RawNode
	storage *raft.MemoryStorage
	conf    *pb.ConfState

	committed    idSet  // ids already in the order
	applied      uint64 // raft index applied
	idsSinceSnap int

	// Own messages proposed but not seen committed, and the restart
	// marker of this incarnation until it commits.
	pending       pendingQueue
	restartMarker uint64 // first number of this incarnation; 0 when committed or fresh
	lastPropose   time.Time

	lead       uint64
	lastTick   time.Time
	campaignAt time.Time // zero: no campaign planned

	lastPromote   time.Time // the leader last looked for learners to promote
	lastRejoinAsk time.Time // a rejoining member last asked to be taken back
}

func newRaft(c host) *raftProto {
	r := &raftProto{
		c:         c,
		storage:   raft.NewMemoryStorage(),
		committed: make(idSet),
		pending:   newPendingQueue(),
		lastTick:  c.clock(),
	}
	voters := make([]uint64, c.config().N)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	r.conf = &pb.ConfState{Voters: voters}
	if c.config().Rejoin && len(c.config().Restored) == 0 {
		// Taken back by membership change (raft_rejoin.go): no
		// configuration until the leader's snapshot brings the group's.
		r.conf = &pb.ConfState{}
		return r
	}
	// Every member starts from the same snapshot at index 1 holding the
	// whole group; members are changed only to take back one that lost
	// its state (raft_rejoin.go).
	if err := r.storage.ApplySnapshot(bootstrapSnapshot(r.conf)); err != nil {
		panic(err)
	}
	r.applied = 1
	return r
}

func bootstrapSnapshot(conf *pb.ConfState) *pb.Snapshot {
	return &pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: conf, Index: proto.Uint64(1), Term: proto.Uint64(1)}}
}

// quietRaftLogger keeps raft's own log lines out of the middleware's
// terminal; status lines say what matters.
var quietRaftLogger = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

func (r *raftProto) restore(recs [][]byte) error {
	for _, rec := range recs {
		var err error
		switch rec[0] {
		case recRaftSnap:
			snap := &pb.Snapshot{}
			if err = proto.Unmarshal(rec[1:], snap); err == nil {
				if err = r.storage.ApplySnapshot(snap); errors.Is(err, raft.ErrSnapOutOfDate) {
					err = nil
				} else if err == nil {
					err = r.installSnapshot(snap)
				}
			}
		case recRaftHard:
			hs := &pb.HardState{}
			if err = proto.Unmarshal(rec[1:], hs); err == nil {
				err = r.storage.SetHardState(hs)
			}
		case recRaftEntry:
			e := &pb.Entry{}
			if err = proto.Unmarshal(rec[1:], e); err == nil {
				err = r.storage.Append([]*pb.Entry{e})
			}
		default:
			err = fmt.Errorf("unknown record kind %q", rec[0])
		}
		if err != nil {
			return fmt.Errorf("state log (raft): %w", err)
		}
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              uint64(r.c.config().ID),
		ElectionTick:    electionTick,
		HeartbeatTick:   heartbeatTick,
		Storage:         r.storage,
		Applied:         r.applied,
		MaxSizePerMsg:   1 << 20,
		MaxInflightMsgs: 256,
		CheckQuorum:     true,
		PreVote:         true,
		Logger:          quietRaftLogger,
	})
	if err != nil {
		return fmt.Errorf("raft: %w", err)
	}
	r.rn = rn
	if r.c.restarted() {
		// Numbers this middleware's last incarnation used but never got
		// committed must not hold up the dedup floor for good.
		r.restartMarker = r.c.nextNumber()
	}
	if r.c.config().N == 1 {
		_ = rn.Campaign() // a group of one elects itself at once
	}
	r.drain()
	return nil
}

func (r *raftProto) sent(ids []MsgID) {
	for _, id := range ids {
		r.pending.add(id, r.c.clock())
	}
	r.propose(ids)
	r.drain()
}

// propose hands ids to raft in batches; without a leader raft drops them,
// and they go again once one is known (see tick).
func (r *raftProto) propose(ids []MsgID) {
	r.lastPropose = r.c.clock()
	for len(ids) > 0 {
		k := min(len(ids), maxPropose)
		if err := r.rn.Propose(encodeProposal(r.c.config().ID, ids[:k])); err != nil {
			return
		}
		ids = ids[k:]
	}
}

func encodeProposal(proposer int, ids []MsgID) []byte {
	b := make([]byte, 0, 4+len(ids)*5)
	b = append(b, entryIDs)
	b = binary.AppendUvarint(b, uint64(proposer))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = binary.AppendUvarint(b, id.Num)
	}
	return b
}

// reproposeAll proposes every pending id again, and the restart marker.
func (r *raftProto) reproposeAll() {
	if r.restartMarker > 0 {
		b := binary.AppendUvarint([]byte{entryRestart}, uint64(r.c.config().ID))
		_ = r.rn.Propose(binary.AppendUvarint(b, r.restartMarker))
	}
	r.propose(r.pending.again(r.c.clock()))
}

func (r *raftProto) arrived(MsgID) {}

func (r *raftProto) control(m Msg) {
	if m.Kind != KindRaft {
		return
	}
	pm := &pb.Message{}
	if err := proto.Unmarshal(m.Raft, pm); err != nil {
		return
	}
	// Only what the authenticated link's peer says in its own name, to us.
	if pm.GetFrom() != uint64(m.From) || pm.GetTo() != uint64(r.c.config().ID) || raft.IsLocalMsg(pm.GetType()) {
		return
	}
	// A heartbeat that commits beyond this log can only be for a state this
	// middleware lost (raft would panic on it): the identity check, or the
	// leader's new progress once it is taken back, deals with it.
	if pm.GetType() == pb.MessageType_MsgHeartbeat {
		if last, _ := r.storage.LastIndex(); pm.GetCommit() > last {
			return
		}
	}
	_ = r.rn.Step(pm)
	r.drain()
}

func (r *raftProto) linkClosed(peer int) {
	r.rn.ReportUnreachable(uint64(peer))
	if uint64(peer) == r.lead {
		// The leader's process most likely died: stop waiting for its
		// heartbeats and campaign soon (PreVote keeps this safe when it
		// was only a broken link), the lower ids first.
		_ = r.rn.ForgetLeader()
		r.campaignAt = r.c.clock().Add(time.Duration(20+30*r.c.config().ID) * time.Millisecond)
	}
	r.drain()
}

// tolerateAmnesia: raft goes on without a member that lost its state
// (the Core ignores it; it counts as failed).
func (r *raftProto) tolerateAmnesia(int) bool { return true }

// campaign stands for leader now (Core.Campaign).
func (r *raftProto) campaign() {
	_ = r.rn.Campaign()
	r.drain()
}

func (r *raftProto) tick() {
	for k := 0; k < 10 && r.c.clock().Sub(r.lastTick) >= raftTick; k++ {
		r.rn.Tick()
		r.lastTick = r.lastTick.Add(raftTick)
	}
	if r.c.clock().Sub(r.lastTick) >= raftTick {
		r.lastTick = r.c.clock() // a long pause: time does not pile up as ticks
	}
	if !r.campaignAt.IsZero() && !r.c.clock().Before(r.campaignAt) {
		r.campaignAt = time.Time{}
		if r.lead == 0 {
			_ = r.rn.Campaign()
		}
	}
	r.promoteLearners()
	r.rejoinTick()
	// Proposals are lost with a leader that dies or a link that breaks:
	// repeat what waits too long (duplicates are dropped on apply).
	if r.lead != 0 && (r.pending.overdue(r.c.clock(), r.c.config().ResendAfter) || (r.restartMarker > 0 && r.c.clock().Sub(r.lastPropose) >= r.c.config().ResendAfter)) {
		r.reproposeAll()
	}
	r.drain()
}

// drain carries out everything raft is ready to do.
func (r *raftProto) drain() {
	for r.rn.HasReady() {
		rd := r.rn.Ready()
		if rd.SoftState != nil && rd.SoftState.Lead != r.lead {
			r.lead = rd.SoftState.Lead
			if r.lead != 0 {
				r.campaignAt = time.Time{}
				r.reproposeAll() // what the old leader had may be gone
			}
		}
		if !raft.IsEmptySnap(rd.Snapshot) {
			if err := r.storage.ApplySnapshot(rd.Snapshot); err == nil {
				r.c.persist(marshalRecord(recRaftSnap, rd.Snapshot))
				if err := r.installSnapshot(rd.Snapshot); err != nil {
					r.c.stop("snapshot from the leader does not decode: " + err.Error())
				}
			}
		}
		if len(rd.Entries) > 0 {
			_ = r.storage.Append(rd.Entries)
			for _, e := range rd.Entries {
				r.c.persist(marshalRecord(recRaftEntry, e))
			}
		}
		if !raft.IsEmptyHardState(rd.HardState) {
			_ = r.storage.SetHardState(rd.HardState)
			r.c.persist(marshalRecord(recRaftHard, rd.HardState))
		}
		var snapsTo []uint64
		for _, m := range rd.Messages {
			b, err := proto.Marshal(m)
			if err != nil || m.GetTo() == 0 || m.GetTo() > uint64(r.c.config().N) || m.GetTo() == uint64(r.c.config().ID) {
				continue
			}
			r.c.send(int(m.GetTo()), Msg{Kind: KindRaft, Raft: b})
			if m.GetType() == pb.MessageType_MsgSnap {
				snapsTo = append(snapsTo, m.GetTo())
			}
		}
		for _, e := range rd.CommittedEntries {
			r.apply(e)
		}
		r.rn.Advance(rd)
		for _, to := range snapsTo {
			r.rn.ReportSnapshot(to, raft.SnapshotFinish)
		}
	}
	if r.idsSinceSnap >= snapEvery {
		r.compact()
	}
}

func marshalRecord(kind byte, m proto.Message) []byte {
	b, err := proto.MarshalOptions{}.MarshalAppend([]byte{kind}, m)
	if err != nil {
		panic(err) // raft's own messages always marshal
	}
	return b
}

func (r *raftProto) apply(e *pb.Entry) {
	if e.GetIndex() <= r.applied {
		return
	}
	r.applied = e.GetIndex()
	if e.GetType() == pb.EntryType_EntryConfChange {
		r.applyConfChange(e)
		return
	}
	if e.GetType() != pb.EntryType_EntryNormal || len(e.GetData()) == 0 {
		return // leaders' empty entries
	}
	d := e.GetData()
	rd := &uvarintReader{b: d[1:]}
	proposer := int(rd.next())
	switch d[0] {
	case entryIDs:
		count := rd.next()
		for i := uint64(0); i < count && rd.ok(); i++ {
			id := MsgID{Sender: proposer, Num: rd.next()}
			if !rd.ok() || id.Num == 0 || proposer < 1 || proposer > r.c.config().N {
				break
			}
			if proposer == r.c.config().ID {
				r.pending.done(id)
				r.c.raiseNumbering(id.Num) // (a restart that lost its numbering)
			}
			if r.committed.add(id) {
				r.c.ordered(r.c.positionsKnown()+1, id)
				r.idsSinceSnap++
			}
		}
	case entryRestart:
		first := rd.next()
		if rd.ok() && proposer >= 1 && proposer <= r.c.config().N && first > 1 {
			r.committed.raiseFloor(proposer, first-1)
			r.c.senderRestarted(proposer, first)
			if proposer == r.c.config().ID && first == r.restartMarker {
				r.restartMarker = 0
			}
		}
	}
}

// compact takes a snapshot at the applied index, drops the log behind it
// (but for keepEntries) and rewrites the state log.
func (r *raftProto) compact() {
	r.idsSinceSnap = 0
	snap, err := r.storage.CreateSnapshot(r.applied, r.conf, r.encodeState())
	if err != nil {
		return
	}
	if to := compactIndex(r.storage, r.applied); to > 0 {
		_ = r.storage.Compact(to)
	}
	recs := [][]byte{marshalRecord(recRaftSnap, snap)}
	hs, _, _ := r.storage.InitialState()
	recs = append(recs, marshalRecord(recRaftHard, hs))
	last, _ := r.storage.LastIndex()
	if last > r.applied {
		ents, _ := r.storage.Entries(r.applied+1, last+1, 1<<62)
		for _, e := range ents {
			recs = append(recs, marshalRecord(recRaftEntry, e))
		}
	}
	r.c.rewrite(recs)
}

// compactIndex is the index up to which the log in s can go (0: nothing
// to drop): the entries after it, up to applied, hold keepBytes of data
// or keepEntries entries, whichever is fewer.
func compactIndex(s *raft.MemoryStorage, applied uint64) uint64 {
	first, _ := s.FirstIndex()
	lo := first
	if applied > keepEntries && applied-keepEntries > lo {
		lo = applied - keepEntries
	}
	if applied < lo {
		return 0
	}
	ents, err := s.Entries(lo, applied+1, math.MaxUint64)
	if err != nil {
		return 0
	}
	size := 0
	for i := len(ents) - 1; i >= 0; i-- {
		size += len(ents[i].GetData())
		if size > keepBytes {
			return ents[i].GetIndex()
		}
	}
	if lo > first {
		return lo
	}
	return 0
}

func (r *raftProto) encodeState() []byte { return r.c.appendOrderState(nil, r.committed) }

func (r *raftProto) installSnapshot(snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	r.applied = md.GetIndex()
	if md.GetConfState() != nil {
		r.conf = md.GetConfState()
	}
	if len(snap.GetData()) == 0 {
		return nil // the bootstrap snapshot
	}
	committed, err := r.c.loadOrderState(snap.GetData())
	if err != nil {
		return err
	}
	r.committed = committed
	for _, id := range r.pending.again(r.c.clock()) {
		if committed.has(id) {
			r.pending.done(id)
		}
	}
	return nil
}

func (r *raftProto) view(v *View) {
	st := r.rn.BasicStatus()
	v.Leader = int(st.Lead)
	v.Term = st.HardState.GetTerm()
	reach := len(v.Alive)
	switch {
	case reach <= r.c.config().N/2:
		v.Waiting = fmt.Sprintf("no quorum: reaches %d of %d, waiting", reach, r.c.config().N)
	case r.c.rejoining() && !r.isMember():
		v.Waiting = "rejoining: asked the group to take this middleware back under a new state (raft membership change)"
	case r.c.rejoining() && slices.Contains(r.conf.GetLearners(), uint64(r.c.config().ID)):
		v.Waiting = "rejoining: taken back as a learner, catching up before it votes again"
	case st.Lead == 0:
		v.Waiting = "electing a leader"
	}
}
