package check

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// ParseFiles reads events logs (JSON lines, one object per list change) and
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

// logLine is the part of an events log line the checker reads.
type logLine struct {
	Event string          `json:"event"`
	Msg   *string         `json:"msg"`
	TS    *int64          `json:"ts_us"`
	Seq   uint64          `json:"seq"`
	MW    *int            `json:"mw"`
	Run   json.RawMessage `json:"run"`
	// A "lost" line: events its writer could not write.
	Count  int    `json:"count"`
	FromTS int64  `json:"from_ts_us"`
	ToTS   int64  `json:"to_ts_us"`
	Error  string `json:"error"`
	// Final marks the "lost" line of events its writer could not write
	// before it exited.
	Final bool `json:"final"`
	// A "diverged" line: the live agreement check found this
	// middleware's Ready list first differs from Peer's at Seq (Msg here,
	// There there).
	Peer  int    `json:"peer"`
	There string `json:"there"`
	// Recovered and Fetched say where a received message's content came
	// from when not from the network program.
	Recovered bool `json:"recovered"`
	Fetched   bool `json:"fetched"`
}

var kinds = map[string]Kind{"sent": Sent, "received": Received, "ready": Ready}

// quietEvents are records of the events log that are not list changes and
// are expected there (read by the timeline): skipped without a warning.
var quietEvents = map[string]bool{"control": true, "leader": true, "mark": true}

// maxLine bounds one log line; messages are limited to 64 KiB on the data
// path, so anything near this is corrupt.
const maxLine = 16 << 20

var mwFileName = regexp.MustCompile(`(?i)^(?:middleware|mw)[-_]?(\d+)(?:\..*)?$`)

func (p *parser) read(r io.Reader, name string) error {
	file := p.files
	p.files++
	fileMW, fileMWErr := 0, error(nil)
	if m := mwFileName.FindStringSubmatch(filepath.Base(name)); m != nil {
		fileMW, _ = strconv.Atoi(m[1])
	} else {
		fileMWErr = fmt.Errorf("no \"mw\" field and the file name does not say which middleware wrote it (name it middleware-I.jsonl)")
	}

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		lineNo, lastLine       int // lastLine: last non-blank line
		bad, firstBad, lastBad int
		other                  int
	)
	for sc.Scan() {
		lineNo++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		lastLine = lineNo
		var l logLine
		if err := json.Unmarshal(text, &l); err != nil {
			bad++
			if firstBad == 0 {
				firstBad = lineNo
			}
			lastBad = lineNo
			continue
		}
		kind, ok := kinds[l.Event]
		lost, diverged := l.Event == "lost", l.Event == "diverged"
		if !ok && !lost && !diverged {
			if !quietEvents[l.Event] {
				other++
			}
			continue
		}
		if lost && l.TS == nil || !lost && (l.Msg == nil || l.TS == nil) {
			bad++
			if firstBad == 0 {
				firstBad = lineNo
			}
			continue
		}
		key := incKey{run: runID(l.Run), file: -1}
		if key.run == "" {
			key.file = file
		}
		switch {
		case l.MW != nil:
			key.mw = *l.MW
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
			p.starts = append(p.starts, *l.TS)
		}
		if lost {
			inc := &p.incs[i]
			inc.Gaps = append(inc.Gaps, Gap{After: len(inc.Entries), Count: l.Count, FromTS: l.FromTS, ToTS: l.ToTS, Error: l.Error, End: l.Final})
			continue
		}
		if diverged {
			inc := &p.incs[i]
			inc.Diverged = append(inc.Diverged, Divergence{Peer: l.Peer, Seq: l.Seq, Here: *l.Msg, There: l.There, TS: *l.TS})
			continue
		}
		p.starts[i] = min(p.starts[i], *l.TS)
		p.incs[i].Entries = append(p.incs[i].Entries, Entry{Kind: kind, Msg: *l.Msg, TS: *l.TS, Seq: l.Seq,
			Recovered: kind == Received && (l.Recovered || l.Fetched)})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: after line %d: %w", name, lineNo, err)
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

// runID accepts a run id written as a JSON string or number.
func runID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
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
