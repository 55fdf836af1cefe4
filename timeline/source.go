package timeline

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"totalorder/internal/evlog"
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

	timed   []timedRecord
	order   []int32
	took    int          // records and bad lines read by this Poll
	err     error        // the first error of this Poll's records
	Warning func(string) // optional: told about unreadable files
}

type tailFile struct {
	tail    evlog.Tail
	network bool
	lane    int // middleware id from the file name; 0 if it does not say
}

// timedRecord is a record that goes in in time order with those of the
// other files (control messages, leader views and marks, the network
// program's records); text stands for its Msg, which is not kept.
type timedRecord struct {
	lane int
	text string
	rec  evlog.Record
}

var mwFile = regexp.MustCompile(`(?i)^(?:middleware|mw)[-_]?(\d+)\.jsonl$`)

// maxLine bounds a line of a followed log: longer ones are corrupt.
const maxLine = 1 << 20

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
		f = &tailFile{tail: evlog.Tail{Path: path, MaxLine: maxLine}, network: strings.Contains(strings.ToLower(base), "netsim")}
		if !f.network {
			f.lane = evlog.FileMW(base)
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
	s.timed = s.timed[:0]
	for _, path := range s.discover() {
		f := s.file(path)
		f.tail.From, f.tail.MaxRead = s.Tail, s.MaxRead
		s.took, s.err = -f.tail.Bad, nil
		_, err := f.tail.Poll(func(r *evlog.Record) { s.take(m, f, r) })
		s.took += f.tail.Bad
		read = read || s.took > 0
		if err == nil {
			err = s.err
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Records from several files go in in time order: a control message's
	// "in" must come after its "out".
	s.order = s.order[:0]
	for i := range s.timed {
		s.order = append(s.order, int32(i))
	}
	slices.SortStableFunc(s.order, func(a, b int32) int {
		return cmp.Compare(s.timed[a].rec.TS, s.timed[b].rec.TS)
	})
	for _, i := range s.order {
		t := &s.timed[i]
		m.add(t.lane, &t.rec, t.text)
	}
	clear(s.timed) // (the texts)
	if read {
		m.Trim()
	}
	return read, firstErr
}

// take takes one record of file f: changes of a middleware's lists at
// once, the others after sorting (see timedRecord).
func (s *Source) take(m *Model, f *tailFile, r *evlog.Record) {
	s.took++
	switch r.Event {
	case evlog.Sent, evlog.Received, evlog.Ready, evlog.Diverged:
		if f.network {
			return
		}
		if r.MW == 0 && f.lane == 0 {
			if s.err == nil {
				s.err = fmt.Errorf("%s:%d: no \"mw\" field and the file name does not say which middleware wrote it (name it middleware-I.jsonl)", f.tail.Path, f.tail.Line())
			}
			return
		}
		m.add(f.lane, r, "")
	case evlog.Control, evlog.Leader, evlog.Mark:
		if !f.network {
			s.timed = append(s.timed, timedRecord{lane: f.lane, rec: *r})
			s.timed[len(s.timed)-1].rec.Msg = nil // (not kept)
		}
	case evlog.Accepted, evlog.Copy, evlog.Drop:
		if f.network {
			t := timedRecord{text: m.textOf(r.Msg), rec: *r}
			t.rec.Msg = nil
			s.timed = append(s.timed, t)
		}
	}
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
