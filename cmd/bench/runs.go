package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// bench holds what every run needs.
type bench struct {
	bin      string // netsim and headless middleware binaries
	logs     string // root of the runs' events logs
	keepLogs bool
	prog     *progress
	res      *results
}

// labSpec describes one lab for one run.
type labSpec struct {
	protocol string
	fsync    bool // -fsync: durable state flushed to disk before it is acted on
	// noAgreementCheck: -no-agreement-check, no live agreement digests.
	noAgreementCheck bool
	n                int
	maxSleep         time.Duration
	reuse            bool
	launch           func(i int) lab.MWLaunch
}

// outcome is what finishing a run yields.
type outcome struct {
	incs   []check.Incarnation
	report *check.Report
	// verdict is the checker's verdict, or for a protocol that orders
	// nothing what it found; failed says whether the run failed its check.
	verdict   string
	failed    bool
	unordered bool   // the protocol orders nothing: total order not required
	differ    int    // positions at which some two Ready lists differ
	logs      string // the events logs, if kept (-keep-logs, or a failure)
}

// startLab starts netsim and the middlewares and waits until the headless
// ones (headless: nil means all) have every control link up, so that
// start-up is not measured.
func (b *bench) startLab(ctx context.Context, name string, spec labSpec, headless []int) (*lab.Lab, string, error) {
	dir := filepath.Join(b.logs, slug(name))
	if err := os.RemoveAll(dir); err != nil {
		return nil, "", err
	}
	if spec.noAgreementCheck {
		if spec.launch != nil {
			return nil, "", errors.New("-no-agreement-check with a launcher of its own is not supported")
		}
		bin, err := b.noAgreementCheckBin(ctx)
		if err != nil {
			return nil, "", err
		}
		spec.launch = func(int) lab.MWLaunch { return lab.MWLaunch{Bin: bin} }
	}
	l, err := lab.Start(lab.Config{
		Bin: b.bin, Dir: dir, N: spec.n, Protocol: spec.protocol, Fsync: spec.fsync,
		MaxSleep: spec.maxSleep, Reuse: spec.reuse, Launch: spec.launch,
	})
	if err != nil {
		return nil, "", err
	}
	if headless == nil {
		headless = l.IDs()
	}
	b.prog.detail("waiting for control links")
	linkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := l.WaitLinked(linkCtx, headless); err != nil {
		l.Stop()
		return nil, "", err
	}
	return l, dir, nil
}

// finish waits until every middleware delivered want messages (within
// timeout), calls atEnd (if set) while the lab still runs, stops the lab
// and runs the order checker with agreement on. A protocol that orders
// nothing (orders false) is not held to total order: its outcome counts
// the positions whose messages differ, and only the checker's other
// properties can fail it.
func (b *bench) finish(ctx context.Context, l *lab.Lab, dir string, want int, timeout time.Duration, orders bool, atEnd func() error) (outcome, error) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := l.WaitReady(wctx, l.IDs(), want, func(least int) {
		b.prog.detail(fmt.Sprintf("delivered %d/%d everywhere", least, want))
	})
	if err == nil && atEnd != nil {
		err = atEnd()
	}
	l.Stop()
	if err != nil {
		return outcome{}, err
	}
	b.prog.detail("checking the order")
	var paths []string
	for _, i := range l.IDs() {
		paths = append(paths, l.LogPath(i))
	}
	incs, _, err := check.ParseFiles(paths)
	if err != nil {
		return outcome{}, err
	}
	rep, violation := check.Check(incs, check.Options{Agreement: true})
	if rep == nil {
		return outcome{}, violation
	}
	out := outcome{incs: incs, report: rep, verdict: rep.Verdict, failed: violation != nil}
	if !orders {
		out.unordered, out.differ = true, differingPositions(incs)
		out.verdict, out.failed = unorderedCell(out.differ), false
		for _, v := range rep.Violations {
			if v.Property != check.PropTotalOrder {
				out.verdict, out.failed = out.verdict+"; "+v.Error(), true
			}
		}
	}
	if b.keepLogs || out.failed {
		out.logs = dir
		return out, nil
	}
	os.RemoveAll(dir)
	return out, nil
}

