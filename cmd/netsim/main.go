// Command netsim is the lab's network program: it relays every message
// received on -port to ports port+1 … port+n, each copy after its own
// random delay. Commands on stdin change it while it runs (type help).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"totalorder/internal/version"
	"totalorder/netsim"
)

func main() {
	errOut := &errorRecorder{File: os.Stderr}
	code := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, errOut)
	if p := os.Getenv(errorFileEnv); p != "" && code != exitOK {
		_ = os.WriteFile(p, []byte(errOut.last()+"\n"), 0o644) // best effort
	}
	os.Exit(code)
}

// errorFileEnv names a file where a network program that fails writes
// its last error line, so that a launcher can quote it (the program's
// error output stays the terminal).
const errorFileEnv = "NETSIM_ERROR_FILE"

// errorRecorder is stderr, remembering its last line.
type errorRecorder struct {
	*os.File
	mu   sync.Mutex
	line []byte
	prev []byte
}

func (r *errorRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	for _, c := range b {
		if c == '\n' {
			if len(bytes.TrimSpace(r.line)) > 0 {
				r.prev = append(r.prev[:0], r.line...)
			}
			r.line = r.line[:0]
		} else if len(r.line) < 4096 {
			r.line = append(r.line, c)
		}
	}
	r.mu.Unlock()
	return r.File.Write(b)
}

// last is the last non-empty line written.
func (r *errorRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(bytes.TrimSpace(r.line)) > 0 {
		return string(bytes.TrimSpace(r.line))
	}
	return string(bytes.TrimSpace(r.prev))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // port in use, cannot listen
	exitUsage   = 2 // bad flags
)

// run is main without the process: it returns the exit code. Commands are
// read from stdin (nil: none); replies go to stdout, logs to stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, withWindow, code, ok := parseFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	srv, err := netsim.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "netsim: %v\n", err)
		return exitFailure
	}

	// "quit" on stdin stops it as a signal does (on Windows, where a
	// program cannot be sent SIGTERM, that is how a script stops it).
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, a second one kills at once instead of
	// waiting out the grace period.
	context.AfterFunc(ctx, stop)

	if stdin != nil {
		// A read from a terminal cannot be interrupted: this goroutine
		// ends at end of input, at "quit", or with the process.
		go func() {
			switch err := srv.ServeCommands(ctx, stdin, stdout); {
			case errors.Is(err, netsim.ErrQuit):
				quit()
			case err != nil:
				cfg.Logger.Warn().Err(err).Msg("reading commands from stdin stopped")
			}
		}()
	}
	if withWindow {
		err = runWindow(ctx, srv)
	} else {
		err = srv.Run(ctx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "netsim: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// maxSleepFlag accepts a Go duration or bare milliseconds.
type maxSleepFlag struct{ d *time.Duration }

func (f maxSleepFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f maxSleepFlag) Set(s string) error {
	d, err := netsim.ParseMaxSleep(s)
	if err != nil {
		return errors.New("want a duration such as 2s or 500ms, or milliseconds")
	}
	*f.d = d
	return nil
}

// destsFlag is a comma-separated list of host:port.
type destsFlag struct{ list *[]string }

func (f destsFlag) String() string {
	if f.list == nil {
		return ""
	}
	return strings.Join(*f.list, ",")
}

func (f destsFlag) Set(s string) error {
	*f.list = nil
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*f.list = append(*f.list, a)
		}
	}
	return nil
}

