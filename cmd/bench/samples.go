package main

import (
	"cmp"
	"slices"
	"time"

	"totalorder/middleware/check"
)

// deliverySamples returns, for every delivery of a message whose send is
// logged, its latency (ready − sent) and, for the deliveries whose content
// the same incarnation received, the send-order reference: when a
// clairvoyant protocol delivering in global send order would deliver it,
// once this message and every message sent before it that this
// incarnation received had arrived. These are the checker's definitions;
// the checker only keeps summaries, and the CDF plot needs every sample.
func deliverySamples(incs []check.Incarnation) (latency, sendOrder []time.Duration) {
	sentAt := make(map[string]int64)
	for _, inc := range incs {
		for _, e := range inc.Entries {
			if e.Kind == check.Sent {
				if _, dup := sentAt[e.Msg]; !dup {
					sentAt[e.Msg] = e.TS
				}
			}
		}
	}
	type sent struct {
		msg string
		ts  int64
	}
	order := make([]sent, 0, len(sentAt))
	for msg, ts := range sentAt {
		order = append(order, sent{msg, ts})
	}
	slices.SortFunc(order, func(a, b sent) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.msg, b.msg))
	})

	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	for _, inc := range incs {
		received := make(map[string]int64) // first receipt
		ready := make(map[string]bool)
		for _, e := range inc.Entries {
			switch e.Kind {
			case check.Received:
				if _, dup := received[e.Msg]; !dup {
					received[e.Msg] = e.TS
				}
			case check.Ready:
				ready[e.Msg] = true
				if ts, ok := sentAt[e.Msg]; ok {
					latency = append(latency, us(e.TS-ts))
				}
			}
		}
		var arrived int64 // when everything sent so far had arrived here
		first := true
		for _, m := range order {
			at, ok := received[m.msg]
			if !ok {
				continue
			}
			if first || at > arrived {
				arrived, first = at, false
			}
			if ready[m.msg] {
				sendOrder = append(sendOrder, us(arrived-m.ts))
			}
		}
	}
	return latency, sendOrder
}

// cdfPoint is one point of an empirical CDF: a fraction of the samples is
// at most x.
type cdfPoint struct {
	X        time.Duration
	Fraction float64
}

// cdf returns the empirical CDF of samples with at most maxPoints points
// (evenly spaced in rank, always including the largest sample). It sorts
// samples in place.
func cdf(samples []time.Duration, maxPoints int) []cdfPoint {
	if len(samples) == 0 || maxPoints < 1 {
		return nil
	}
	slices.Sort(samples)
	n := len(samples)
	points := min(n, maxPoints)
	out := make([]cdfPoint, 0, points)
	for k := 1; k <= points; k++ {
		rank := (k*n + points - 1) / points // ceil(k·n/points): 1…n
		out = append(out, cdfPoint{X: samples[rank-1], Fraction: float64(rank) / float64(n)})
	}
	return out
}

// readyRates is, per middleware id, how many deliveries per second it
// logged in [from, to) (unix µs), summed over its incarnations.
func readyRates(incs []check.Incarnation, from, to int64) map[int]float64 {
	rates := make(map[int]float64)
	if to <= from {
		return rates
	}
	seconds := float64(to-from) / 1e6
	for _, inc := range incs {
		n := 0
		for _, e := range inc.Entries {
			if e.Kind == check.Ready && e.TS >= from && e.TS < to {
				n++
			}
		}
		rates[inc.MW] += float64(n) / seconds
	}
	return rates
}

// meanMin summarises per-middleware figures.
func meanMin(perMW map[int]float64) (mean, least float64) {
	if len(perMW) == 0 {
		return 0, 0
	}
	first := true
	for _, v := range perMW {
		mean += v
		if first || v < least {
			least, first = v, false
		}
	}
	return mean / float64(len(perMW)), least
}

// differingPositions counts the positions (seqs) at which some two
// middlewares delivered different messages: how far a run without
// ordering (-protocol none) is from one order.
func differingPositions(incs []check.Incarnation) int {
	first := map[uint64]string{}
	differs := map[uint64]bool{}
	for _, inc := range incs {
		for _, e := range inc.Entries {
			if e.Kind != check.Ready || e.Seq == 0 {
				continue
			}
			if m, ok := first[e.Seq]; !ok {
				first[e.Seq] = e.Msg
			} else if m != e.Msg {
				differs[e.Seq] = true
			}
		}
	}
	return len(differs)
}
