// Command bench measures the lab on real processes over loopback, for each
// protocol (core.Protocols: raft, then the sequencer, ISIS and Lamport
// baselines, and none as the unordered floor): latency against the
// checker's send-order reference and content-arrival lower bound, ordered
// throughput against the raw relay, scaling with n, memory along a long
// run, raft with and without -fsync and with and without its live
// agreement check, and the time raft takes to resume after its leader is
// killed. It prints tables and writes a Markdown report (its prose in
// report.md.tmpl), results.json and PNG plots.
//
//	bench [-quick] [-only latency|throughput|scale|memory|agreement|failover] [-protocol P] [-out bench/results] [-keep-logs]
//
// Every run is verified by the order checker (agreement on); a failed
// check or run is reported loudly and makes the command exit 1. A
// protocol that orders nothing (none) is measured for latency only and is
// not held to total order: its runs report how many positions differ.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"totalorder/internal/lab"
	"totalorder/internal/version"
	"totalorder/internal/xvfb"
	"totalorder/middleware/core"
)

// plan is what one invocation measures.
type plan struct {
	quick           bool
	latencySleeps   []time.Duration
	latencyDuration time.Duration
	// The throughput runs send for throughputDuration and measure after
	// warmup until the senders stop.
	throughputDuration, warmup time.Duration
	modes                      []bool // connection reuse on/off
	scaleNs                    []int
	memoryMessages             int
	memorySampleEvery          int // deliveries between two memory samples
	windowMessages             int // the window's memory run (0: none)
	failovers                  int // raft leader crashes measured
	// The agreement check's cost: raft saturated with and without it,
	// agreementPairs times each (odd, for a median that is a pair's),
	// alternating which goes first.
	agreementPairs                     int
	agreementDuration, agreementWarmup time.Duration
}

func newPlan(quick bool) plan {
	if quick {
		return plan{
			quick: true,
			// The scale runs are left out: each would be one more
			// saturated run as in the throughput section.
			latencySleeps: []time.Duration{100 * time.Millisecond}, latencyDuration: 1500 * time.Millisecond,
			throughputDuration: time.Second, warmup: 300 * time.Millisecond,
			modes: []bool{true}, memoryMessages: 100_000, memorySampleEvery: 20_000, failovers: 1,
			agreementPairs: 5, agreementDuration: 2 * time.Second, agreementWarmup: 500 * time.Millisecond,
		}
	}
	return plan{
		latencySleeps:   []time.Duration{0, 100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second},
		latencyDuration: 10 * time.Second, throughputDuration: 8 * time.Second, warmup: 2 * time.Second,
		modes: []bool{true, false}, scaleNs: []int{3, 5, 9, 16},
		memoryMessages: memoryTargetCount, memorySampleEvery: memoryTargetCount / 10, windowMessages: windowMessages,
		failovers:      5,
		agreementPairs: 7, agreementDuration: 6 * time.Second, agreementWarmup: 1500 * time.Millisecond,
	}
}

// step is one measurement.
type step struct {
	name string
	run  func(ctx context.Context) (summary string, err error)
}

var sections = []string{"latency", "throughput", "scale", "memory", "agreement", "failover"}

func main() {
	quick := flag.Bool("quick", false, "fewer points and shorter runs (a few minutes)")
	only := flag.String("only", "", "run one section: "+strings.Join(sections, ", "))
	out := flag.String("out", filepath.Join("bench", "results"), "where report.md, results.json and the plots go")
	keepLogs := flag.Bool("keep-logs", false, "keep every run's events logs (logs of a failed check are always kept)")
	protocol := flag.String("protocol", "", "measure one protocol only: "+strings.Join(protocols, ", ")+" (default: all)")
	version.Flag(nil, "bench")
	flag.Parse()
	if *protocol != "" {
		p, err := core.ParseProtocol(*protocol)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: -protocol: %v\n", err)
			os.Exit(2)
		}
		protocols = []string{string(p)}
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q (see -help)\n", flag.Arg(0))
		os.Exit(2)
	}
	if *only != "" && !slices.Contains(sections, *only) {
		fmt.Fprintf(os.Stderr, "bench: -only %q: want one of %s\n", *only, strings.Join(sections, ", "))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, newPlan(*quick), *only, *out, *keepLogs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	os.Exit(code)
}

