package check

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Stats summarises a set of latencies.
type Stats struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
}

// Latency compares measured delivery latency with the lower bound no
// protocol can beat on the same run (content arrival) and with a reference
// (send order), which a protocol may beat.
type Latency struct {
	// Ready is ready − sent for every delivery of a message whose send is
	// logged.
	Ready Stats `json:"ready"`
	// ContentArrival is first receipt − sent for each delivered message
	// (received by that incarnation): no protocol delivers before the
	// content is there.
	ContentArrival Stats `json:"content_arrival_bound"`
	// SendOrder is a reference, not a bound: the protocol that delivers
	// in global send order, message k once it and every earlier-sent
	// message this incarnation received have arrived. Another total order
	// can deliver sooner.
	SendOrder Stats `json:"send_order_reference"`
	// Ratio is Ready.Mean / SendOrder.Mean; 0 when there is no reference.
	Ratio float64 `json:"ratio"`
}

// MWStats is one middleware's line of the report (all incarnations).
type MWStats struct {
	MW           int  `json:"mw"` // 0 in Report.Overall
	Incarnations int  `json:"incarnations"`
	Crashed      bool `json:"crashed"` // its last incarnation counts as crashed
	Sent         int  `json:"sent"`
	Received     int  `json:"received"` // including duplicates
	// DuplicateReceived counts receipts of a message the same incarnation
	// had already received; the network may duplicate, so this is info.
	DuplicateReceived int     `json:"duplicate_received"`
	Ready             int     `json:"ready"`
	Latency           Latency `json:"latency"`
}

