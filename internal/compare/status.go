package compare

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"totalorder/internal/lab"
)

// status is what compare reads from a headless middleware's status line
// (middleware.StatusLine).
type status struct {
	Line          string
	PeersUp       int
	Peers         int
	Leader        int    // 0: none named
	ControlSent   int    // -1: not in the line
	Waiting       string // why ordering cannot go on; "" when it can
	Agreement     string // "ok" or "DIFFERS"; "" when not in the line
	AgreementText string // what the live check says
}

// field finds " key=" in line and returns its value: a quoted string
// unquoted, or up to the next space. ok is false when key is absent.
func field(line, key string) (val, rest string, ok bool) {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return "", "", false
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		q, err := strconv.QuotedPrefix(v)
		if err != nil {
			return v, "", true
		}
		u, _ := strconv.Unquote(q)
		return u, v[len(q):], true
	}
	end := strings.IndexByte(v, ' ')
	if end < 0 {
		return v, "", true
	}
	return v[:end], v[end:], true
}

// parseStatus reads a status line; fields it lacks keep their zero value
// (ControlSent -1).
func parseStatus(line string) status {
	s := status{Line: line, ControlSent: -1}
	if v, _, ok := field(line, "peers"); ok {
		up, all, _ := strings.Cut(v, "/")
		s.PeersUp, _ = strconv.Atoi(up)
		s.Peers, _ = strconv.Atoi(all)
	}
	if v, _, ok := field(line, "leader"); ok {
		s.Leader, _ = strconv.Atoi(v)
	}
	if v, _, ok := field(line, "control-sent"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			s.ControlSent = n
		}
	}
	s.Waiting, _, _ = field(line, "waiting")
	if v, rest, ok := field(line, "agreement"); ok {
		s.Agreement = v
		if q, err := strconv.QuotedPrefix(strings.TrimPrefix(rest, " ")); err == nil {
			s.AgreementText, _ = strconv.Unquote(q)
		}
	}
	return s
}

// ready says whether a middleware can order: every control link up and
// nothing waiting (a leader elected, the sequencer heard from).
func (s status) ready() bool { return s.Peers > 0 && s.PeersUp == s.Peers && s.Waiting == "" }

// statuses asks every middleware in ids for its status line.
func statuses(l *lab.Lab, ids []int, timeout time.Duration) (map[int]status, error) {
	out := map[int]status{}
	for _, i := range ids {
		line, err := l.Status(i, timeout)
		if err != nil {
			return out, err
		}
		out[i] = parseStatus(line)
	}
	return out, nil
}

// waitUp waits until every middleware in ids can order (see status.ready),
// asking about every 100 ms, so that start-up is not measured. It returns
// the last status lines.
func waitUp(ctx context.Context, l *lab.Lab, ids []int) (map[int]status, error) {
	for {
		st, err := statuses(l, ids, 5*time.Second)
		if err != nil {
			return st, err
		}
		notReady := ""
		for _, i := range ids {
			if !st[i].ready() {
				notReady = st[i].Line
				break
			}
		}
		if notReady == "" {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("not ready to order (%s): %w", notReady, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
