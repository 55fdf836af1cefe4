// Command launch starts the lab: the network program with its window and
// n middleware windows, each a program of its own writing to this
// console, so that their errors stay on screen. It stops them all when
// the network program ends (its window closed), when one of them fails
// (status 1 or 2: a port in use, bad options, no display), or on Ctrl-C
// or a closed console. It only ever stops the processes it started: on
// Windows they are also in a job object that ends them if the launcher
// itself is killed. run.bat runs it; run.sh does the same in shell.
//
//	launch [-n 5] [-port 8081] [-control-base 9081] [-v]
//	       [-max-sleep 2s] [-drop P] [-dup P] [-seed S]   (network program)
//	       [-protocol P] [-suspect-after D] [-recover-after D] [-fsync] [-app auction]
//	                                                      (middlewares)
//	       [-bin bin] [-launcher run.bat] [-fresh]        (run.bat's own)
//
// With -fresh, once the options are known to be good, it deletes the last
// run's events logs and state and makes a new group key (logs/group.key),
// as run.sh does: bad options delete nothing. Every middleware is told the
// network program's maxSleepTime (-net-max-sleep, the -max-sleep given or
// the network program's default 2s).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"totalorder/internal/interrupt"
	"totalorder/internal/version"
	"totalorder/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	bin, launcher     string
	n, port, ctrlBase int
	verbose           bool
	fresh             bool // a fresh lab: clear the last run's logs and state, make a group key
	netArgs, mwArgs   []string
	stopWait          time.Duration
	stdoutOfPrograms  io.Writer
	stderrOfPrograms  io.Writer
}

// internalFlags are run.bat's to give, not the user's: the usage leaves
// them out.
var internalFlags = []string{"bin", "launcher", "fresh"}

// Where a fresh lab's files go, relative to the launcher's folder: the
// same as run.sh's.
const (
	logsDir      = "logs"
	stateDir     = "state"
	groupKeyFile = "logs/group.key"
	netsimEvents = "logs/netsim.jsonl"
)

// defaultMaxSleep is the network program's own default for -max-sleep:
// what the middlewares are told (-net-max-sleep) when none is given.
const defaultMaxSleep = "2s"

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{stopWait: 10 * time.Second, launcher: "run.bat"}
	fs := flag.NewFlagSet("launch", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors: one line from run; -help: usage below
	version.Flag(fs, "launch")
	fs.StringVar(&o.bin, "bin", "bin", "`dir`ectory of netsim and middleware")
	fs.StringVar(&o.launcher, "launcher", o.launcher, "the name that messages suggest to run again")
	fs.BoolVar(&o.fresh, "fresh", false, "start a fresh lab: delete the last run's events logs and state, make a new group key in "+groupKeyFile)
	fs.IntVar(&o.n, "n", 5, "number of middlewares, 2..16")
	fs.IntVar(&o.port, "port", 8081, "the network program's `port`; middleware i gets data on port+i")
	fs.IntVar(&o.ctrlBase, "control-base", 9081, "middleware i listens for control links on `port` control-base+i")
	fs.BoolVar(&o.verbose, "v", false, "the programs log what they do, not only errors")
	netFlags := [][2]string{
		{"max-sleep", "the network program's maxSleepTime: each copy waits at random up to this (`duration` like 3s or 500ms, or milliseconds; default 2s)"},
		{"drop", "the network program drops each copy with this `probability` (0..1)"},
		{"dup", "the network program duplicates each copy with this `probability` (0..1)"},
		{"seed", "the network program's random `seed` (the same delays every run)"},
	}
	mwFlags := [][2]string{
		{"protocol", "the middlewares' ordering `protocol`: raft (default), sequencer, isis, lamport or none"},
		{"suspect-after", "how long a silent peer is still shown as alive (`duration`)"},
		{"recover-after", "least wait for a message's network copy before it is delivered from the order (`duration`)"},
		{"app", "\"auction\": each window also hosts the replicated auction"},
	}
	for _, f := range netFlags {
		fs.String(f[0], "", f[1])
	}
	for _, f := range mwFlags {
		fs.String(f[0], "", f[1])
	}
	fsync := fs.Bool("fsync", false, "the middlewares flush their state to disk before acting on it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, o.launcher, stderr)
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.n < 2 || o.n > 16 {
		return o, fmt.Errorf("-n %d: want 2..16", o.n)
	}
	if o.port < 1 || o.port+o.n > 65535 || o.ctrlBase < 1 || o.ctrlBase+o.n > 65535 {
		return o, fmt.Errorf("-port %d, -control-base %d: the lab's ports must lie in 1..65535", o.port, o.ctrlBase)
	}
	if *fsync {
		o.mwArgs = append(o.mwArgs, "-fsync")
	}
	maxSleep := defaultMaxSleep
	fs.Visit(func(f *flag.Flag) {
		for _, nf := range netFlags {
			if nf[0] == f.Name {
				o.netArgs = append(o.netArgs, "-"+f.Name, f.Value.String())
			}
		}
		for _, mf := range mwFlags {
			if mf[0] == f.Name {
				o.mwArgs = append(o.mwArgs, "-"+f.Name, f.Value.String())
			}
		}
		if f.Name == "max-sleep" {
			maxSleep = f.Value.String()
		}
	})
	// The middlewares judge a network copy overdue by the network
	// program's maxSleepTime: tell them the one it is given, as given.
	o.mwArgs = append(o.mwArgs, "-net-max-sleep", maxSleep)
	return o, nil
}

// usage prints the user's options only.
func usage(fs *flag.FlagSet, launcher string, w io.Writer) {
	fmt.Fprintf(w, "usage: %s [options]   the lab: the Network window and a window per middleware\n", launcher)
	fmt.Fprintf(w, "       %s demo | check | timeline | compare [...]\n\noptions:\n", launcher)
	hidden := flag.NewFlagSet("", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(internalFlags, f.Name) {
			hidden.Var(f.Value, f.Name, f.Usage)
		}
	})
	hidden.SetOutput(w)
	hidden.PrintDefaults()
}

