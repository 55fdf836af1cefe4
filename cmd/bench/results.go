package main

import (
	"fmt"
	"time"

	"totalorder/middleware/check"
)

// results is everything one benchmark run measured; it is rendered as
// tables, the Markdown report, the plots and results.json.
type results struct {
	Quick     bool      `json:"quick"`
	Started   time.Time `json:"started"`
	Cores     int       `json:"cores"`
	GoVersion string    `json:"go_version"`

	Latency    []latencyRow    `json:"latency"`
	Throughput []throughputRow `json:"throughput"` // n = 5, both connection modes
	Scale      []throughputRow `json:"scale"`      // reuse mode, several n
	Memory     []memoryRow     `json:"memory"`
	Failover   []failoverRow   `json:"failover"`
	// Agreement is raft saturated with and without the live agreement
	// check (-no-agreement-check), in pairs run one after the other.
	Agreement []throughputRow `json:"agreement_check"`
	Steps     []stepRecord    `json:"steps"`
	// CDFMaxSleep is the maxSleep of the runs plotted in latency-cdf.png.
	CDFMaxSleep time.Duration `json:"cdf_max_sleep_ns"`
	// StateFS is the file system the middlewares' durable state was on
	// (what -fsync flushes to), e.g. "ext4" or "tmpfs"; "" if unknown.
	StateFS  string    `json:"state_fs,omitempty"`
	Notes    []string  `json:"notes,omitempty"`    // what was skipped and why
	Failures []failure `json:"failures,omitempty"` // failed checks and runs
}

// failure is a run that failed or did not pass the order checker.
type failure struct {
	Step string `json:"step"`
	What string `json:"what"`
	// Logs is where the run's events logs were kept: a temporary
	// directory of this machine, shown on the terminal only.
	Logs string `json:"-"`
}

// runFailed is the verdict of a run that ended in an error.
const runFailed = "run failed"

// verdict is the order checker's outcome for one run.
type verdict struct {
	Verdict string `json:"verdict"`
	Failed  bool   `json:"failed"`
	// Unordered: the protocol orders nothing (none), so the run was not
	// held to total order; Differ counts the positions at which some two
	// middlewares' Ready lists differ.
	Unordered bool   `json:"unordered,omitempty"`
	Differ    int    `json:"positions_differ,omitempty"`
	Logs      string `json:"-"` // kept events logs (this machine's temporary directory)
}

func (v *verdict) setVerdict(o outcome) {
	v.Verdict, v.Failed, v.Logs = o.verdict, o.failed, o.logs
	v.Unordered, v.Differ = o.unordered, o.differ
}

// checkCell is the verdict in a table cell.
func (v verdict) checkCell() string {
	switch {
	case v.Verdict == "":
		return "-"
	case v.Failed && v.Verdict == runFailed:
		return runFailed
	case v.Failed:
		return "FAILED"
	case v.Unordered:
		return unorderedCell(v.Differ)
	}
	return "ok"
}

// unorderedCell is the check of a run without ordering: not a pass or a
// failure, a count.
func unorderedCell(differ int) string {
	if differ == 1 {
		return "unordered, 1 position differs"
	}
	return fmt.Sprintf("unordered, %d positions differ", differ)
}

// latencyRow is one latency run: five senders at a steady pace.
type latencyRow struct {
	Protocol  string        `json:"protocol"`
	Fsync     bool          `json:"fsync,omitempty"` // the middlewares ran with -fsync
	MaxSleep  time.Duration `json:"max_sleep_ns"`
	PerSecond float64       `json:"per_second_per_sender"`
	Duration  time.Duration `json:"duration_ns"`
	Messages  int           `json:"messages"`
	Latency   check.Latency `json:"latency"`
	verdict
	samples, sendOrderSamples []time.Duration // for the CDF plot
}

// throughputRow is one saturated run.
type throughputRow struct {
	Protocol string `json:"protocol"`
	Fsync    bool   `json:"fsync,omitempty"` // the middlewares ran with -fsync
	N        int    `json:"n"`
	Reuse    bool   `json:"reuse"`
	Messages int    `json:"messages"`
	// Window is the steady part of the run the rates are measured over.
	Window time.Duration `json:"window_ns"`
	// Ordered is deliveries per second per middleware, the mean over the
	// middlewares; OrderedMin the slowest middleware's.
	Ordered    float64 `json:"ordered_per_s"`
	OrderedMin float64 `json:"ordered_min_per_s"`
	// Raw is the relay ceiling: copies per second per counting sink for
	// the same number of messages with no ordering (0: not measured).
	Raw float64 `json:"raw_per_s"`
	// Processor use during the window, in cores: every middleware
	// together, the busiest one, the network program, and this program.
	MWCores        float64       `json:"mw_cores"`
	BusiestMWCores float64       `json:"busiest_mw_cores"`
	NetCores       float64       `json:"net_cores"`
	HarnessCores   float64       `json:"harness_cores"`
	Latency        check.Latency `json:"latency"`
	// ControlSent is the control messages every middleware sent in the
	// whole run, summed (the status lines' control-sent; 0: not known).
	ControlSent int64 `json:"control_sent,omitempty"`
	// NoAgreementCheck: the middlewares ran with -no-agreement-check;
	// Pair numbers the agreement-check cost runs (0 elsewhere), and
	// AgreementStatus is Middleware 1's agreement once all was delivered.
	NoAgreementCheck bool   `json:"no_agreement_check,omitempty"`
	Pair             int    `json:"pair,omitempty"`
	AgreementStatus  string `json:"agreement_status,omitempty"`
	verdict
}

