// Command checkorder checks the events logs of a lab run: total order,
// contiguous seq numbers, integrity (nothing delivered twice, across a
// middleware's restarts too) and agreement, then prints latencies against
// the lower bound (content arrival) and a reference (send order). It names
// the first position where two Ready lists differ, reports the
// divergences the middlewares' live agreement checks recorded ("diverged"
// lines) beside its own findings, and calls a log incomplete, not wrong,
// where it says its writer could not write events ("lost" lines).
//
//	go run ./cmd/checkorder logs/*.jsonl
//
// Exit status: 0 all properties hold, 1 a property is violated, 2 usage or
// I/O error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"totalorder/internal/cliflags"
	"totalorder/internal/version"
	"totalorder/middleware/check"
	"totalorder/timeline"
)

// defaultLogs is where the lab writes its events logs.
const defaultLogs = "logs/*.jsonl"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("checkorder", flag.ContinueOnError)
	version.Flag(fs, "checkorder")
	fs.SetOutput(stderr)
	noAgreement := fs.Bool("no-agreement", false, "do not require every survivor to deliver every message (for runs stopped before quiescence)")
	crashed := fs.String("crashed", "", "comma-separated ids of middlewares whose last run crashed or was killed, e.g. 2,4")
	allowUnsent := fs.Bool("allow-unsent", false, "accept deliveries of messages no log shows as sent (for runs with missing logs)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("q", false, "print only the verdict line")
	shiviz := fs.String("shiviz", "", "also write the run as a ShiViz log (hosts and vector clocks) to `file`; a network program log (netsim.jsonl) among the files adds its host")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: checkorder [flags] [file or glob ...]   (default %s)\n", defaultLogs)
		fs.PrintDefaults()
	}

	// Flags may follow the files too: `checkorder logs/*.jsonl -q`.
	patterns, err := cliflags.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	crashedIDs, err := parseIDs(*crashed)
	if err != nil {
		fmt.Fprintf(stderr, "checkorder: -crashed %q: %v (want ids like 2,4)\n", *crashed, err)
		return 2
	}
	paths, err := expand(patterns)
	if err != nil {
		fmt.Fprintln(stderr, "checkorder:", err)
		return 2
	}
	// The network program's events log is for the timeline and ShiViz,
	// not for the checker.
	var mwPaths []string
	for _, p := range paths {
		if !strings.Contains(strings.ToLower(filepath.Base(p)), "netsim") {
			mwPaths = append(mwPaths, p)
		}
	}
	if *shiviz != "" {
		if err := writeShiViz(*shiviz, paths); err != nil {
			fmt.Fprintln(stderr, "checkorder: -shiviz:", err)
			return 2
		}
	}
	incs, warnings, err := check.ParseFiles(mwPaths)
	if err != nil {
		fmt.Fprintln(stderr, "checkorder:", err)
		return 2
	}
	if len(incs) == 0 {
		fmt.Fprintf(stderr, "checkorder: no sent/received/ready events in %s\n", strings.Join(paths, ", "))
		return 2
	}

	rep, verr := check.Check(incs, check.Options{
		Agreement:   !*noAgreement,
		Crashed:     crashedIDs,
		AllowUnsent: *allowUnsent,
	})
	rep.Warnings = append(warnings, rep.Warnings...)
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "checkorder:", err)
			return 2
		}
	case *quiet:
		fmt.Fprintln(stdout, rep.Verdict)
	default:
		rep.WriteText(stdout)
	}
	if verr != nil {
		return 1
	}
	return 0
}

// writeShiViz writes the run in paths as a ShiViz log (see package
// timeline, which draws the same data).
func writeShiViz(path string, paths []string) error {
	m, err := timeline.Load(timeline.NewFileSource(paths))
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = timeline.WriteShiViz(f, m)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parseIDs reads "2,4" into {2, 4}.
func parseIDs(list string) (map[int]bool, error) {
	ids := map[int]bool{}
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, nil
}

// expand turns the arguments into file paths: globs are expanded (the
// shell may not have, e.g. on Windows) and must match something; plain
// paths are kept for ParseFiles to open.
func expand(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		matches, err := filepath.Glob(filepath.FromSlash(defaultLogs))
		if err != nil || len(matches) == 0 {
			return nil, fmt.Errorf("no events logs match %s: run the lab first (it writes logs/middleware-I.jsonl) or name the files", defaultLogs)
		}
		return matches, nil
	}
	var paths []string
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?[") {
			paths = append(paths, p)
			continue
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %v", p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("no files match %s", p)
		}
		paths = append(paths, matches...)
	}
	return paths, nil
}
