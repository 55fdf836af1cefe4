// Package compare runs one seeded workload under every protocol in turn
// (real processes: the network program and headless middlewares, see
// internal/lab) and compares them in one table and one chart: whether the
// Ready lists agree (or where they first differ), how long ordering held
// content back, end-to-end latency, control messages per message, and
// what happened while one middleware was paused.
package compare

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
	"totalorder/timeline"
)

// Config describes a comparison.
type Config struct {
	Bin       string   // the netsim and middleware binaries (lab.Build)
	Out       string   // results and each protocol's logs (Out/<protocol>/)
	Protocols []string // in this order; empty: every one in core.Protocols
	N         int      // middlewares, each a sender (default 5)
	Each      int      // messages each middleware sends (default 20)
	Rate      float64  // messages a second per sender (default 4)
	MaxSleep  time.Duration
	Seed      int64 // the network program's delays and the send times
	// Pause stops one middleware (SIGSTOP) for PauseFor (default 3 s)
	// in the middle of the workload, then continues it (SIGCONT).
	Pause    bool
	PauseFor time.Duration
	// PauseID is the middleware paused; 0: the leader where the protocol
	// has one (raft's leader, the sequencer), else Middleware N.
	PauseID int
	// Idle is how long the lab stands idle before the workload, to learn
	// what control messages it sends whatever the load (default 2 s).
	Idle time.Duration
	// Stall ends the wait for deliveries when none came for this long
	// (0: 8 s or 5 s + 2×MaxSleep, whichever is longer); the protocol is
	// then reported stalled.
	Stall time.Duration
	// Log, if set, is told what is going on.
	Log func(format string, args ...any)
}

