// Package replay keeps a middleware's auction complete across restarts:
// it reads the Ready positions earlier runs of the middleware wrote to
// its events log (Past), replays them into the auction's replica, and
// then applies the live Ready events after them, each position once
// (Auction). The window's Auction tab and the headless auction feed both
// use it; it has no Fyne in it, so a build without the GUI has it too.
package replay

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"totalorder/auction"
	"totalorder/internal/evlog"
)

// Past reads the Ready lines of the events log at path written by
// middleware mw (lines without "mw" count as its own): the message at
// each position, past[k-1] being position k's, "" where the log has no
// line for k (events lost, or a member taken back after it lost its
// state). A position logged twice counts once. Where the log holds a
// different message at a position it already has (a lab started afresh
// over the same log), the later run wins: what the log held from that
// position on is dropped. No path or a missing file is no past at all;
// an unparsable line (a fragment left by a kill) is skipped.
func Past(path string, mw int) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("events log: %w", err)
	}
	defer f.Close()
	past, err := PastFrom(f, mw)
	if err != nil {
		return past, fmt.Errorf("events log %s: %w", path, err)
	}
	return past, nil
}

// PastFrom is Past reading r.
func PastFrom(r io.Reader, mw int) ([]string, error) {
	var past []string
	rd := evlog.NewReader(r)
	for {
		ev, err := rd.Next()
		var bad *evlog.LineError
		switch {
		case errors.As(err, &bad):
			continue // a fragment left by a kill, say
		case errors.Is(err, io.EOF):
			return past, nil
		case err != nil:
			return past, err
		}
		if ev.Event != evlog.Ready || ev.Seq == 0 || (ev.MW != mw && ev.MW != 0) {
			continue
		}
		k, msg := ev.Seq, string(ev.Msg)
		switch {
		case k > uint64(len(past)):
			for uint64(len(past)) < k-1 {
				past = append(past, "")
			}
			past = append(past, msg)
		case past[k-1] == "":
			past[k-1] = msg
		case past[k-1] != msg:
			past = append(past[:k-1], msg)
		}
	}
}

// Auction is a replica of the auction fed in Ready order: first the
// positions of Past, then the live Ready events, each position once. It
// is not safe for concurrent use.
type Auction struct {
	items   []auction.Item
	r       *auction.Replica
	past    []string // the log's positions not yet confirmed by the live ones
	applied uint64   // the highest position applied
	missing int      // positions up to applied that are not applied
	logged  int      // positions applied from the log
	first   uint64   // the first live position applied; 0: none yet
}

// NewAuction is a replica of an auction of items with past (see Past)
// applied.
func NewAuction(items []auction.Item, past []string) *Auction {
	a := &Auction{items: items}
	a.replay(past)
	return a
}

func (a *Auction) replay(past []string) {
	a.r, a.past, a.applied, a.missing, a.logged = auction.New(a.items), past, 0, 0, 0
	for _, text := range past {
		a.applied++
		if text == "" {
			a.missing++
			continue
		}
		a.r.Apply(text)
		a.logged++
	}
}

// Replica is the replica as it stands. Apply may replace it: do not
// keep it.
func (a *Auction) Replica() *auction.Replica { return a.r }

// Apply applies text, the live Ready event at position seq, unless the
// replica has that position already. A live message that differs from
// the log's at its position means the log was of another order (a lab
// started afresh): the replica is then rebuilt from the log's positions
// before it and the live ones from it on. It reports whether anything
// changed: the auction (an auction message applied, a rebuild) or what
// Missing says.
func (a *Auction) Apply(seq uint64, text string) (o auction.Outcome, changed bool) {
	if seq == 0 { // no position: applied as it comes
		o = a.r.Apply(text)
		return o, o.Kind != auction.Ignored
	}
	rebuilt := false
	if seq <= a.applied {
		logged := ""
		if seq <= uint64(len(a.past)) {
			logged = a.past[seq-1]
		}
		if logged == "" || logged == text {
			// Applied already (or a hole the log left, which cannot
			// be filled in order now).
			a.confirm(seq)
			return auction.Outcome{}, false
		}
		a.replay(a.past[:seq-1])
		rebuilt = true
	}
	before := a.missing
	if seq > a.applied+1 {
		a.missing += int(seq - a.applied - 1)
	}
	a.applied = seq
	if a.first == 0 {
		a.first = seq
	}
	a.confirm(seq)
	o = a.r.Apply(text)
	return o, rebuilt || a.missing != before || o.Kind != auction.Ignored
}

// confirm drops the log's positions once the live ones reach its end:
// from then on there is nothing to compare with.
func (a *Auction) confirm(seq uint64) {
	if seq >= uint64(len(a.past)) {
		a.past = nil
	}
}

// Missing is how many positions up to through, the highest applied, the
// replica lacks: delivered before a restart and not in the events log.
func (a *Auction) Missing() (n int, through uint64) { return a.missing, a.applied }

// FromLog is how many positions were applied from the events log.
func (a *Auction) FromLog() int { return a.logged }

// FirstLive is the first live position applied, 0 before any.
func (a *Auction) FirstLive() uint64 { return a.first }
