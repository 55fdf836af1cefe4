package core

import (
	"slices"
	"time"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Bringing back a raft member that lost its state, by membership change.
//
// Started with -rejoin (Config.Rejoin) and an empty state, a middleware
// asks the group to take it back under its new state identity (W). The
// leader removes the old member from the configuration, adds the new one
// as a learner (the entry's context names its identity: every member then
// remembers it and listens to it again), and promotes it to voter once it
// has caught up, from a snapshot and the log. A learner never counts in a
// quorum, and a removed member's votes are not counted, so a member with an
// empty log never decides anything. The rejoined middleware's Ready list
// goes on after what its peers remember it had delivered.
//
// The raft starts with no configuration at all (no bootstrap snapshot):
// it cannot campaign, and learns the group from the leader's snapshot.

// KindRejoin: I lost my state; take me back as State.
const KindRejoin Kind = 'W'

func init() { registerKind(KindRejoin, "Rejoin", fieldState) }

// rejoinEvery is how often a rejoining member asks again, and how often a
// leader looks for learners to promote.
const rejoinEvery = time.Second

// rejoinAsked is the leader's part: take peer back as state, one
// configuration change at a time (raft refuses a second while one is
// pending; the member asks again).
func (r *raftProto) rejoinAsked(peer int, state string) {
	if r.lead != uint64(r.c.config().ID) || state == "" || state == "-" {
		return
	}
	p := uint64(peer)
	var cc *pb.ConfChange
	switch {
	case r.c.knowsState(peer, state) && (slices.Contains(r.conf.GetLearners(), p) || slices.Contains(r.conf.GetVoters(), p)):
		return // taken back already
	case slices.Contains(r.conf.GetVoters(), p) || slices.Contains(r.conf.GetLearners(), p):
		cc = &pb.ConfChange{Type: pb.ConfChangeType_ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(p), Context: []byte(state)}
	default:
		cc = &pb.ConfChange{Type: pb.ConfChangeType_ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(p), Context: []byte(state)}
	}
	_ = r.rn.ProposeConfChange(cc)
	r.drain()
}

// promoteLearners is the leader's: a learner whose log caught up becomes a
// voter.
func (r *raftProto) promoteLearners() {
	if r.lead != uint64(r.c.config().ID) || len(r.conf.GetLearners()) == 0 || r.c.clock().Sub(r.lastPromote) < rejoinEvery {
		return
	}
	r.lastPromote = r.c.clock()
	st := r.rn.Status()
	for _, l := range r.conf.GetLearners() {
		// Ready as etcd judges a learner: its log within a tenth of the
		// leader's (under steady traffic it is never exactly there).
		if pr, ok := st.Progress[l]; ok && pr.Match >= st.Progress[uint64(r.c.config().ID)].Match*9/10 {
			_ = r.rn.ProposeConfChange(&pb.ConfChange{Type: pb.ConfChangeType_ConfChangeAddNode.Enum(), NodeId: proto.Uint64(l)})
			return // one at a time
		}
	}
}

// applyConfChange is every member's: the configuration changes, and a
// member added back is remembered under its new identity.
func (r *raftProto) applyConfChange(e *pb.Entry) {
	cc := &pb.ConfChange{}
	if err := proto.Unmarshal(e.GetData(), cc); err != nil {
		return
	}
	r.conf = r.rn.ApplyConfChange(cc)
	if cc.GetType() == pb.ConfChangeType_ConfChangeAddLearnerNode {
		r.c.readmit(int(cc.GetNodeId()), string(cc.GetContext()))
	}
}

// rejoinTick is the rejoining member's: ask every peer (the leader acts)
// until it is a member again.
func (r *raftProto) rejoinTick() {
	if !r.c.rejoining() || r.c.readmitted() || r.c.clock().Sub(r.lastRejoinAsk) < rejoinEvery || !r.c.heardEnough() {
		return
	}
	r.lastRejoinAsk = r.c.clock()
	for _, p := range r.c.peerIDs() {
		r.c.send(p, Msg{Kind: KindRejoin, State: r.c.stateID()})
	}
}

// isMember reports whether this middleware is in raft's configuration.
func (r *raftProto) isMember() bool {
	me := uint64(r.c.config().ID)
	return slices.Contains(r.conf.GetVoters(), me) || slices.Contains(r.conf.GetLearners(), me)
}
