package main

import (
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Plot sizes in pixels.
const plotWidth, plotHeight = 900, 560

// protocolColor keeps each protocol's colour the same in every plot.
func protocolColor(protocol string) color.NRGBA {
	switch protocol {
	case protocolRaft:
		return colorGreen
	case protocolISIS:
		return colorOrange
	case protocolLamport:
		return colorPurple
	case protocolNone:
		return colorGrey
	}
	return colorBlue
}

// referenceColor is a darker shade of the protocol's colour for its
// run's send-order reference, drawn dashed over the latency line so both
// stay visible where they coincide.
func referenceColor(protocol string) color.NRGBA {
	switch protocol {
	case protocolRaft:
		return colorDarkGreen
	case protocolISIS:
		return colorBrown
	case protocolLamport:
		return colorDarkPurple
	}
	return colorNavy
}

// latencyCDFChart plots, per protocol, the CDF of delivery latency and of
// the send-order reference in the runs at res.CDFMaxSleep; a protocol that
// orders nothing (the floor) without its reference.
func latencyCDFChart(res *results) (chart, bool) {
	c := chart{
		Title:  fmt.Sprintf("Delivery latency CDF, n=5, maxSleep %v, 10 msg/s per middleware", res.CDFMaxSleep),
		XLabel: "latency (ms)", YLabel: "fraction of deliveries",
		Width: plotWidth, Height: plotHeight, YFrom0: true,
	}
	toPoints := func(samples []time.Duration) [][2]float64 {
		var pts [][2]float64
		for _, p := range cdf(append([]time.Duration(nil), samples...), 1000) {
			pts = append(pts, [2]float64{float64(p.X) / float64(time.Millisecond), p.Fraction})
		}
		return pts
	}
	var references []series
	for _, r := range res.Latency {
		if len(r.samples) == 0 {
			continue
		}
		if !orderingProtocol(r.Protocol) {
			c.Series = append(c.Series, series{Name: r.Protocol + " (unordered) latency", Color: protocolColor(r.Protocol), Points: toPoints(r.samples)})
			continue
		}
		c.Series = append(c.Series, series{Name: r.Protocol + " latency", Color: protocolColor(r.Protocol), Points: toPoints(r.samples)})
		references = append(references, series{Name: r.Protocol + " run's send-order reference", Color: referenceColor(r.Protocol), Dashed: true,
			Points: toPoints(r.sendOrderSamples)})
	}
	c.Series = append(c.Series, references...)
	return c, len(c.Series) > 0
}

// throughputVsNChart plots ordered deliveries per second per middleware
// against n, one line per protocol.
func throughputVsNChart(res *results) (chart, bool) {
	c := chart{
		Title:  "Ordered throughput per middleware vs n (maxSleep 0, reuse, all sending)",
		XLabel: "middlewares (n)", YLabel: "deliveries/s per middleware",
		Width: plotWidth, Height: plotHeight, YFrom0: true,
	}
	seen := map[float64]bool{}
	for _, p := range orderingProtocols(protocols) {
		s := series{Name: p, Color: protocolColor(p), Markers: true}
		for _, r := range res.Scale {
			if r.Protocol == p && r.Messages > 0 {
				s.Points = append(s.Points, [2]float64{float64(r.N), r.Ordered})
				if !seen[float64(r.N)] {
					seen[float64(r.N)] = true
					c.XTicks = append(c.XTicks, float64(r.N))
				}
			}
		}
		if len(s.Points) > 0 {
			c.Series = append(c.Series, s)
		}
	}
	slices.Sort(c.XTicks)
	return c, len(c.Series) > 0
}

// memoryChart plots the resident memory along each headless memory run
// against the messages delivered, one line per protocol: flat lines are
// what the memory target asks for.
func memoryChart(res *results) (chart, bool) {
	c := chart{
		Title:  "Resident memory along the run (headless, largest middleware, n=5, maxSleep 0)",
		XLabel: "messages delivered", YLabel: "VmRSS (MB)",
		Width: plotWidth, Height: plotHeight, YFrom0: true,
	}
	for _, p := range orderingProtocols(protocols) {
		r := memoryOf(res, p, "headless")
		if r == nil || len(r.Samples) < 2 {
			continue
		}
		s := series{Name: p, Color: protocolColor(p), Markers: true}
		for _, x := range r.Samples {
			s.Points = append(s.Points, [2]float64{float64(x.Delivered), float64(x.RSS) / 1e6})
		}
		c.Series = append(c.Series, s)
	}
	return c, len(c.Series) > 0
}

// writePlots writes the plots there is data for into dir and returns
// their file names (relative to dir, for the report) by name. A plot of
// an earlier run that this run has no data for is removed, so that dir
// holds one run.
func writePlots(dir string, res *results) (map[string]string, error) {
	out := map[string]string{}
	for name, build := range map[string]func(*results) (chart, bool){
		"latency-cdf.png":        latencyCDFChart,
		"throughput-vs-n.png":    throughputVsNChart,
		"memory-vs-messages.png": memoryChart,
	} {
		c, ok := build(res)
		if !ok {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, err
			}
			continue
		}
		if err := writePNG(filepath.Join(dir, name), c.draw()); err != nil {
			return out, err
		}
		out[name] = name
	}
	return out, nil
}