// run measures what p and only select, reports, and returns the exit
// code: 1 when any run failed or any order check failed.
func run(ctx context.Context, p plan, only, outDir string, keepLogs bool) (int, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return 1, err
	}
	tmp, err := os.MkdirTemp("", "lab-bench-")
	if err != nil {
		return 1, err
	}
	b := &bench{bin: filepath.Join(tmp, "bin"), logs: filepath.Join(tmp, "logs"), keepLogs: keepLogs}
	defer func() {
		os.RemoveAll(b.bin)
		os.RemoveAll(filepath.Join(tmp, "window"))
		// Runs that passed removed their logs (unless -keep-logs): what
		// is left is worth reading, so only empty directories go.
		os.Remove(b.logs)
		if os.Remove(tmp) != nil {
			fmt.Fprintf(os.Stderr, "events logs kept in %s\n", b.logs)
		}
	}()
	fmt.Fprintln(os.Stderr, "building the network program and the middleware (-tags nogui)…")
	if err := lab.Build(ctx, b.bin); err != nil {
		return 1, err
	}

	res := &results{Quick: p.quick, Started: time.Now(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(),
		StateFS: fsType(tmp)}
	b.res = res
	steps := planSteps(b, p, only, tmp)
	b.prog = newProgress(os.Stderr, len(steps))
	for k, st := range steps {
		if ctx.Err() != nil {
			break
		}
		b.prog.begin(k+1, st.name)
		rec := stepRecord{Name: st.name, LoadFrom: loadAverage()}
		start := time.Now()
		stepCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		summary, err := st.run(stepCtx)
		cancel()
		rec.Elapsed, rec.LoadTo = time.Since(start), loadAverage()
		if err != nil {
			rec.Error = err.Error()
			f := failure{Step: st.name, What: "run failed: " + err.Error()}
			if logs := filepath.Join(b.logs, slug(st.name)); exists(logs) {
				f.Logs = logs
			}
			res.Failures = append(res.Failures, f)
			summary = "FAILED: " + err.Error()
		}
		res.Steps = append(res.Steps, rec)
		b.prog.end(summary)
	}
	finishScale(res)

	if err := writeTables(os.Stdout, res); err != nil {
		return 1, err
	}
	plots, err := writePlots(outDir, res)
	if err != nil {
		return 1, err
	}
	if err := writeFile(filepath.Join(outDir, "report.md"), func(f *os.File) error {
		return writeMarkdown(f, res, plots)
	}); err != nil {
		return 1, err
	}
	if err := writeFile(filepath.Join(outDir, "results.json"), func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}); err != nil {
		return 1, err
	}
	fmt.Printf("\nreport: %s", filepath.Join(outDir, "report.md"))
	for _, name := range slices.Sorted(maps.Keys(plots)) {
		fmt.Printf(", %s", filepath.Join(outDir, name))
	}
	fmt.Println()
	if ctx.Err() != nil {
		return 1, fmt.Errorf("interrupted after %d of %d steps", len(res.Steps), len(steps))
	}
	if len(res.Failures) > 0 {
		fmt.Fprintf(os.Stderr, "\n!!! %d FAILURE(S) !!!\n", len(res.Failures))
		for _, f := range res.Failures {
			fmt.Fprintf(os.Stderr, "!!! %s: %s", f.Step, f.What)
			if f.Logs != "" {
				fmt.Fprintf(os.Stderr, " (events logs in %s)", f.Logs)
			}
			fmt.Fprintln(os.Stderr)
		}
		return 1, nil
	}
	return 0, nil
}