// statusTotals asks every middleware of l for its status line once all
// was delivered: the control messages they sent, summed, and Middleware
// 1's agreement (what its status line says after "agreement=").
func statusTotals(l *lab.Lab) (controlSent int64, agreement string, err error) {
	for _, i := range l.IDs() {
		line, err := l.Status(i, 5*time.Second)
		if err != nil {
			return 0, "", err
		}
		if _, rest, ok := strings.Cut(line, " control-sent="); ok {
			f, _, _ := strings.Cut(rest, " ")
			n, _ := strconv.ParseInt(f, 10, 64)
			controlSent += n
		}
		if _, rest, ok := strings.Cut(line, " agreement="); ok && i == 1 {
			if _, q, ok := strings.Cut(rest, " "); ok {
				if s, err := strconv.QuotedPrefix(q); err == nil {
					agreement, _ = strconv.Unquote(s)
				}
			}
		}
	}
	return controlSent, agreement, nil
}

// noAgreementCheckBin is a launcher that starts the middleware with
// -no-agreement-check (internal/lab passes no extra flags): a shell script
// beside the binaries, written once. It checks first that the middleware
// built knows the flag.
func (b *bench) noAgreementCheckBin(ctx context.Context) (string, error) {
	path := filepath.Join(b.bin, "middleware-no-agreement-check")
	if exists(path) {
		return path, nil
	}
	mw := filepath.Join(b.bin, "middleware")
	help, _ := exec.CommandContext(ctx, mw, "-help").CombinedOutput()
	if !strings.Contains(string(help), "-no-agreement-check") {
		return "", errors.New("the middleware built has no -no-agreement-check flag: the agreement check's cost cannot be measured")
	}
	script := "#!/bin/sh\nexec \"$(dirname \"$0\")/middleware\" -no-agreement-check \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", err
	}
	return path, nil
}

// latencyRun measures delivery latency under a paced load: every
// middleware sends perSecond messages a second for duration.
func (b *bench) latencyRun(ctx context.Context, name, protocol string, fsync bool, maxSleep time.Duration, perSecond float64, duration time.Duration, keepSamples bool) (latencyRow, error) {
	row := latencyRow{Protocol: protocol, Fsync: fsync, MaxSleep: maxSleep, PerSecond: perSecond, Duration: duration}
	l, dir, err := b.startLab(ctx, name, labSpec{protocol: protocol, fsync: fsync, n: 5, maxSleep: maxSleep, reuse: true}, nil)
	if err != nil {
		return row, err
	}
	sent, err := paced(ctx, l, l.IDs(), perSecond, duration, func(sent int) {
		b.prog.detail(fmt.Sprintf("sent %d", sent))
	})
	if err != nil {
		l.Stop()
		return row, err
	}
	out, err := b.finish(ctx, l, dir, sent, 30*time.Second+3*maxSleep, core.Protocol(protocol).Orders(), nil)
	if err != nil {
		return row, err
	}
	row.Messages = sent
	row.Latency = out.report.Overall.Latency
	row.setVerdict(out)
	if keepSamples {
		row.samples, row.sendOrderSamples = deliverySamples(out.incs)
	}
	return row, nil
}