// Report is the outcome of Check: counts and latencies per middleware and
// overall, warnings, and the verdict.
type Report struct {
	PerMW       []MWStats `json:"per_mw"` // by middleware id
	Overall     MWStats   `json:"overall"`
	Middlewares int       `json:"middlewares"`
	Messages    int       `json:"messages"` // distinct messages sent or delivered
	// The options the verdict holds for.
	Agreement   bool  `json:"agreement"`
	AllowUnsent bool  `json:"allow_unsent"`
	Crashed     []int `json:"crashed,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
	// Incomplete names the logs with gaps (events their writer could not
	// write) and what the checks made of them.
	Incomplete []string `json:"incomplete,omitempty"`
	// Divergence is the lowest position two middlewares delivered
	// different messages at, as the checker finds it in the logs (nil if
	// none): where a run without total order (-protocol none) first
	// shows it.
	Divergence *Divergence `json:"divergence,omitempty"`
	// Recorded are the divergences the middlewares' live agreement checks
	// recorded in their logs ("diverged" lines), each with what the logs
	// show there.
	Recorded []Divergence `json:"recorded_divergences,omitempty"`
	// Violations lists every kind of failure found, each with a count and
	// its first examples; Violation is the first of them.
	Violations []*Violation `json:"violations,omitempty"`
	Violation  *Violation   `json:"violation,omitempty"`
	Verdict    string       `json:"verdict"` // the one-line outcome, "OK: …" or "VIOLATION …"
}

// samples collects latencies in microseconds for one middleware.
type samples struct{ ready, arrival, sendOrder []int64 }

// stats fills a Report with counts and latencies. It makes no judgement,
// so it tolerates logs that fail the checks.
func (c *checker) stats() *Report {
	rep := &Report{Agreement: c.opt.Agreement, AllowUnsent: c.opt.AllowUnsent}
	for mw, crashed := range c.opt.Crashed {
		if crashed {
			rep.Crashed = append(rep.Crashed, mw)
		}
	}
	slices.Sort(rep.Crashed)

	// One row per middleware id, in id order.
	var mws []int
	for i := range c.incs {
		mws = append(mws, c.incs[i].MW)
	}
	slices.Sort(mws)
	mws = slices.Compact(mws)
	row := make(map[int]int, len(mws))
	rep.PerMW = make([]MWStats, len(mws))
	for r, mw := range mws {
		row[mw] = r
		rep.PerMW[r].MW = mw
	}
	perMW := make([]samples, len(rep.PerMW))

	// Messages in global send order, for the send-order reference.
	var keys []orderKey
	for id := range c.msgs {
		if m := &c.msgs[id]; m.sentBy >= 0 {
			keys = append(keys, orderKey{minor: m.sentTS, id: int32(id)})
		}
	}
	sendOrder := c.sortKeys(keys)

	// Sample slices sized up front: appending was most of the cost.
	readyPerMW := make([]int, len(perMW))
	var totalReady int
	for i := range c.incs {
		readyPerMW[row[c.incs[i].MW]] += c.info[i].ready
		totalReady += c.info[i].ready
	}
	for r, n := range readyPerMW {
		perMW[r] = samples{make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)}
	}

	// Per-message scratch, stamped with incarnation index+1 so it needs no
	// clearing between incarnations.
	recvStamp := make([]int32, len(c.msgs))
	recvTS := make([]int64, len(c.msgs))
	readyStamp := make([]int32, len(c.msgs))
	everDelivered := make([]bool, len(c.msgs))

	for i := range c.incs {
		inc := &c.incs[i]
		st := &rep.PerMW[row[inc.MW]]
		sm := &perMW[row[inc.MW]]
		st.Incarnations++
		stamp := int32(i + 1)
		for j, e := range inc.Entries {
			id := c.msgOf[i][j]
			switch e.Kind {
			case Sent:
				st.Sent++
			case Received:
				st.Received++
				if recvStamp[id] == stamp {
					st.DuplicateReceived++ // logs are in time order: the first receipt counts
				} else {
					recvStamp[id], recvTS[id] = stamp, e.TS
				}
			case Ready:
				st.Ready++
				readyStamp[id] = stamp
				everDelivered[id] = true
				if m := &c.msgs[id]; m.sentBy >= 0 {
					sm.ready = append(sm.ready, e.TS-m.sentTS)
				}
			}
		}
		unreceived := 0
		for j, e := range inc.Entries {
			if e.Kind != Ready {
				continue
			}
			id := c.msgOf[i][j]
			switch m := &c.msgs[id]; {
			case recvStamp[id] != stamp:
				unreceived++
			case m.sentBy >= 0:
				sm.arrival = append(sm.arrival, recvTS[id]-m.sentTS)
			}
		}
		if unreceived > 0 {
			c.warns = append(c.warns, fmt.Sprintf("%s delivered %d message(s) it never logged as received", c.label(i), unreceived))
		}
		var arrived int64 = math.MinInt64 // when everything sent so far has arrived here
		for _, id := range sendOrder {
			if recvStamp[id] != stamp {
				continue
			}
			arrived = max(arrived, recvTS[id])
			if readyStamp[id] == stamp {
				sm.sendOrder = append(sm.sendOrder, arrived-c.msgs[id].sentTS)
			}
		}
	}

	all := samples{
		ready:     make([]int64, 0, totalReady),
		arrival:   make([]int64, 0, totalReady),
		sendOrder: make([]int64, 0, totalReady),
	}
	for r := range rep.PerMW {
		st, sm := &rep.PerMW[r], &perMW[r]
		st.Crashed = c.opt.Crashed[st.MW]
		st.Latency = latency(sm)
		all.ready = append(all.ready, sm.ready...)
		all.arrival = append(all.arrival, sm.arrival...)
		all.sendOrder = append(all.sendOrder, sm.sendOrder...)

		o := &rep.Overall
		o.Incarnations += st.Incarnations
		o.Sent += st.Sent
		o.Received += st.Received
		o.DuplicateReceived += st.DuplicateReceived
		o.Ready += st.Ready
	}
	rep.Overall.Latency = latency(&all)
	rep.Middlewares = len(rep.PerMW)
	for id := range c.msgs {
		if c.msgs[id].sentBy >= 0 || everDelivered[id] {
			rep.Messages++
		}
	}
	return rep
}

func latency(s *samples) Latency {
	l := Latency{Ready: summarize(s.ready), ContentArrival: summarize(s.arrival), SendOrder: summarize(s.sendOrder)}
	if l.SendOrder.Mean > 0 {
		l.Ratio = float64(l.Ready.Mean) / float64(l.SendOrder.Mean)
	}
	return l
}

// summarize sorts us (microseconds) in place and summarises it.
func summarize(us []int64) Stats { return summarizeIn(us, time.Microsecond) }

// Summarize sorts ds in place and summarises it: count, mean, nearest-rank
// percentiles (the smallest value with at least p of the samples at or
// below it) and maximum.
func Summarize(ds []time.Duration) Stats { return summarizeIn(ds, 1) }

func summarizeIn[T int64 | time.Duration](xs []T, unit time.Duration) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	slices.Sort(xs)
	var sum float64
	for _, v := range xs {
		sum += float64(v)
	}
	rank := func(p float64) time.Duration {
		k := int(math.Ceil(p*float64(len(xs)))) - 1
		return time.Duration(xs[max(k, 0)]) * unit
	}
	return Stats{
		Count: len(xs),
		Mean:  time.Duration(sum / float64(len(xs)) * float64(unit)),
		P50:   rank(0.50),
		P99:   rank(0.99),
		Max:   time.Duration(xs[len(xs)-1]) * unit,
	}
}