func (c *Config) defaults() error {
	if c.N == 0 {
		c.N = 5
	}
	if c.Each == 0 {
		c.Each = 20
	}
	if c.Rate == 0 {
		c.Rate = 4
	}
	if c.PauseFor == 0 {
		c.PauseFor = 3 * time.Second
	}
	if c.Idle == 0 {
		c.Idle = 2 * time.Second
	}
	if c.Stall == 0 {
		c.Stall = max(8*time.Second, 5*time.Second+2*c.MaxSleep)
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
	switch {
	case c.N < 2:
		return errors.New("-n: at least 2 middlewares")
	case c.Each < 1:
		return errors.New("-each: at least 1 message")
	case c.Rate <= 0:
		return errors.New("-rate: messages per second must be positive")
	case c.PauseID < 0 || c.PauseID > c.N:
		return fmt.Errorf("-pause-id %d: want 0 (the leader) or 1..%d", c.PauseID, c.N)
	}
	if c.Pause && !lab.CanPause {
		return errors.New("-pause needs SIGSTOP and SIGCONT, which Windows does not have: run it on Linux or macOS, or leave out -pause")
	}
	if len(c.Protocols) == 0 {
		for _, p := range core.Protocols {
			c.Protocols = append(c.Protocols, string(p))
		}
	}
	for i, name := range c.Protocols {
		p, err := core.ParseProtocol(name)
		if err != nil {
			return err
		}
		c.Protocols[i] = string(p)
	}
	return nil
}

// Result is a comparison: what was run and one row per protocol.
type Result struct {
	N        int           `json:"n"`
	Each     int           `json:"each"`
	Rate     float64       `json:"rate_per_sender"`
	MaxSleep time.Duration `json:"max_sleep_ns"`
	Seed     int64         `json:"seed"`
	Pause    time.Duration `json:"pause_ns,omitempty"` // 0: no pause
	PauseID  int           `json:"pause_id,omitempty"` // 0: the leader, else Middleware N
	Machine  string        `json:"machine"`
	Started  time.Time     `json:"started"`
	Rows     []Row         `json:"rows"`
}

// Row is one protocol's run.
type Row struct {
	Protocol string `json:"protocol"`
	Orders   bool   `json:"orders"` // false for none, which orders nothing
	// Err says why the run could not be made (then nothing else is set).
	Err       string    `json:"error,omitempty"`
	Sent      int       `json:"sent"`      // messages in the workload
	Delivered int       `json:"delivered"` // distinct messages some middleware delivered
	Complete  bool      `json:"complete"`  // every middleware delivered every message
	Everyone  int       `json:"delivered_everywhere"`
	Stopped   string    `json:"stopped,omitempty"` // why not complete
	Agreement Agreement `json:"agreement"`
	// LiveAgreement is each middleware's own agreement check, from its
	// status line at the end ("ok …" or "DIFFERS …").
	LiveAgreement []string    `json:"live_agreement,omitempty"`
	Ordering      check.Stats `json:"ordering"`   // Received → Ready at each middleware
	EndToEnd      check.Stats `json:"end_to_end"` // Sent → Ready
	// WorkloadControls counts the control messages the workload added
	// (see WorkloadControls: what the lab sends idle, and the agreement
	// check's digests, left out); AllControls the growth of the status
	// lines' control-sent during the run, everything included (-1:
	// unknown).
	WorkloadControls float64 `json:"workload_controls"`
	// ControlKinds counts every control message sent during the run by
	// kind (as the events log names them: MsgApp, propose, heartbeat…).
	ControlKinds     map[string]int `json:"control_kinds,omitempty"`
	AllControls      int            `json:"all_controls"`
	ControlPerMsg    float64        `json:"control_per_msg"`
	AllControlPerMsg float64        `json:"all_control_per_msg"`
	Pause            *Pause         `json:"pause,omitempty"`
	Verdict          string         `json:"checker_verdict"`
	Logs             string         `json:"logs"`
}

// Run builds nothing: it runs cfg's workload under each protocol in turn
// with the binaries in cfg.Bin. A protocol whose run fails gets a row
// saying why; Run's error is for a cancelled context or bad settings.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	res := &Result{N: cfg.N, Each: cfg.Each, Rate: cfg.Rate, MaxSleep: cfg.MaxSleep, Seed: cfg.Seed,
		Machine: machine(), Started: time.Now()}
	if cfg.Pause {
		res.Pause, res.PauseID = cfg.PauseFor, cfg.PauseID
	}
	sends := Schedule(cfg.N, cfg.Each, cfg.Rate, cfg.Seed)
	for _, p := range cfg.Protocols {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		row := runOne(ctx, cfg, p, sends)
		if row.Err != "" {
			cfg.Log("%s: %s", p, row.Err)
		}
		res.Rows = append(res.Rows, row)
	}
	return res, ctx.Err()
}

// machine describes where the comparison ran, for the report.
func machine() string {
	s := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			s += fmt.Sprintf(", load average %s %s %s at the start", f[0], f[1], f[2])
		}
	}
	return s
}