// throughputRun keeps every sender busy at maxSleep 0 for duration and
// measures deliveries per second per middleware after warmup, until the
// senders stop (the backlog keeps the pipeline full up to then).
func (b *bench) throughputRun(ctx context.Context, name string, spec labSpec, duration, warmup time.Duration) (throughputRow, error) {
	protocol, n, reuse := spec.protocol, spec.n, spec.reuse
	row := throughputRow{Protocol: protocol, Fsync: spec.fsync, N: n, Reuse: reuse, NoAgreementCheck: spec.noAgreementCheck}
	l, dir, err := b.startLab(ctx, name, spec, nil)
	if err != nil {
		return row, err
	}
	gen := newLoadGen(l, n, l.IDs(), backlogPerSender*n)
	limit := 0
	if !reuse {
		limit = perMessageLimit
	}
	show := func(delivered int) {
		b.prog.detail(fmt.Sprintf("requested %d, Middleware %d delivered %d", gen.total, gen.watch, delivered))
	}
	start := time.Now()
	err = gen.saturate(ctx, start.Add(warmup), limit, show)
	var cpuFrom []time.Duration
	if err == nil {
		cpuFrom, err = cpuTimes(l)
	}
	if err == nil {
		err = gen.saturate(ctx, start.Add(duration), limit, show)
	}
	stop := time.Now()
	var cpuTo []time.Duration
	if err == nil {
		cpuTo, err = cpuTimes(l)
	}
	if err != nil {
		l.Stop()
		return row, err
	}
	window := stop.Sub(start.Add(warmup)).Seconds()
	if window <= 0 {
		l.Stop()
		return row, fmt.Errorf("the senders stopped before the warm-up ended: nothing to measure")
	}
	row.NetCores = (cpuTo[0] - cpuFrom[0]).Seconds() / window
	row.HarnessCores = (cpuTo[n+1] - cpuFrom[n+1]).Seconds() / window
	for i := 1; i <= n; i++ {
		row.MWCores += (cpuTo[i] - cpuFrom[i]).Seconds() / window
		row.BusiestMWCores = max(row.BusiestMWCores, (cpuTo[i]-cpuFrom[i]).Seconds()/window)
	}
	out, err := b.finish(ctx, l, dir, gen.total, 2*time.Minute, core.Protocol(protocol).Orders(), func() error {
		b.prog.detail("reading the status lines")
		var err error
		row.ControlSent, row.AgreementStatus, err = statusTotals(l)
		return err
	})
	if err != nil {
		return row, err
	}
	row.Messages = gen.total
	row.Window = stop.Sub(start.Add(warmup))
	row.Ordered, row.OrderedMin = meanMin(readyRates(out.incs, start.Add(warmup).UnixMicro(), stop.UnixMicro()))
	row.Latency = out.report.Overall.Latency
	row.setVerdict(out)
	return row, nil
}