// freshStart clears what the last lab left that a new one must not take
// up (its events logs, which check and the timeline read, and the
// middlewares' state) and makes a new group secret, readable by this user
// only. Only the lab's own files go: the rest of logs/ stays.
func freshStart() error {
	if err := os.MkdirAll(logsDir, 0o755); err != nil {
		return err
	}
	for _, pattern := range []string{"middleware-*.jsonl", "middleware-*.jsonl.reserve", "netsim.jsonl", "selection.json"} {
		matches, _ := filepath.Glob(filepath.Join(logsDir, pattern))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return fmt.Errorf("cannot delete the last run's %s: %v", m, err)
			}
		}
	}
	if err := os.RemoveAll(stateDir); err != nil {
		return fmt.Errorf("cannot delete the last run's %s folder: %v", stateDir, err)
	}
	return middleware.WriteGroupKey(filepath.FromSlash(groupKeyFile))
}

// program is one started process of the lab.
type program struct {
	name string
	cmd  *exec.Cmd
	done bool
}

// exited is what a waiter reports: which program, and how it ended.
type exited struct {
	k   int
	err error
}

// run is main without the process: it returns the exit status. ctx ends
// on Ctrl-C or a closed console.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (see %s -help)\n", o.launcher, err, o.launcher)
		return 2
	}
	// Only now, the options being good, does anything get deleted.
	if o.fresh {
		if err := freshStart(); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", o.launcher, err)
			return 1
		}
		o.mwArgs = append(o.mwArgs, "-group-key-file", filepath.FromSlash(groupKeyFile))
	}
	if o.stdoutOfPrograms == nil {
		o.stdoutOfPrograms, o.stderrOfPrograms = os.Stdout, os.Stderr
	}
	return launch(ctx, o, stdout, stderr)
}

