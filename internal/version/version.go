// Package version is the lab's version, the same for every program. A
// build from source says "dev"; the release build (cmd/dist) sets both
// variables with the linker:
//
//	-ldflags "-X totalorder/internal/version.Version=1.0.0 -X totalorder/internal/version.Commit=abc1234"
package version

import (
	"flag"
	"fmt"
	"io"
	"os"
)

var (
	// Version is the release, e.g. "1.0.0"; "dev" when built from source.
	Version = "dev"
	// Commit is the source's commit, abbreviated; "" when unknown.
	Commit = ""
)

// String is what -version prints: "netsim 1.0.0 (commit abc1234)".
func String(program string) string {
	if Commit == "" {
		return program + " " + Version
	}
	return fmt.Sprintf("%s %s (commit %s)", program, Version, Commit)
}

// Flag adds -version to fs (flag.CommandLine if nil): given, it prints
// String(program) on standard output and exits with status 0 at once,
// before any other option is checked.
func Flag(fs *flag.FlagSet, program string) {
	flagTo(fs, program, os.Stdout, os.Exit)
}

func flagTo(fs *flag.FlagSet, program string, w io.Writer, exit func(int)) {
	if fs == nil {
		fs = flag.CommandLine
	}
	fs.BoolFunc("version", "print the version and exit", func(string) error {
		fmt.Fprintln(w, String(program))
		exit(0)
		return nil
	})
}