// memoryRun delivers messages (in total, from every sender) at maxSleep 0
// as fast as the lab goes, samples the resident memory of the middlewares
// measured (all when measure is nil) every sampleEvery deliveries, and
// reads it once more when every middleware delivered everything.
func (b *bench) memoryRun(ctx context.Context, name, protocol string, messages, sampleEvery int, spec labSpec, headless, senders, measure []int) (memoryRow, error) {
	row := memoryRow{Protocol: protocol, Kind: "headless", Messages: messages}
	spec.protocol, spec.n, spec.reuse = protocol, 5, true
	l, dir, err := b.startLab(ctx, name, spec, headless)
	if err != nil {
		return row, err
	}
	if measure == nil {
		measure = l.IDs()
	}
	for _, i := range measure {
		rss, _, err := lab.RSS(l.PID(i))
		if err != nil {
			l.Stop()
			return row, err
		}
		row.Idle = max(row.Idle, rss)
	}
	gen := newLoadGen(l, senders[len(senders)-1], senders, backlogPerSender*spec.n)
	smp := &rssSampler{lab: l, measure: measure, every: sampleEvery, next: sampleEvery}
	gen.observe = smp.observe
	if spec.launch != nil {
		row.Kind = "window"
		// The window reads stdin commands only in newer builds: if it
		// does not answer a send, the headless ones send everything.
		if sends, err := b.probeSend(ctx, l, measure[0]); err != nil {
			l.Stop()
			return row, err
		} else if sends {
			gen.senders = l.IDs()
			gen.total = 1
			row.Note = "the window sent its share through stdin"
		} else {
			row.Note = fmt.Sprintf("the window only received: it does not read stdin commands (yet); Middlewares %s sent", joinInts(senders))
		}
	}
	err = gen.saturate(ctx, time.Now().Add(10*time.Minute), messages, func(delivered int) {
		b.prog.detail(fmt.Sprintf("requested %d, Middleware %d delivered %d", gen.total, gen.watch, delivered))
	})
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err = l.WaitReady(wctx, l.IDs(), messages, func(least int) {
			b.prog.detail(fmt.Sprintf("delivered %d/%d everywhere", least, messages))
			if smp.err == nil && least < messages { // the last sample is taken below
				smp.observe(least)
			}
		})
		cancel()
	}
	if err == nil {
		err = smp.err
	}
	if err != nil {
		l.Stop()
		return row, err
	}
	if row.Kind == "window" {
		// The window renders from the node's events on its own schedule:
		// give it a moment to catch up before measuring.
		b.prog.detail("letting the window catch up")
		time.Sleep(2 * time.Second)
	}
	for _, i := range measure {
		rss, peak, err := lab.RSS(l.PID(i))
		if err != nil {
			l.Stop()
			return row, err
		}
		if rss > row.RSS {
			row.RSS, row.MW = rss, i
		}
		row.Peak = max(row.Peak, peak)
	}
	if k := len(smp.samples); k > 0 && smp.samples[k-1].Delivered >= messages {
		smp.samples = smp.samples[:k-1] // the sample below replaces it
	}
	row.Samples = append(smp.samples, rssSample{Delivered: messages, RSS: row.RSS})
	out, err := b.finish(ctx, l, dir, messages, time.Minute, core.Protocol(protocol).Orders(), nil)
	if err != nil {
		return row, err
	}
	row.setVerdict(out)
	return row, nil
}

