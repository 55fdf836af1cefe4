package lab

import (
	"context"
	"fmt"
	"sort"
	"time"

	"totalorder/middleware/check"
)

// FailoverResult is one measurement of a raft leader crash.
type FailoverResult struct {
	// Resume is the time from the kill until deliveries resume at the
	// survivors: the end of the longest pause in Middleware 1's Ready list
	// after the kill.
	Resume time.Duration
	// InFlight is how many messages (from anyone) were sent before the
	// kill but delivered by Middleware 1 after it: the sequencer's crash
	// held them up, none was lost.
	InFlight int
	Verdict  string
}

// MeasureFailover streams messages from every middleware (one each every
// 10 ms), kills the raft leader with SIGKILL, keeps the survivors streaming
// for 3 s, and measures when deliveries resumed. The run is checked by the
// order checker.
func MeasureFailover(ctx context.Context, cfg Config) (FailoverResult, error) {
	var res FailoverResult
	l, err := Start(cfg)
	if err != nil {
		return res, err
	}
	defer l.Stop()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		return res, err
	}
	victim, err := l.Leader(1)
	if err != nil {
		return res, err
	}
	var survivors []int
	for _, i := range l.IDs() {
		if i != victim {
			survivors = append(survivors, i)
		}
	}
	watch := survivors[0]
	stream := func(ids []int, d time.Duration) error {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			for _, i := range ids {
				if err := l.Send(i, 1); err != nil {
					return err
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}
	if err := stream(l.IDs(), time.Second); err != nil {
		return res, err
	}
	killedAt := time.Now()
	l.Kill(victim)
	if err := stream(survivors, 3*time.Second); err != nil {
		return res, err
	}
	var sent int
	for _, i := range survivors {
		c, err := l.Counts(i)
		if err != nil {
			return res, err
		}
		sent += c.Sent
	}
	// Every survivor's own messages must come through; n's may or may not,
	// so wait until the survivors agree on a count and it stays put.
	if err := l.WaitReady(ctx, survivors, sent, nil); err != nil {
		return res, err
	}
	if err := l.WaitSettled(ctx, survivors, 500*time.Millisecond); err != nil {
		return res, err
	}
	l.Stop()
	var paths []string
	for _, i := range l.IDs() {
		paths = append(paths, l.LogPath(i))
	}
	incs, _, err := check.ParseFiles(paths)
	if err != nil {
		return res, err
	}
	kill := killedAt.UnixMicro()
	sentBefore := make(map[string]bool)
	for _, inc := range incs {
		for _, e := range inc.Entries {
			if e.Kind == check.Sent && e.TS < kill {
				sentBefore[e.Msg] = true
			}
		}
	}
	var ready []int64
	for _, inc := range incs {
		if inc.MW != watch {
			continue
		}
		for _, e := range inc.Entries {
			if e.Kind == check.Ready && e.TS >= kill {
				ready = append(ready, e.TS)
			}
			if e.Kind == check.Ready && e.TS >= kill && sentBefore[e.Msg] {
				res.InFlight++
			}
		}
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i] < ready[j] })
	prev, longest, end := kill, int64(0), kill
	for _, ts := range ready {
		if ts-prev > longest {
			longest, end = ts-prev, ts
		}
		prev = ts
	}
	res.Resume = time.Duration(end-kill) * time.Microsecond
	rep, err := l.Check(check.Options{Agreement: true, Crashed: map[int]bool{victim: true}})
	if err != nil {
		return res, fmt.Errorf("after a leader crash: %w", err)
	}
	res.Verdict = rep.Verdict
	return res, nil
}

// WaitSettled waits until the middlewares in ids have all logged the same
// number of ready events and that number has not changed for quiet.
func (l *Lab) WaitSettled(ctx context.Context, ids []int, quiet time.Duration) error {
	last, since := -1, time.Now()
	for {
		counts := make(map[int]bool)
		n := 0
		for _, i := range ids {
			c, err := l.Ready(i)
			if err != nil {
				return err
			}
			counts[c], n = true, c
		}
		switch {
		case len(counts) != 1 || n != last:
			last, since = n, time.Now()
			if len(counts) != 1 {
				last = -1
			}
		case time.Since(since) >= quiet:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the survivors to agree on what they delivered: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