// cpuPerMessage is the middlewares' processor time (all of them
// together) per message delivered, over the measured window.
func (r throughputRow) cpuPerMessage() time.Duration {
	if r.Ordered <= 0 {
		return 0
	}
	return time.Duration(r.MWCores / r.Ordered * float64(time.Second))
}

// controlPerMessage is the control messages sent, by all middlewares
// together, per message multicast (0: not known).
func (r throughputRow) controlPerMessage() float64 {
	if r.Messages == 0 {
		return 0
	}
	return float64(r.ControlSent) / float64(r.Messages)
}

// memoryRow is the resident memory of middlewares after a run.
type memoryRow struct {
	Protocol string `json:"protocol"`
	Kind     string `json:"kind"` // "headless" or "window"
	Messages int    `json:"messages"`
	Idle     int64  `json:"idle_rss_bytes"` // largest VmRSS before the first message
	RSS      int64  `json:"rss_bytes"`      // VmRSS of the largest measured middleware
	MW       int    `json:"mw"`             // which one that was
	Peak     int64  `json:"peak_bytes"`     // largest VmHWM among them
	// Samples is the resident memory along the run, the largest VmRSS
	// among the measured middlewares every so many deliveries, the last
	// one once every middleware delivered everything: whether memory
	// stays flat shows here.
	Samples []rssSample `json:"samples,omitempty"`
	Note    string      `json:"note,omitempty"`
	verdict
}

// rssSample is the resident memory once a number of messages were
// delivered.
type rssSample struct {
	Delivered int   `json:"delivered"`
	RSS       int64 `json:"rss_bytes"`
}

// growth is how the resident memory grew over the second half of the run,
// once the fixed-size windows (the raft log kept behind a snapshot, the
// last positions kept for catching up, the garbage collector's headroom)
// have filled: first (the first sample at or past half the messages),
// last, the largest sample, and bytes per message delivered in between (0
// with fewer than two samples).
func (r memoryRow) growth() (first, last, peak rssSample, perMessage float64) {
	if len(r.Samples) == 0 {
		return
	}
	last = r.Samples[len(r.Samples)-1]
	first = r.Samples[0]
	for _, s := range r.Samples {
		if 2*s.Delivered >= last.Delivered {
			first = s
			break
		}
	}
	for _, s := range r.Samples {
		if s.RSS > peak.RSS {
			peak = s
		}
	}
	if d := last.Delivered - first.Delivered; d > 0 {
		perMessage = float64(last.RSS-first.RSS) / float64(d)
	}
	return
}

// flat reports whether memory stayed flat along the run: over the
// samples it grew by at most flatBytesPerMessage a message (the maps
// that grew without end used to take about 190 B a message).
func (r memoryRow) flat() bool {
	_, _, _, perMessage := r.growth()
	return len(r.Samples) >= 2 && perMessage <= flatBytesPerMessage
}

// label names the protocol of a run, with -fsync when it was on.
func label(protocol string, fsync bool) string {
	if fsync {
		return protocol + " -fsync"
	}
	return protocol
}

// stepRecord is how long one step took and how loaded the machine was.
type stepRecord struct {
	Name     string        `json:"name"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	LoadFrom float64       `json:"load1_start"`
	LoadTo   float64       `json:"load1_end"`
	Error    string        `json:"error,omitempty"`
}

// failoverRow is one leader crash: five middlewares streaming, the raft
// leader killed with SIGKILL.
type failoverRow struct {
	Protocol string        `json:"protocol"`
	Resume   time.Duration `json:"resume_ns"` // kill until deliveries resumed at the first survivor
	InFlight int           `json:"in_flight"` // sent before the kill, delivered after it
	// InFlightDone: kill until the last of those was delivered
	InFlightDone time.Duration `json:"in_flight_done_ns"`
	Verdict      string        `json:"verdict"`
}
