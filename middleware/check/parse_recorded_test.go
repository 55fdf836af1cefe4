package check

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// recorded is where the events log package keeps runs recorded before it
// existed (the middleware wrote through zerolog: "level" and "time" in
// every line), and recorded.golden the same runs in today's format.
const recorded = "../../internal/evlog/testdata/recorded"

// Logs written before the events log package read as the same logs
// written by it, and the recorded raft run (a cut link, a pause, a kill
// and a restart) passes while the run without ordering does not.
func TestRecordedLogsOldAndNew(t *testing.T) {
	golden, err := os.ReadFile(recorded + ".golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"raft", "none"} {
		t.Run(run, func(t *testing.T) {
			old, _ := filepath.Glob(filepath.Join(recorded, run, "middleware-*.jsonl"))
			dir := t.TempDir()
			var now []string
			for _, sec := range strings.Split(string(golden), "# ")[1:] {
				name, body, _ := strings.Cut(sec, "\n")
				r, file, _ := strings.Cut(name, "/")
				if r == run && strings.HasPrefix(file, "middleware-") {
					p := filepath.Join(dir, file)
					if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
					now = append(now, p)
				}
			}
			if len(old) != 3 || len(now) != 3 {
				t.Fatalf("%d and %d logs", len(old), len(now))
			}
			a, warnA, err := ParseFiles(old)
			if err != nil {
				t.Fatal(err)
			}
			b, warnB, err := ParseFiles(now)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnA)+len(warnB) != 0 {
				t.Errorf("warnings %q %q", warnA, warnB)
			}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("older logs read as\n%+v\ntoday's as\n%+v", a, b)
			}
			rep, err := Check(a, Options{Agreement: true, Crashed: map[int]bool{}})
			switch {
			case run == "raft" && err != nil:
				t.Errorf("the raft run: %v", err)
			case run == "none" && (err == nil || len(rep.Recorded) != 6):
				t.Errorf("the run without ordering: %v, %d divergences recorded", err, len(rep.Recorded))
			}
			if run == "raft" && (len(a) != 4 || a[3].MW != 3) {
				t.Errorf("%d incarnations, want 4 (Middleware 3 restarted)", len(a))
			}
		})
	}
}
