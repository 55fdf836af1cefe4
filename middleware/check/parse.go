package check

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"totalorder/internal/evlog"
)

// ParseFiles reads events logs (see internal/evlog) and
// returns one Incarnation per middleware run, sorted by middleware id and,
// within one id, by when each run started. Lines of the same run found in
// several files are merged in the order the files are given. A file given
// twice is read once.
//
// Besides list changes it reads "lost" lines (events their writer could
// not write: Incarnation.Gaps) and "diverged" lines (where the
// middleware's live agreement check found its Ready list first differs
// from a peer's: Incarnation.Diverged). Warnings report lines that were
// skipped (not JSON, other events); an unparsable last line, which a
// killed process leaves behind, is only noted. The error is for unreadable files and for logs that do not say
// which middleware wrote them.
func ParseFiles(paths []string) ([]Incarnation, []string, error) {
	p := newParser()
	seen := map[string]bool{}
	for _, path := range paths {
		clean := filepath.Clean(path)
		if seen[clean] {
			continue
		}
		seen[clean] = true
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		err = p.read(f, path)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	return p.result(), p.warns, nil
}

// ParseReader is ParseFiles for one log; name stands for its file name
// (used in warnings and to derive the middleware id, see ParseFiles).
func ParseReader(r io.Reader, name string) ([]Incarnation, []string, error) {
	p := newParser()
	if err := p.read(r, name); err != nil {
		return nil, nil, err
	}
	return p.result(), p.warns, nil
}

// incKey identifies a run: by its run id when the log has one, otherwise
// each file is one run.
type incKey struct {
	mw   int
	run  string
	file int // -1 when run is set
}

type parser struct {
	files  int
	index  map[incKey]int
	incs   []Incarnation
	starts []int64 // each incarnation's earliest TS, for ordering runs
	warns  []string
}

func newParser() *parser { return &parser{index: map[incKey]int{}} }

// quietEvents are records of the events log that are not list changes and
// are expected there (read by the timeline): skipped without a warning.
var quietEvents = [...]bool{evlog.Control: true, evlog.Leader: true, evlog.Mark: true}

// maxLine bounds one log line; messages are limited to 64 KiB on the data
// path, so anything near this is corrupt.
const maxLine = evlog.DefaultMaxLine

func (p *parser) read(r io.Reader, name string) error {
	file := p.files
	p.files++
	fileMW, fileMWErr := evlog.FileMW(name), error(nil)
	if fileMW == 0 {
		fileMWErr = fmt.Errorf("no \"mw\" field and the file name does not say which middleware wrote it (name it middleware-I.jsonl)")
	}

	rd := evlog.NewReader(r)
	rd.MaxLine = maxLine
	var (
		lineNo, lastLine       int // lastLine: last line that was not blank
		bad, firstBad, lastBad int
		other                  int
	)
	for {
		l, err := rd.Next()
		var lerr *evlog.LineError
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			err = nil
		case errors.As(err, &lerr) && !errors.Is(err, evlog.ErrTooLong):
			lineNo, lastLine = lerr.Line, lerr.Line
			bad++
			if firstBad == 0 {
				firstBad = lineNo
			}
			if !errors.Is(err, evlog.ErrIncomplete) {
				lastBad = lineNo // (a fragment left by a kill is not JSON)
			}
			continue
		default:
			return fmt.Errorf("%s: after line %d: %w", name, lineNo, err)
		}
		if l == nil {
			break
		}
		lineNo = rd.Line()
		lastLine = lineNo
		kind, lost, diverged := Kind(0), l.Event == evlog.Lost, l.Event == evlog.Diverged
		switch l.Event {
		case evlog.Sent:
			kind = Sent
		case evlog.Received:
			if l.Foreign {
				continue // not a lab message: shown, never delivered, nothing to check
			}
			kind = Received
		case evlog.Ready:
			kind = Ready
		}
		if kind == 0 && !lost && !diverged {
			if int(l.Event) >= len(quietEvents) || !quietEvents[l.Event] {
				other++
			}
			continue
		}
		key := incKey{run: l.Run, file: -1}
		if key.run == "" {
			key.file = file
		}
		switch {
		case l.MW != 0:
			key.mw = l.MW
		case fileMWErr != nil:
			return fmt.Errorf("%s:%d: %w", name, lineNo, fileMWErr)
		default:
			key.mw = fileMW
		}
		i, ok := p.index[key]
		if !ok {
			i = len(p.incs)
			p.index[key] = i
			p.incs = append(p.incs, Incarnation{MW: key.mw, Run: key.run})
			p.starts = append(p.starts, l.TS)
		}
		inc := &p.incs[i]
		switch {
		case lost:
			inc.Gaps = append(inc.Gaps, Gap{After: len(inc.Entries), Count: l.Count, FromTS: l.FromTS, ToTS: l.ToTS, Error: l.Error, End: l.Final})
		case diverged:
			inc.Diverged = append(inc.Diverged, Divergence{Peer: l.Peer, Seq: l.Seq, Here: string(l.Msg), There: l.There, TS: l.TS})
		default:
			p.starts[i] = min(p.starts[i], l.TS)
			inc.Entries = append(inc.Entries, Entry{Kind: kind, Msg: string(l.Msg), TS: l.TS, Seq: l.Seq,
				Recovered: kind == Received && (l.Recovered || l.Fetched)})
		}
	}

	if lastBad > 0 && lastBad == lastLine {
		// A process killed mid-write leaves a partial last line: expected.
		bad--
		if firstBad == lastBad {
			firstBad = 0
		}
		p.warns = append(p.warns, fmt.Sprintf("%s: ignored the unparsable last line %d (normal if the process was killed)", name, lastBad))
	}
	if bad > 0 {
		p.warns = append(p.warns, fmt.Sprintf("%s: ignored %d unparsable line(s), the first at line %d", name, bad, firstBad))
	}
	if other > 0 {
		p.warns = append(p.warns, fmt.Sprintf("%s: ignored %d line(s) with other events", name, other))
	}
	return nil
}

// result orders incarnations by middleware id, then by start time, which
// is the order Check expects them in.
func (p *parser) result() []Incarnation {
	order := make([]int, len(p.incs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(p.incs[a].MW, p.incs[b].MW), cmp.Compare(p.starts[a], p.starts[b]))
	})
	out := make([]Incarnation, len(order))
	for k, i := range order {
		out[k] = p.incs[i]
	}
	return out
}