// runOne runs the workload under one protocol.
func runOne(ctx context.Context, cfg Config, protocol string, sends []Send) Row {
	p, _ := core.ParseProtocol(protocol)
	row := Row{Protocol: protocol, Orders: p.Orders(), Sent: len(sends), AllControls: -1}
	dir := filepath.Join(cfg.Out, protocol)
	row.Logs = dir
	if err := os.RemoveAll(dir); err != nil {
		row.Err = err.Error()
		return row
	}
	cfg.Log("%s: starting the network program (maxSleep %v, seed %d) and %d middlewares", protocol, cfg.MaxSleep, cfg.Seed, cfg.N)
	l, err := lab.Start(lab.Config{Bin: cfg.Bin, Dir: dir, N: cfg.N, Protocol: protocol, MaxSleep: cfg.MaxSleep,
		Reuse: true, Seed: cfg.Seed, Timeline: true})
	if err != nil {
		row.Err = "did not start: " + err.Error()
		return row
	}
	defer l.Stop()
	ids := l.IDs()
	upCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = waitUp(upCtx, l, ids)
	cancel()
	if err != nil {
		row.Err = "did not get ready: " + err.Error()
		return row
	}

	// The lab idle for a while: what it sends whatever the load.
	idle := Window{From: time.Now().UnixMicro()}
	select {
	case <-ctx.Done():
		row.Err = "interrupted"
		return row
	case <-time.After(cfg.Idle): // a measurement period, not synchronisation
	}
	idle.To = time.Now().UnixMicro()
	before, err := statuses(l, ids, 5*time.Second)
	if err != nil {
		row.Err = err.Error()
		return row
	}

	var span *PauseSpan
	if cfg.Pause {
		span = &PauseSpan{MW: cfg.PauseID}
		leader := commonLeader(before)
		if span.MW == 0 {
			span.MW = cmp.Or(leader, cfg.N)
		}
		span.Leader = span.MW == leader
	}
	total := len(sends)
	msg := fmt.Sprintf("%s: sending %d messages over %s", protocol, total, secs(Span(sends)))
	var pauseAt time.Duration
	if span != nil {
		pauseAt = PauseAt(Span(sends), cfg.PauseFor)
		msg += fmt.Sprintf(", Middleware %d paused %s–%s", span.MW, secs(pauseAt), secs(pauseAt+cfg.PauseFor))
	}
	cfg.Log("%s", msg)
	t0 := time.Now()
	paused := false
	defer func() {
		if paused {
			l.Resume(span.MW)
		}
	}()
	type action struct {
		at   time.Duration
		mw   int
		kind int // 0 send, 1 stop, 2 continue
	}
	var acts []action
	for _, s := range sends {
		acts = append(acts, action{at: s.At, mw: s.MW})
	}
	if span != nil {
		acts = append(acts, action{at: pauseAt, mw: span.MW, kind: 1}, action{at: pauseAt + cfg.PauseFor, mw: span.MW, kind: 2})
	}
	slices.SortStableFunc(acts, func(a, b action) int { return cmp.Compare(a.at, b.at) })
	for _, a := range acts {
		if wait := time.Until(t0.Add(a.at)); wait > 0 {
			select {
			case <-ctx.Done():
				row.Err = "interrupted"
				return row
			case <-time.After(wait): // the workload's pace, not synchronisation
			}
		}
		switch a.kind {
		case 0:
			err = l.Send(a.mw, 1)
		case 1:
			err = l.Pause(a.mw)
			paused = err == nil
			span.From = time.Now().UnixMicro()
		case 2:
			err = l.Resume(a.mw)
			paused = paused && err != nil
			span.To = time.Now().UnixMicro()
		}
		if err != nil {
			row.Err = fmt.Sprintf("Middleware %d: %v", a.mw, err)
			return row
		}
	}

	complete, everyone, err := waitDelivered(ctx, l.Ready, ids, total, cfg.Stall, func(s string) { cfg.Log("%s: %s", protocol, s) })
	end := time.Now()
	if err != nil {
		row.Err = err.Error()
		return row
	}
	row.Complete, row.Everyone = complete, everyone
	after, serr := statuses(l, ids, 3*time.Second)
	if !complete {
		row.Stopped = stoppedWhy(after, serr, everyone, total)
	}
	if serr == nil {
		row.AllControls = 0
		for _, i := range ids {
			if after[i].ControlSent < 0 || before[i].ControlSent < 0 {
				row.AllControls = -1
				break
			}
			row.AllControls += after[i].ControlSent - before[i].ControlSent
		}
	}
	for _, i := range ids {
		if s, ok := after[i]; ok && s.Agreement != "" {
			row.LiveAgreement = append(row.LiveAgreement, fmt.Sprintf("M%d: %s %s", i, s.Agreement, s.AgreementText))
		}
	}
	l.Stop()

	var paths []string
	for _, i := range ids {
		paths = append(paths, l.LogPath(i))
	}
	incs, _, err := check.ParseFiles(paths)
	if err != nil {
		row.Err = "reading the events logs: " + err.Error()
		return row
	}
	rep, _ := check.Check(incs, check.Options{Agreement: true})
	var controls []timeline.Control
	if m, err := timeline.Load(timeline.NewDirSource(dir)); err == nil {
		controls = m.Controls()
	}
	analyze(&row, incs, rep, controls, idle, Window{t0.UnixMicro(), end.UnixMicro()})
	if span != nil {
		pa := AnalyzePause(incs, *span, end.UnixMicro(), complete, row.Stopped)
		row.Pause = &pa
	}
	cfg.Log("%s: done: agreement %s; %s", protocol, row.Agreement, row.Delivery())
	return row
}

