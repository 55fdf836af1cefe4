package main

import (
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
	Steps      []stepRecord    `json:"steps"`
	// CDFMaxSleep is the maxSleep of the runs plotted in latency-cdf.png.
	CDFMaxSleep time.Duration `json:"cdf_max_sleep_ns"`
	Notes       []string      `json:"notes,omitempty"`    // what was skipped and why
	Failures    []failure     `json:"failures,omitempty"` // failed checks and runs
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
	Logs    string `json:"-"` // kept events logs (this machine's temporary directory)
}

func (v *verdict) setVerdict(o outcome) {
	v.Verdict, v.Failed, v.Logs = o.report.Verdict, o.violation != nil, o.logs
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
	}
	return "ok"
}

// latencyRow is one latency run: five senders at a steady pace.
type latencyRow struct {
	Protocol  string        `json:"protocol"`
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
	verdict
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
	Note     string `json:"note,omitempty"`
	verdict
}

// stepRecord is how long one step took and how loaded the machine was.
type stepRecord struct {
	Name     string        `json:"name"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	LoadFrom float64       `json:"load1_start"`
	LoadTo   float64       `json:"load1_end"`
	Error    string        `json:"error,omitempty"`
}

// failoverRow is one sequencer crash: five middlewares streaming, the
// sequencer killed with SIGKILL.
type failoverRow struct {
	Resume   time.Duration `json:"resume_ns"` // kill until deliveries resumed at Middleware 1
	InFlight int           `json:"in_flight"` // sent before the kill, delivered after it
	Verdict  string        `json:"verdict"`
}