// planSteps lists the measurements of p (one section if only is set).
// Every section measures raft first, then the baselines; none, which
// orders nothing, only in the latency section (the floor).
func planSteps(b *bench, p plan, only, tmp string) []step {
	res := b.res
	want := func(section string) bool { return only == "" || only == section }
	var steps []step
	add := func(name string, run func(ctx context.Context) (string, error)) {
		steps = append(steps, step{name, run})
	}
	failed := func(name string, v verdict) {
		if v.Failed {
			res.Failures = append(res.Failures, failure{Step: name, What: "ORDER CHECK FAILED: " + v.Verdict, Logs: v.Logs})
		}
	}
	// A run that fails still gets its row, marked, so tables show the gap.
	failedRun := verdict{Verdict: runFailed, Failed: true}
	ordering := orderingProtocols(protocols)
	if len(ordering) < len(protocols) && only != "latency" {
		res.Notes = append(res.Notes, "A protocol that orders nothing (none) is measured for latency only, as the floor: "+
			"throughput, scale and memory are compared between protocols that order.")
	}

	if want("latency") {
		res.CDFMaxSleep = p.latencySleeps[len(p.latencySleeps)-1]
		if slices.Contains(p.latencySleeps, 500*time.Millisecond) {
			res.CDFMaxSleep = 500 * time.Millisecond
		}
		type load struct {
			maxSleep  time.Duration
			perSecond float64
			fsync     bool
		}
		for _, protocol := range protocols {
			var loads []load
			for _, s := range p.latencySleeps {
				loads = append(loads, load{s, moderatePerSecond, false})
			}
			loads = append(loads, load{0, lightPerSecond, false})
			if protocol == protocolRaft {
				loads = append(loads, load{0, lightPerSecond, true}) // what -fsync costs
			}
			for _, ld := range loads {
				name := fmt.Sprintf("%s latency maxSleep=%s %g msg/s", label(protocol, ld.fsync), sleepName(ld.maxSleep), ld.perSecond)
				add(name, func(ctx context.Context) (string, error) {
					keep := ld.maxSleep == res.CDFMaxSleep && ld.perSecond == moderatePerSecond && !ld.fsync
					row, err := b.latencyRun(ctx, name, protocol, ld.fsync, ld.maxSleep, ld.perSecond, p.latencyDuration, keep)
					if err != nil {
						row.verdict = failedRun
						res.Latency = append(res.Latency, row)
						return "", err
					}
					res.Latency = append(res.Latency, row)
					failed(name, row.verdict)
					l := row.Latency
					return fmt.Sprintf("mean %s ms, p50 %s, p99 %s; send-order reference %s ms (mean %s of it); check %s",
						ms(l.Ready.Mean), ms(l.Ready.P50), ms(l.Ready.P99), ms(l.SendOrder.Mean), ratio(l.Ratio), row.checkCell()), nil
				})
			}
		}
	}

	throughput := func(name string, spec labSpec, duration, warmup time.Duration, into *[]throughputRow, pair int) {
		add(name, func(ctx context.Context) (string, error) {
			row, err := b.throughputRun(ctx, name, spec, duration, warmup)
			row.Pair = pair
			if err == nil && pair > 0 {
				// The flag must have done what it says: digests exchanged
				// with the check on, none without.
				if agreed := strings.HasPrefix(row.AgreementStatus, "same order as"); agreed == spec.noAgreementCheck {
					err = fmt.Errorf("agreement check %s, yet Middleware 1's status says %q", onOff(!spec.noAgreementCheck), row.AgreementStatus)
				}
			}
			if err != nil {
				row.verdict = failedRun
				*into = append(*into, row)
				return "", err
			}
			*into = append(*into, row)
			failed(name, row.verdict)
			return fmt.Sprintf("%s deliveries/s per middleware (slowest %s), p99 %s ms, %.2f control messages per message; check %s",
				count(row.Ordered), count(row.OrderedMin), ms(row.Latency.Ready.P99), row.controlPerMessage(), row.checkCell()), nil
		})
	}
	saturated := func(protocol string, fsync bool, n int, reuse bool, into *[]throughputRow) {
		name := fmt.Sprintf("%s throughput n=%d %s", label(protocol, fsync), n, modeName(reuse))
		throughput(name, labSpec{protocol: protocol, fsync: fsync, n: n, reuse: reuse}, p.throughputDuration, p.warmup, into, 0)
	}
	if want("throughput") {
		for _, reuse := range p.modes {
			for _, protocol := range ordering {
				saturated(protocol, false, 5, reuse, &res.Throughput)
				if protocol == protocolRaft && reuse {
					saturated(protocol, true, 5, reuse, &res.Throughput) // what -fsync costs
				}
			}
			if len(ordering) == 0 {
				continue
			}
			add("raw relay "+modeName(reuse), func(ctx context.Context) (string, error) {
				// As many messages as the larger ordered run of this mode.
				messages := 0
				for _, r := range res.Throughput {
					if r.Reuse == reuse {
						messages = max(messages, r.Messages)
					}
				}
				if messages == 0 {
					return "", fmt.Errorf("no ordered run to match")
				}
				raw, err := relayCeiling(ctx, b.bin, reuse, 5, 5, messages, b.prog.detail)
				if err != nil {
					return "", err
				}
				for i := range res.Throughput {
					if res.Throughput[i].Reuse == reuse {
						res.Throughput[i].Raw = raw
					}
				}
				return fmt.Sprintf("%s copies/s per sink (%s messages)", count(raw), count(float64(messages))), nil
			})
		}
	}
	if want("scale") && len(p.scaleNs) == 0 && only != "scale" {
		res.Notes = append(res.Notes, "The scale runs (several n) are in the full run only.")
	}
	if want("scale") {
		ns := p.scaleNs
		if len(ns) == 0 && only == "scale" { // asked for by name in -quick: a short version
			ns = []int{3, 5}
		}
		for _, protocol := range ordering {
			for _, n := range ns {
				if n == 5 && want("throughput") && slices.Contains(p.modes, true) {
					continue // the throughput section's reuse run is this point
				}
				saturated(protocol, false, n, true, &res.Scale)
			}
		}
	}

	if want("memory") {
		for _, protocol := range ordering {
			name := fmt.Sprintf("%s memory headless %s messages", protocol, count(float64(p.memoryMessages)))
			add(name, func(ctx context.Context) (string, error) {
				row, err := b.memoryRun(ctx, name, protocol, p.memoryMessages, p.memorySampleEvery, labSpec{}, nil, []int{1, 2, 3, 4, 5}, nil)
				if err != nil {
					row.verdict = failedRun
					res.Memory = append(res.Memory, row)
					return "", err
				}
				res.Memory = append(res.Memory, row)
				failed(name, row.verdict)
				first, last, peak, perMessage := row.growth()
				return fmt.Sprintf("RSS %s MB (Middleware %d); along the run %s → %s MB, largest sample %s MB (%+.0f B/message); check %s",
					mb(row.RSS), row.MW, mb(first.RSS), mb(last.RSS), mb(peak.RSS), perMessage, row.checkCell()), nil
			})
		}
		switch _, err := exec.LookPath("Xvfb"); {
		case !slices.Contains(protocols, protocolRaft):
		case p.windowMessages == 0:
			res.Notes = append(res.Notes, "The window's memory is measured in the full run only.")
		case err != nil:
			res.Notes = append(res.Notes, "Xvfb is not installed: the window's memory was not measured (apt-get install xvfb).")
		default:
			name := fmt.Sprintf("%s memory window %s messages", protocolRaft, count(float64(p.windowMessages)))
			add(name, func(ctx context.Context) (string, error) {
				row, err := b.windowMemory(ctx, name, p.windowMessages, p.windowMessages/10, filepath.Join(tmp, "window"))
				if err != nil {
					row.verdict = failedRun
					res.Memory = append(res.Memory, row)
					return "", err
				}
				res.Memory = append(res.Memory, row)
				failed(name, row.verdict)
				return fmt.Sprintf("RSS %s MB, peak %s MB; check %s", mb(row.RSS), mb(row.Peak), row.checkCell()), nil
			})
		}
	}
	if want("agreement") && slices.Contains(protocols, protocolRaft) {
		// Raft saturated with and without its live agreement check, in
		// pairs; which goes first alternates, so a drift in the machine's
		// load over a pair (other work starting or ending) falls on each
		// side as often.
		for k := 1; k <= p.agreementPairs; k++ {
			order := []bool{false, true} // noAgreementCheck
			if k%2 == 0 {
				order = []bool{true, false}
			}
			for _, off := range order {
				name := fmt.Sprintf("%s agreement check %s, pair %d of %d", protocolRaft, onOff(!off), k, p.agreementPairs)
				throughput(name, labSpec{protocol: protocolRaft, n: 5, reuse: true, noAgreementCheck: off},
					p.agreementDuration, p.agreementWarmup, &res.Agreement, k)
			}
		}
	}
	if want("failover") {
		// Only a fault-tolerant protocol with a leader fails over (raft):
		// the others stop by design when a member dies, so there is
		// nothing of theirs to time.
		for _, protocol := range ordering {
			if !failsOver(protocol) {
				continue
			}
			for k := 1; k <= p.failovers; k++ {
				name := fmt.Sprintf("%s leader fail-over %d of %d", protocol, k, p.failovers)
				add(name, func(ctx context.Context) (string, error) {
					dir := filepath.Join(b.logs, slug(name))
					r, err := lab.MeasureFailover(ctx, lab.Config{Bin: b.bin, Dir: dir, Protocol: protocol,
						N: 5, Reuse: true, MaxSleep: 100 * time.Millisecond})
					row := failoverRow{Protocol: protocol, Resume: r.Resume, InFlight: r.InFlight, InFlightDone: r.InFlightDone, Verdict: r.Verdict}
					if err != nil {
						row.Verdict = runFailed
						res.Failover = append(res.Failover, row)
						return "", err // the logs stay for the failure report
					}
					res.Failover = append(res.Failover, row)
					if !b.keepLogs {
						os.RemoveAll(dir)
					}
					return fmt.Sprintf("deliveries resumed %s ms after the kill; %d messages were in flight, the last delivered %s ms after the kill; check %s", ms(r.Resume), r.InFlight, ms(r.InFlightDone), r.Verdict), nil
				})
			}
		}
	}
	return steps
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// failsOver reports whether the protocol goes on when its leader is
// killed, which the fail-over section times.
func failsOver(p string) bool {
	return core.Protocol(p).FaultTolerant() && core.Protocol(p).HasLeader()
}

// orderingProtocols keeps the protocols that order (all but none).
func orderingProtocols(ps []string) []string {
	var out []string
	for _, p := range ps {
		if core.Protocol(p).Orders() {
			out = append(out, p)
		}
	}
	return out
}

// windowMemory runs Middleware 1 as the real window under an Xvfb of its
// own and measures its memory once every middleware delivered messages.
func (b *bench) windowMemory(ctx context.Context, name string, messages, sampleEvery int, binDir string) (memoryRow, error) {
	b.prog.detail("building the middleware with its window (cgo)")
	if err := lab.BuildWindow(ctx, binDir); err != nil {
		return memoryRow{}, err
	}
	b.prog.detail("starting Xvfb")
	x, err := xvfb.Start(1280, 1024)
	if err != nil {
		return memoryRow{}, err
	}
	defer x.Stop()
	spec := labSpec{launch: func(i int) lab.MWLaunch {
		if i != 1 {
			return lab.MWLaunch{}
		}
		return lab.MWLaunch{Bin: filepath.Join(binDir, "middleware"), Window: true, Env: []string{"DISPLAY=" + x.Display}}
	}}
	return b.memoryRun(ctx, name, protocolRaft, messages, sampleEvery, spec, []int{2, 3, 4, 5}, []int{2, 3, 4, 5}, []int{1})
}

// finishScale adds the throughput section's n=5 reuse rows (without
// -fsync) to the scale section where it skipped that point, and orders
// the rows by protocol and n.
func finishScale(res *results) {
	for _, r := range res.Throughput {
		if r.Reuse && !r.Fsync && r.N == 5 && len(res.Scale) > 0 &&
			!slices.ContainsFunc(res.Scale, func(s throughputRow) bool { return s.Protocol == r.Protocol && s.N == 5 }) {
			res.Scale = append(res.Scale, r)
		}
	}
	slices.SortStableFunc(res.Scale, func(a, b throughputRow) int {
		if a.Protocol != b.Protocol {
			return slices.Index(protocols, a.Protocol) - slices.Index(protocols, b.Protocol)
		}
		return a.N - b.N
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadAverage is the 1-minute load average (0 where /proc is missing).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func writeFile(path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