// analyze fills in the measures that come from the logs.
// idle is when the lab stood idle before the workload, run when the
// workload ran (up to the end of the wait for deliveries).
func analyze(row *Row, incs []check.Incarnation, rep *check.Report, controls []timeline.Control, idle, run Window) {
	row.Agreement = FirstDivergence(incs)
	row.Agreement.withChecker(rep)
	if rep != nil {
		row.Verdict = rep.Verdict
	}
	row.Ordering, row.EndToEnd = Latencies(incs)
	row.Delivered = delivered(incs)
	row.WorkloadControls = WorkloadControls(controls, idle, run)
	row.ControlKinds = map[string]int{}
	for _, c := range controls {
		if run.has(c.Out) {
			row.ControlKinds[c.Kind]++
		}
	}
	if row.Delivered > 0 {
		row.ControlPerMsg = row.WorkloadControls / float64(row.Delivered)
		if row.AllControls >= 0 {
			row.AllControlPerMsg = float64(row.AllControls) / float64(row.Delivered)
		}
	}
}

// commonLeader is the leader most middlewares name (0: none).
func commonLeader(st map[int]status) int {
	votes := map[int]int{}
	best := 0
	for _, s := range st {
		if s.Leader > 0 {
			votes[s.Leader]++
			if votes[s.Leader] > votes[best] || (votes[s.Leader] == votes[best] && s.Leader < best) {
				best = s.Leader
			}
		}
	}
	return best
}

// stoppedWhy says why a run did not complete: what the status lines say
// is holding them up.
func stoppedWhy(st map[int]status, err error, everyone, total int) string {
	s := fmt.Sprintf("%d of %d delivered everywhere", everyone, total)
	if err != nil {
		return s + "; " + err.Error()
	}
	var whys []int
	for i, x := range st {
		if x.Waiting != "" {
			whys = append(whys, i)
		}
	}
	slices.Sort(whys)
	if len(whys) > 0 {
		s += fmt.Sprintf("; M%d: %s", whys[0], st[whys[0]].Waiting)
	}
	return s
}

// waitDelivered waits until every middleware in ids has delivered total
// messages (ready counts them), or until none delivered anything for
// stall (then complete is false), checking about every 100 ms. everyone
// is how many each had delivered at least.
func waitDelivered(ctx context.Context, ready func(mw int) (int, error), ids []int, total int, stall time.Duration, say func(string)) (complete bool, everyone int, err error) {
	last, since := -1, time.Now()
	lastSaid := time.Now()
	for {
		sum, least := 0, -1
		for _, i := range ids {
			n, err := ready(i)
			if err != nil {
				return false, 0, err
			}
			sum += n
			if least < 0 || n < least {
				least = n
			}
		}
		if least >= total {
			return true, least, nil
		}
		if sum != last {
			last, since = sum, time.Now()
		} else if time.Since(since) >= stall {
			say(fmt.Sprintf("no delivery for %s: stalled with %d of %d delivered everywhere", secs(stall), least, total))
			return false, least, nil
		}
		if time.Since(lastSaid) >= 5*time.Second {
			say(fmt.Sprintf("%d of %d delivered everywhere", least, total))
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
			return false, least, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Latencies are the latencies the table and the chart show: with a
// pause, at the middlewares not paused (see Pause.Ordering).
func (r Row) Latencies() (ordering, endToEnd check.Stats) {
	if r.Pause != nil {
		return r.Pause.Ordering, r.Pause.EndToEnd
	}
	return r.Ordering, r.EndToEnd
}

// Delivery is the table's last cell without a pause: whether everything
// was delivered everywhere, or where it stopped.
func (r Row) Delivery() string {
	switch {
	case r.Err != "":
		return r.Err
	case r.Complete:
		return fmt.Sprintf("all %d delivered everywhere", r.Sent)
	}
	return "stalled: " + r.Stopped
}