func launch(ctx context.Context, o options, stdout, stderr io.Writer) int {
	j, err := newJob()
	if err != nil {
		fmt.Fprintf(stderr, "launch: %v\n", err)
		return 1
	}
	defer j.close()

	var progs []*program
	exits := make(chan exited, o.n+1) // one per program: the waiters never block
	// The network program writes the error it fails with here too, so
	// that it can be quoted (its error output stays the console).
	netErrFile := filepath.Join(os.TempDir(), fmt.Sprintf("lab-netsim-error-%d", os.Getpid()))
	defer os.Remove(netErrFile)
	start := func(name, bin string, args ...string) error {
		cmd := exec.Command(filepath.Join(o.bin, bin), args...)
		if bin == "netsim" {
			os.Remove(netErrFile)
			cmd.Env = append(os.Environ(), "NETSIM_ERROR_FILE="+netErrFile)
		}
		cmd.Stdout, cmd.Stderr = o.stdoutOfPrograms, o.stderrOfPrograms
		cmd.SysProcAttr = interrupt.ProcAttr()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("cannot start %s: %v", name, err)
		}
		if err := j.add(cmd.Process); err != nil {
			fmt.Fprintf(stderr, "launch: %s will not be stopped if this console is killed: %v\n", name, err)
		}
		k := len(progs)
		progs = append(progs, &program{name: name, cmd: cmd})
		go func() { exits <- exited{k, cmd.Wait()} }() // owner: launch; ends with the process
		fmt.Fprintf(stdout, "started %s (pid %d)\n", name, cmd.Process.Pid)
		return nil
	}
	var verbose []string
	if o.verbose {
		verbose = []string{"-v"}
	}
	var peers []string
	for i := 1; i <= o.n; i++ {
		peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%d", i, o.ctrlBase+i))
	}

	failed := false // a program reported an error: look at the ports
	status := func() int {
		netLog := []string{"-quiet"} // the windows say what happens; the console shows errors (-v: more)
		if o.verbose {
			netLog = verbose
		}
		// -events (netsim) and -events-control (middlewares): what the
		// Timeline, a button in the Network window, draws.
		netArgs := []string{"-gui", "-reuse", "-port", strconv.Itoa(o.port), "-n", strconv.Itoa(o.n), "-events", filepath.FromSlash(netsimEvents)}
		if err := start("the network program", "netsim", append(append(netArgs, netLog...), o.netArgs...)...); err != nil {
			fmt.Fprintf(stderr, "launch: %v (build it first: go build -o %s%c ./cmd/netsim ./cmd/middleware)\n", err, o.bin, filepath.Separator)
			return 1
		}
		for i := 1; i <= o.n; i++ {
			args := append([]string{"-id", strconv.Itoa(i), "-n", strconv.Itoa(o.n), "-reuse", "-net-port", strconv.Itoa(o.port), "-events-control",
				"-control-port", strconv.Itoa(o.ctrlBase + i), "-peers", strings.Join(peers, ",")}, verbose...)
			if err := start(fmt.Sprintf("Middleware %d", i), "middleware", append(args, o.mwArgs...)...); err != nil {
				fmt.Fprintf(stderr, "launch: %v\n", err)
				return 1
			}
		}
		fmt.Fprintf(stdout, "lab running: close the Network window or press Ctrl-C to stop everything; then %s check\n", o.launcher)
		for {
			select {
			case <-ctx.Done():
				return 0 // a normal stop
			case e := <-exits:
				p := progs[e.k]
				p.done = true
				code := exitCode(e.err)
				switch {
				case code == 1 || code == 2:
					if b, err := os.ReadFile(netErrFile); e.k == 0 && err == nil && len(bytes.TrimSpace(b)) > 0 {
						fmt.Fprintf(stderr, "%s failed: %s\nStopping the lab.\n", p.name, bytes.TrimSpace(b))
					} else {
						fmt.Fprintf(stderr, "%s failed (its error is above): stopping the lab.\n", p.name)
					}
					failed = true
					return code
				case e.k == 0:
					if code != 0 {
						fmt.Fprintf(stderr, "the network program stopped (status %d): stopping the lab.\n", code)
					}
					return code
				default:
					fmt.Fprintf(stderr, "%s stopped (status %d); the others go on.\n", p.name, code)
				}
			}
		}
	}()
	stopAll(progs, exits, o.stopWait, stderr)
	if failed {
		// Ours are stopped: what still listens on the lab's ports is
		// someone else's. Checked, not guessed.
		if taken := takenPorts(o); len(taken) > 0 {
			fmt.Fprintf(stderr, "Another program listens on port %s: %s -port %d -control-base %d moves the lab's ports.\n",
				strings.Trim(fmt.Sprint(taken), "[]"), o.launcher, o.port+100, o.ctrlBase+100)
		}
	}
	return status
}

// takenPorts lists the lab's ports (the network program's, the data and
// the control ports) on which something accepts connections on loopback.
func takenPorts(o options) []int {
	ports := []int{o.port}
	for i := 1; i <= o.n; i++ {
		ports = append(ports, o.port+i)
	}
	for i := 1; i <= o.n; i++ {
		ports = append(ports, o.ctrlBase+i)
	}
	var taken []int
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), 300*time.Millisecond); err == nil {
			c.Close()
			taken = append(taken, p)
		}
	}
	return taken
}

// stopAll asks every program still running to stop (Ctrl-Break on
// Windows, SIGTERM elsewhere: each stops cleanly), waits up to wait for
// them, and kills those left.
func stopAll(progs []*program, exits chan exited, wait time.Duration, stderr io.Writer) {
	running := 0
	for _, p := range progs {
		if !p.done {
			running++
			if err := interrupt.Send(p.cmd.Process); err != nil {
				p.cmd.Process.Kill()
			}
		}
	}
	deadline := time.After(wait)
	for running > 0 {
		select {
		case e := <-exits:
			if !progs[e.k].done {
				progs[e.k].done = true
				running--
			}
		case <-deadline:
			for _, p := range progs {
				if !p.done {
					fmt.Fprintf(stderr, "%s did not stop within %v: killed\n", p.name, wait)
					p.cmd.Process.Kill()
				}
			}
			deadline = nil // the kills end them; wait for the reports
		}
	}
}

// exitCode is the status of a finished program (-1 if unknown).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