// parseFlags turns the command line into a checked Config. On failure it
// has printed one line (or the usage for -h) and returns the exit code.
func parseFlags(args []string, stdout, stderr io.Writer) (cfg netsim.Config, withWindow bool, code int, ok bool) {
	cfg = netsim.Config{MaxSleep: netsim.DefaultMaxSleep}
	fs := flag.NewFlagSet("netsim", flag.ContinueOnError)
	version.Flag(fs, "netsim")
	fs.BoolVar(&withWindow, "gui", false, "open the Network window (maxSleepTime slider, fault injection, counters)")
	fs.StringVar(&cfg.Listen, "listen", "", "`host` to listen on (default 127.0.0.1 and this host's own addresses, as the original uses; 0.0.0.0 for every interface)")
	fs.IntVar(&cfg.Port, "port", netsim.DefaultPort, "`port` senders connect to")
	fs.IntVar(&cfg.N, "n", netsim.DefaultN, "number of destinations: ports port+1 … port+n")
	fs.StringVar(&cfg.DestHost, "dest-host", "", "`host` of the destinations (default 127.0.0.1, else this host's own addresses where a destination listens only there)")
	fs.Var(destsFlag{&cfg.Dests}, "dests", "explicit destinations `host:port,...` (overrides -n and -dest-host)")
	fs.Var(maxSleepFlag{&cfg.MaxSleep}, "max-sleep", "upper bound of each copy's random delay: a duration (2s, 500ms) or milliseconds")
	fs.DurationVar(&cfg.Late, "late", 0, "each copy may wait up to this much past its random delay, as the lab's original program's copies do under mono when its thread pool is busy (e.g. -max-sleep 20s -late 7s, to try middlewares against it)")
	fs.Int64Var(&cfg.Seed, "seed", 0, "seed for reproducible delays (0: random; delays follow the order messages are accepted)")
	fs.BoolVar(&cfg.Reuse, "reuse", false, "keep one connection per destination open (faster; the default is one connection per copy, like the original)")
	fs.Float64Var(&cfg.Drop, "drop", 0, "probability of dropping each copy (fault injection)")
	fs.Float64Var(&cfg.Dup, "dup", 0, "probability of delivering each copy twice (fault injection)")
	fs.DurationVar(&cfg.RetryFor, "retry-for", netsim.DefaultRetryFor, "how long to retry a destination that is down before counting its copies as failed")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", netsim.DefaultIdleTimeout, "close sender connections idle this long (0: never)")
	fs.IntVar(&cfg.MaxConns, "max-conns", netsim.DefaultMaxConns, "cap on concurrent sender connections")
	fs.DurationVar(&cfg.ShutdownGrace, "grace", netsim.DefaultShutdownGrace, "at shutdown, time allowed to deliver the copies still in flight")
	fs.StringVar(&cfg.EventsPath, "events", "", "append the timeline's events (message accepted, each copy with its delay) as JSON lines to `file`, e.g. logs/netsim.jsonl")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "log errors only (no start line, warnings or summary); with -v: no line per message and copy")
	verbose := fs.Bool("v", false, "also log every message and every copy (by default: the start line, warnings, errors and the summary at the end)")
	originalConsole := fs.Bool("original-console", false, "print on stdout what the original program prints: \"Waiting for a connection...\", \"Message received: ...\" and each copy's \"delay time for 8082 is 1234\"")
	fs.SetOutput(io.Discard) // errors are reported as one line below
	fs.Usage = func() {}

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stdout, "usage: netsim [flags]   (commands on stdin: type help)")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return cfg, false, exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "netsim: %v (netsim -h lists the flags)\n", err)
		return cfg, false, exitUsage, false
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "netsim: unexpected argument %q (netsim -h lists the flags)\n", fs.Arg(0))
		return cfg, false, exitUsage, false
	}
	// In Config a zero means "the default"; on the command line it is
	// more likely a mistake, so say so.
	switch {
	case cfg.N < 1 && len(cfg.Dests) == 0:
		return usageError(stderr, "-n %d: need at least one destination", cfg.N)
	case cfg.RetryFor <= 0:
		return usageError(stderr, "-retry-for %v: must be positive", cfg.RetryFor)
	case cfg.MaxConns < 1:
		return usageError(stderr, "-max-conns %d: must be at least 1", cfg.MaxConns)
	case cfg.ShutdownGrace <= 0:
		return usageError(stderr, "-grace %v: must be positive", cfg.ShutdownGrace)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = -1 // 0 on the command line: never time out
	}
	if cfg.Port == 0 && len(cfg.Dests) == 0 {
		fmt.Fprintln(stderr, "netsim: -port 0 needs -dests: destinations are numbered from the port (netsim -h lists the flags)")
		return cfg, false, exitUsage, false
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "netsim: %v (netsim -h lists the flags)\n", err)
		return cfg, false, exitUsage, false
	}
	// By default the start line (where it listens, maxSleepTime), warnings
	// (a middleware not listening), errors and the summary at the end; -v
	// adds a line per message and per copy; -quiet alone leaves errors.
	level := zerolog.InfoLevel
	if cfg.Quiet && !*verbose {
		level = zerolog.ErrorLevel
	}
	cfg.Quiet = cfg.Quiet || !*verbose
	cfg.Logger = newLogger(stderr, level)
	if *originalConsole {
		cfg.OriginalConsole = stdout
	}
	return cfg, withWindow, exitOK, true
}

func usageError(stderr io.Writer, format string, args ...any) (netsim.Config, bool, int, bool) {
	fmt.Fprintf(stderr, "netsim: "+format+" (netsim -h lists the flags)\n", args...)
	return netsim.Config{}, false, exitUsage, false
}

// newLogger writes readable lines to a terminal and JSON lines otherwise.
func newLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00" // milliseconds: delays are that small
	if f, ok := w.(interface{ Fd() uintptr }); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