// cpuTimes reads the processor time used so far by the network program
// (index 0), each middleware (1…n) and this program (n+1, which tails the
// logs and drives the senders).
func cpuTimes(l *lab.Lab) ([]time.Duration, error) {
	out := make([]time.Duration, len(l.IDs())+2)
	for i := range out {
		pid := os.Getpid() // the harness itself, last
		if i < len(out)-1 {
			pid = l.PID(i)
		}
		d, err := lab.CPUTime(pid)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// probeSend asks middleware i to send one message and reports whether it
// did within a few seconds.
func (b *bench) probeSend(ctx context.Context, l *lab.Lab, i int) (bool, error) {
	b.prog.detail(fmt.Sprintf("does Middleware %d take stdin commands?", i))
	if err := l.Send(i, 1); err != nil {
		return false, nil // stdin closed: it does not read commands
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		c, err := l.Counts(i)
		if err != nil {
			return false, err
		}
		if c.Sent > 0 {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false, nil
}

// backlogPerSender bounds the messages a sender lets pile up ahead of its
// own deliveries: enough to keep the pipeline busy between two polls
// (every few ms), small enough that latency under saturation stays a
// fraction of a second.
const backlogPerSender = 1000

// perMessageLimit caps the messages of a run with one connection per
// message: every copy to a middleware takes a fresh connection from the
// same 127.0.0.1 to the same port, whose local port then stays in
// TIME_WAIT for a minute, and Linux has about 28,000 local ports
// (32768–60999). Beyond that, connecting fails and copies are lost.
const perMessageLimit = 20_000

// sendChunk is how many messages one "send K" asks for.
const sendChunk = 250

// rssSampler records the largest resident memory among the measured
// middlewares each time the deliveries observed pass a multiple of every.
// The first error stops it and stays in err.
type rssSampler struct {
	lab     *lab.Lab
	measure []int
	every   int // 0: no samples along the run
	next    int // deliveries at which the next sample is due
	samples []rssSample
	err     error
}

// observe takes a sample if delivered passed the next multiple of every.
func (s *rssSampler) observe(delivered int) error {
	if s.err != nil || s.every <= 0 || delivered < s.next {
		return s.err
	}
	var largest int64
	for _, i := range s.measure {
		rss, _, err := lab.RSS(s.lab.PID(i))
		if err != nil {
			s.err = fmt.Errorf("Middleware %d: reading its memory: %w", i, err)
			return s.err
		}
		largest = max(largest, rss)
	}
	s.samples = append(s.samples, rssSample{Delivered: delivered, RSS: largest})
	for s.next <= delivered {
		s.next += s.every
	}
	return nil
}

// loadGen drives the senders of a lab with stdin commands.
type loadGen struct {
	lab *lab.Lab
	// watch is the middleware whose deliveries pace the senders. Every
	// middleware delivers the same messages at about the same pace, and
	// tailing one log instead of all keeps this program's share of the
	// processor small (it reads every line it tails).
	watch   int
	senders []int
	backlog int // messages requested but not yet delivered at watch
	total   int // messages requested so far
	// observe, if set, is told watch's deliveries at every poll; an error
	// ends saturate.
	observe func(delivered int) error
}

func newLoadGen(l *lab.Lab, watch int, senders []int, backlog int) *loadGen {
	return &loadGen{lab: l, watch: watch, senders: senders, backlog: backlog}
}

// saturate keeps the senders busy until the deadline or until limit
// messages (0: no limit) have been requested: each sender is asked for
// another chunk while fewer than backlog of all requested messages are
// undelivered at the watched middleware, so the load follows what the
// pipeline can take instead of piling up without bound.
func (g *loadGen) saturate(ctx context.Context, until time.Time, limit int, progress func(delivered int)) error {
	lastProgress := time.Time{}
	for time.Now().Before(until) && (limit == 0 || g.total < limit) {
		c, err := g.lab.Counts(g.watch)
		if err != nil {
			return err
		}
		if g.observe != nil {
			if err := g.observe(c.Ready); err != nil {
				return err
			}
		}
		for _, i := range g.senders {
			k := sendChunk
			if limit > 0 {
				k = min(k, limit-g.total)
			}
			if k <= 0 || g.total-c.Ready >= g.backlog {
				continue
			}
			if err := g.lab.Send(i, k); err != nil {
				return fmt.Errorf("Middleware %d: send: %w", i, err)
			}
			g.total += k
		}
		if progress != nil && time.Since(lastProgress) > 100*time.Millisecond {
			progress(c.Ready)
			lastProgress = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// paced makes each sender send perSecond messages a second for duration,
// the senders' sends evenly interleaved (not in lockstep), and returns
// how many were sent in all.
func paced(ctx context.Context, l *lab.Lab, senders []int, perSecond float64, duration time.Duration, progress func(sent int)) (int, error) {
	if perSecond <= 0 || len(senders) == 0 {
		return 0, errors.New("paced: nothing to send")
	}
	interval := time.Duration(float64(time.Second) / perSecond / float64(len(senders)))
	total := int(duration.Seconds()*perSecond) * len(senders)
	start := time.Now()
	lastProgress := start
	for k := 0; k < total; k++ {
		if wait := time.Until(start.Add(time.Duration(k) * interval)); wait > 0 {
			select {
			case <-ctx.Done():
				return k, ctx.Err()
			case <-time.After(wait):
			}
		}
		if err := l.Send(senders[k%len(senders)], 1); err != nil {
			return k, err
		}
		if progress != nil && time.Since(lastProgress) > 100*time.Millisecond {
			progress(k + 1)
			lastProgress = time.Now()
		}
	}
	return total, nil
}

// slug turns a step name into a directory name.
func slug(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '_'
	}, name)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
