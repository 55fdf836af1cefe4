package compare

import (
	"testing"

	"totalorder/middleware"
	"totalorder/middleware/core"
)

// The lines parsed are made by the middleware's own StatusLine, so a
// change of its format shows here.
func TestParseStatus(t *testing.T) {
	line := middleware.StatusLine(middleware.Status{ID: 2, N: 5, Protocol: "raft", Leader: 3, Term: 2,
		PeersUp: 4, Peers: 4, NetworkUp: true, ControlSent: 1234,
		Agreement: []core.PeerAgreement{{Peer: 1, Through: 7, DiffAt: 8, Here: "Msg #1 from Middleware 2", There: "Msg #2 from Middleware 4"}},
		Waiting:   `no quorum: reaches 2 of 5, "waiting"`})
	s := parseStatus(line)
	if s.PeersUp != 4 || s.Peers != 4 || s.Leader != 3 || s.ControlSent != 1234 {
		t.Errorf("%q: parsed %+v", line, s)
	}
	if s.Waiting != `no quorum: reaches 2 of 5, "waiting"` {
		t.Errorf("waiting %q", s.Waiting)
	}
	if s.Agreement != "DIFFERS" || s.AgreementText != "differs from Middleware 1 at #8 (here: Msg #1 from Middleware 2; there: Msg #2 from Middleware 4)" {
		t.Errorf("agreement %q %q", s.Agreement, s.AgreementText)
	}
	if s.ready() {
		t.Error("a middleware that is waiting is ready")
	}

	line = middleware.StatusLine(middleware.Status{ID: 1, N: 5, Protocol: "isis", PeersUp: 3, Peers: 4})
	s = parseStatus(line)
	if s.Leader != 0 || s.Waiting != "" || s.ControlSent != 0 || s.ready() {
		t.Errorf("%q: parsed %+v (ready %v)", line, s, s.ready())
	}
	s.PeersUp = 4
	if !s.ready() {
		t.Error("every link up, nothing waiting: not ready")
	}
	if s := parseStatus("Middleware 1/5 raft"); s.ControlSent != -1 {
		t.Errorf("no control-sent: %d, want -1", s.ControlSent)
	}
}

func TestCommonLeader(t *testing.T) {
	st := map[int]status{1: {Leader: 3}, 2: {Leader: 3}, 3: {Leader: 2}, 4: {}, 5: {Leader: 3}}
	if got := commonLeader(st); got != 3 {
		t.Errorf("leader %d, want 3", got)
	}
	if got := commonLeader(map[int]status{1: {}, 2: {}}); got != 0 {
		t.Errorf("no leader named: %d", got)
	}
}
