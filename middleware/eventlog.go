package middleware

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"totalorder/internal/evlog"
	"totalorder/middleware/core"
)

// eventLog writes the -events file: one line per list change, and for
// the timeline control messages, leader views and marks. The format, the
// writing (whole lines, written after every batch by the node's loop) and
// what happens when the disk is full are the events log package's
// (internal/evlog); this turns the core's notes into its records and
// reports failures in the operational log. Only the node's loop uses it.
type eventLog struct {
	w    *evlog.Writer
	rec  evlog.Record // scratch
	text []byte       // scratch for the message text

	oplog  zerolog.Logger  // where failures are reported
	said   map[string]bool // distinct errors reported in this outage
	errLog logLimiter

	// Control, when set, logs every control message sent and received
	// and the leader as this middleware sees it (Config.EventsControl):
	// for the timeline's control layer and leader marks.
	Control    bool
	leaderSeen bool
	lastLeader int
	lastTerm   uint64
}

// openEventLog opens path for appending, creating its directory if needed.
func openEventLog(path string, mw int, run string) (*eventLog, error) {
	w, err := evlog.Open(path, evlog.Options{MW: mw, Run: run, KeepRoom: true})
	if err != nil {
		return nil, err
	}
	return newEventLog(w), nil
}

func newEventLog(w *evlog.Writer) *eventLog {
	e := &eventLog{w: w, oplog: zerolog.Nop()}
	e.errLog.every = time.Second
	w.Notify = e.notify
	return e
}

// notify reports how writing goes in the operational log: each distinct
// error once per outage (at most one a second), and the end of it.
func (e *eventLog) notify(n evlog.Notice) {
	if n.Resumed {
		e.said = nil
		e.oplog.Warn().Msgf("events log %s: writing again; %d events were not written (a \"lost\" line marks the gap)", e.w.Path(), n.Lost)
		return
	}
	if e.said[n.Err] {
		return
	}
	if ok, k := e.errLog.allow(n.At); ok {
		if e.said == nil {
			e.said = map[string]bool{}
		}
		e.said[n.Err] = true
		e.oplog.Error().Int("suppressed", k).Msgf("events log %s: write failed (%s): events are not being written; retrying", e.w.Path(), n.Err)
	}
}

// pastRun reads what earlier incarnations of middleware mw wrote to its
// events log: whether there were any (one that starts without a state
// then lost it), the highest message number it sent (numbering goes on
// after it) and the highest position it delivered (a member taken back
// after it lost its state goes on after it).
func pastRun(path string, mw int) (any bool, lastNum, lastSeq uint64) {
	f, err := os.Open(path)
	if err != nil {
		return false, 0, 0
	}
	defer f.Close()
	rd := evlog.NewReader(f)
	for {
		r, err := rd.Next()
		var bad *evlog.LineError
		switch {
		case errors.As(err, &bad):
			continue // a fragment left by a kill, say
		case err != nil:
			return any, lastNum, lastSeq
		}
		if r.MW == mw || r.MW == 0 {
			any = true
		}
		switch r.Event {
		case evlog.Ready:
			if r.MW == mw || r.MW == 0 {
				lastSeq = max(lastSeq, r.Seq)
			}
		case evlog.Sent:
			if id, ok := core.ParseText(string(r.Msg)); ok && id.Sender == mw && id.Num > lastNum {
				lastNum = id.Num
			}
		}
	}
}

func (e *eventLog) write(n *core.Note) {
	var kind evlog.Event
	switch n.Kind {
	case core.NoteSent:
		kind = evlog.Sent
	case core.NoteReceived:
		kind = evlog.Received
	case core.NoteReady:
		kind = evlog.Ready
	case core.NoteDiverged:
		kind = evlog.Diverged
	default:
		return // not a list change
	}
	if n.Foreign {
		e.text = append(e.text[:0], n.Body...)
	} else {
		e.text = appendText(e.text[:0], core.Message{ID: n.ID, Body: n.Body})
	}
	e.rec = evlog.Record{Event: kind, Msg: e.text, TS: n.At.UnixMicro(), Foreign: n.Foreign}
	if n.Kind == core.NoteReady || n.Kind == core.NoteDiverged {
		e.rec.Seq = n.Seq
	}
	if n.Kind == core.NoteDiverged {
		e.rec.Peer, e.rec.There = n.Peer, n.There
	}
	e.rec.Recovered = n.Recovered && n.Kind == core.NoteReceived
	e.w.Write(&e.rec)
}

// flush writes out buffered lines (see evlog.Writer.Flush).
func (e *eventLog) flush(now time.Time) { e.w.Flush(now) }

// problem describes a failure to write for the status line, or is empty.
func (e *eventLog) problem() string { return e.w.Problem() }

// close writes what it can and closes the file (see evlog.Writer.Close).
func (e *eventLog) close() error { return e.w.Close() }

// controlOut logs control messages sent, one line each (only with
// Control): {"event":"control","dir":"out","peer":3,"kind":"MsgApp",…}.
// The timeline pairs each with the peer's "in" line.
func (e *eventLog) controlOut(envs []core.Envelope, at time.Time) {
	if !e.Control {
		return
	}
	for i := range envs {
		e.controlLine("out", envs[i].To, controlKindName(&envs[i].Msg), at)
	}
}

// controlIn logs control messages received (only with Control).
func (e *eventLog) controlIn(msgs []core.Msg, at time.Time) {
	if !e.Control {
		return
	}
	for i := range msgs {
		if msgs[i].Kind == core.KindLinkClosed {
			continue
		}
		e.controlLine("in", msgs[i].From, controlKindName(&msgs[i]), at)
	}
}

func (e *eventLog) controlLine(dir string, peer int, kind string, at time.Time) {
	e.rec = evlog.Record{Event: evlog.Control, Dir: dir, Peer: peer, Kind: kind, TS: at.UnixMicro()}
	e.w.Write(&e.rec)
}

// leader logs this middleware's view of the leader when it changes (only
// with Control): {"event":"leader","leader":3,"term":2,…} (leader 0: none
// known).
func (e *eventLog) leader(leader int, term uint64, at time.Time) {
	if !e.Control {
		return
	}
	if leader == e.lastLeader && term == e.lastTerm && (e.leaderSeen || leader == 0) {
		return
	}
	e.leaderSeen, e.lastLeader, e.lastTerm = true, leader, term
	e.rec = evlog.Record{Event: evlog.Leader, Leader: leader, Term: term, TS: at.UnixMicro()}
	e.w.Write(&e.rec)
}

// mark logs a moment worth drawing on this middleware's lane (the
// timeline shows it): {"event":"mark","label":"cut off",…}. Written with
// or without Control: marks are rare.
func (e *eventLog) mark(label string, at time.Time) {
	e.rec = evlog.Record{Event: evlog.Mark, Label: label, TS: at.UnixMicro()}
	e.w.Write(&e.rec)
}

// controlKindName names a control message for the events log: a raft
// message by its raft type (MsgApp, MsgAppResp, MsgHeartbeat…), the
// others by their kind in lower case (order, propose, final…).
func controlKindName(m *core.Msg) string {
	if m.Kind == core.KindRaft {
		pm := &pb.Message{}
		if proto.Unmarshal(m.Raft, pm) == nil {
			return pm.GetType().String()
		}
		return "raft"
	}
	return strings.ToLower(m.Kind.String())
}

// EventsPath is the events log's path ("" without one).
func (n *Node) EventsPath() string { return n.cfg.EventsPath }
