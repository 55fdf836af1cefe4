package timeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"totalorder/middleware/check"
)

// NetsimLog is the network program's events log in the lab's logs folder.
const NetsimLog = "netsim.jsonl"

// SelectionFile is where the timeline says which message is selected, in
// the logs folder; the middleware windows watch it (see gui).
const SelectionFile = "selection.json"

// Source reads a run's logs into a Model: all at once (Load) or, tailing
// the files, whatever was appended since the last Poll. Both use the same
// code, so a live view and a past run show the same thing.
type Source struct {
	dir   string   // a logs folder whose files are found by name, or ""
	paths []string // explicit files (dir == "")
	files map[string]*tailFile
	// Tail, when positive, makes a file found for the first time be read
	// from this many bytes before its end (a live view needs only the
	// recent past, whatever the size of the log).
	Tail int64
	// MaxRead bounds the bytes read per file per Poll (0: no bound), so a
	// burst is spread over several redraws instead of stalling one.
	MaxRead int64

	recs    []tailRecord
	Warning func(string) // optional: told about unreadable files
}

type tailFile struct {
	path    string
	network bool
	lane    int   // middleware id from the file name; 0 if it does not say
	off     int64 // next byte to read
	partial []byte
	buf     []byte // reused for every read
	started bool
}

type tailRecord struct {
	lane int
	rec  record
}

var mwFile = regexp.MustCompile(`(?i)^(?:middleware|mw)[-_]?(\d+)\.jsonl$`)

// NewDirSource follows the logs in dir: middleware-I.jsonl and
// netsim.jsonl, including files that appear later.
func NewDirSource(dir string) *Source {
	return &Source{dir: dir, files: map[string]*tailFile{}}
}

// NewFileSource reads the files named: a name containing "netsim" is the
// network program's log, any other a middleware's.
func NewFileSource(paths []string) *Source {
	return &Source{paths: paths, files: map[string]*tailFile{}}
}

// Dir is the logs folder followed, or the folder of the first file.
func (s *Source) Dir() string {
	if s.dir != "" || len(s.paths) == 0 {
		return s.dir
	}
	return filepath.Dir(s.paths[0])
}

func (s *Source) discover() []string {
	if s.dir == "" {
		return s.paths
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if name == NetsimLog || mwFile.MatchString(name) {
			out = append(out, filepath.Join(s.dir, name))
		}
	}
	return out
}

func (s *Source) file(path string) *tailFile {
	f := s.files[path]
	if f == nil {
		base := filepath.Base(path)
		f = &tailFile{path: path, network: strings.Contains(strings.ToLower(base), "netsim")}
		if m := mwFile.FindStringSubmatch(base); m != nil {
			fmt.Sscan(m[1], &f.lane)
		}
		s.files[path] = f
	}
	return f
}

// Poll reads what was appended to the logs since the last call into m
// and reports whether anything was read. A file that shrank was started
// again (a new lab run) and is read from its start.
func (s *Source) Poll(m *Model) (bool, error) {
	read := false
	var firstErr error
	s.recs = s.recs[:0]
	for _, path := range s.discover() {
		f := s.file(path)
		chunk, err := s.readNew(f)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(chunk) == 0 {
			continue
		}
		read = true
		if err := s.take(m, f, chunk); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Records from several files go in in time order: a control message's
	// "in" must come after its "out".
	slices.SortStableFunc(s.recs, func(a, b tailRecord) int {
		switch {
		case a.rec.TS < b.rec.TS:
			return -1
		case a.rec.TS > b.rec.TS:
			return 1
		}
		return 0
	})
	for i := range s.recs {
		m.addRecord(s.recs[i].lane, &s.recs[i].rec)
	}
	if read {
		m.Trim()
	}
	return read, firstErr
}

// readNew returns the complete lines appended to f since the last call.
func (s *Source) readNew(f *tailFile) ([]byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil // not written yet, or removed between runs
		}
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	skipToLine := false
	switch {
	case !f.started:
		f.started = true
		if s.Tail > 0 && size > s.Tail {
			f.off = size - s.Tail
			skipToLine = true
		}
	case size < f.off:
		f.off, f.partial = 0, nil // truncated or replaced: a new run
	}
	if size == f.off {
		return nil, nil
	}
	want := size - f.off
	if s.MaxRead > 0 && want > s.MaxRead {
		want = s.MaxRead
	}
	need := len(f.partial) + int(want)
	if cap(f.buf) < need || cap(f.buf) > 4*need && cap(f.buf) > 1<<20 {
		f.buf = make([]byte, need)
	}
	buf := f.buf[:need]
	copy(buf, f.partial)
	n, err := io.ReadFull(io.NewSectionReader(fh, f.off, want), buf[len(f.partial):])
	buf = buf[:len(f.partial)+n]
	f.off += int64(n)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if skipToLine {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		} else {
			buf = buf[:0]
		}
	}
	end := bytes.LastIndexByte(buf, '\n') + 1
	f.partial = append(f.partial[:0], buf[end:]...)
	if len(f.partial) > 1<<20 {
		f.partial = f.partial[:0] // not a line: corrupt
	}
	return buf[:end], nil
}

// take parses complete lines of one file.
func (s *Source) take(m *Model, f *tailFile, chunk []byte) error {
	if !f.network {
		incs, _, err := check.ParseReader(bytes.NewReader(chunk), f.path)
		if err != nil {
			return err
		}
		m.AddIncarnations(incs)
	}
	for len(chunk) > 0 {
		line := chunk
		if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
			line, chunk = chunk[:i], chunk[i+1:]
		} else {
			chunk = nil
		}
		if !f.network && !isOwnRecord(line) {
			continue
		}
		var r record
		if json.Unmarshal(line, &r) != nil {
			continue
		}
		s.recs = append(s.recs, tailRecord{lane: f.lane, rec: r})
	}
	return nil
}

// isOwnRecord is a quick test for the records read here rather than by
// the checker's parser.
func isOwnRecord(line []byte) bool {
	i := bytes.Index(line, []byte(`"event":"`))
	if i < 0 {
		return false
	}
	rest := line[i+len(`"event":"`):]
	return bytes.HasPrefix(rest, []byte(`control"`)) || bytes.HasPrefix(rest, []byte(`leader"`)) ||
		bytes.HasPrefix(rest, []byte(`mark"`))
}

// Load reads a past run: every file of src from its start. Messages come
// out ordered by their first event.
func Load(src *Source) (*Model, error) {
	m := NewModel(1, Limits{})
	if _, err := src.Poll(m); err != nil {
		return nil, err
	}
	m.sortByFirst()
	return m, nil
}
