// Command middleware runs one middleware of the total-order lab: a window
// "Middleware I" by default, or a headless process driven by stdin commands.
//
//	middleware -id I [-n 5] [-net-port 8081] [-protocol raft|sequencer|isis|lamport|none]
//	           [-app auction] [-headless] [-events FILE] [-reuse] [-host H]
//	           [-net-host H] [-data-port P] [-control-port P]
//	           [-peers "1=host:port,2=host:port"] [-suspect-after 1s] [-v]
//	           [-group-key-file F]
//	middleware -new-group-key-file F   (write a fresh random group secret and exit)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"totalorder/gui/replay"
	"totalorder/internal/version"
	"totalorder/middleware"
	"totalorder/middleware/core"
	"totalorder/netsim"
)

// options are the parsed command line.
type options struct {
	headless bool
	verbose  bool
	newKey   string // -new-group-key-file: write a secret there and exit
	app      string // -app: "" or appAuction
	cfg      middleware.Config
}

func main() {
	opt, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "middleware: %v (see -help)\n", err)
		os.Exit(2)
	}
	if opt.newKey != "" {
		if err := middleware.WriteGroupKey(opt.newKey); err != nil {
			fmt.Fprintf(os.Stderr, "middleware: %v\n", err)
			os.Exit(1)
		}
		return
	}
	log := newLogger(opt.verbose)
	opt.cfg.Logger = log
	if !opt.headless && opt.cfg.EventsPath == "" {
		opt.cfg.EventsPath = fmt.Sprintf("logs/middleware-%d.jsonl", opt.cfg.ID)
	}
	node, err := middleware.New(opt.cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "middleware %d: %v\n", opt.cfg.ID, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The auction is a function of the whole Ready order: what earlier
	// runs delivered is read back from the events log before this run
	// delivers anything.
	past, err := replay.Past(node.EventsPath(), opt.cfg.ID)
	if err != nil {
		fmt.Fprintf(os.Stderr, "middleware %d: %v: the auction starts without the Ready messages before this start\n", opt.cfg.ID, err)
	}
	feed := newAuctionFeed(opt.cfg.ID, opt.cfg.N, opt.app == appAuction, past)
	if opt.headless {
		err = runHeadless(ctx, node, feed, os.Stdin, os.Stdout, log)
	} else {
		var commands io.Reader // a window takes stdin commands too when driven by a script
		if !isatty.IsTerminal(os.Stdin.Fd()) {
			commands = os.Stdin
		}
		err = runWindow(ctx, node, opt, feed, past, commands, log)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "middleware %d: %v\n", opt.cfg.ID, err)
		os.Exit(1)
	}
}

// protocolUsage is -protocol's help: every protocol, with its summary.
func protocolUsage() string {
	var b strings.Builder
	b.WriteString("ordering `protocol`:")
	for _, p := range core.Protocols {
		fmt.Fprintf(&b, "\n  %-9s %s", p, p.Summary())
	}
	b.WriteString("\n") // the default goes on a line of its own
	return b.String()
}

// originalMaxSleep is the lab's original network program's maxSleepTime,
// which a middleware assumes when it is not told the network's.
const originalMaxSleep = 20 * time.Second

// parseFlags reads the command line; -help prints the flags to help.
func parseFlags(args []string, help io.Writer) (options, error) {
	var (
		opt      options
		netHost  string
		netPort  int
		protocol string
		peers    string
		suspect  time.Duration
		netSleep string
		keyFile  string
		fs       = flag.NewFlagSet("middleware", flag.ContinueOnError)
		cfg      = &opt.cfg
	)
	fs.SetOutput(io.Discard) // errors are reported on one line by main
	version.Flag(fs, "middleware")
	fs.IntVar(&cfg.ID, "id", 0, "this middleware's id, 1..n (required)")
	fs.IntVar(&cfg.N, "n", 5, "number of middlewares, 2..16")
	fs.IntVar(&netPort, "net-port", 8081, "the network program's port")
	fs.StringVar(&netHost, "net-host", "", "the network program's host (default 127.0.0.1, else the host's own IPv4 addresses, where the original program listens)")
	fs.StringVar(&protocol, "protocol", string(core.DefaultProtocol), protocolUsage())
	fs.StringVar(&opt.app, "app", "", "the application on top: \"auction\" opens the window on its Auction tab and makes \"status\" always print the auction's line (the tab and the bid and close commands are there either way)")
	fs.BoolVar(&opt.headless, "headless", false, "no window: read commands (send, send K, bid ITEM AMOUNT, close ITEM, status, isolate [DURATION|off], quit) on stdin")
	fs.StringVar(&cfg.EventsPath, "events", "", "append list changes as JSON lines to `file` (default logs/middleware-I.jsonl with a window)")
	fs.BoolVar(&cfg.EventsControl, "events-control", false, "also log every control message sent and received, and leader changes, in the events log (for the timeline)")
	fs.BoolVar(&cfg.Reuse, "reuse", false, "keep one connection open to the network program (ours, started with -reuse)")
	fs.StringVar(&cfg.Host, "host", "", "host to listen on for data and control (default 127.0.0.1, and for data also the host's own IPv4 addresses, where the original program sends)")
	fs.IntVar(&cfg.DataPort, "data-port", 0, "data port (default net-port+id)")
	fs.IntVar(&cfg.ControlPort, "control-port", 0, "control port (default 9081+id)")
	fs.StringVar(&peers, "peers", "", "control addresses of peers, `\"1=host:port,2=host:port\"` (default 127.0.0.1:9081+j)")
	fs.DurationVar(&suspect, "suspect-after", time.Second, "how long a silent peer is still shown as alive (status lines only)")
	fs.StringVar(&cfg.StateDir, "state-dir", "state", "`folder` for the durable protocol state; started again with the same folder, a middleware takes up where it stopped (\"\": none)")
	fs.BoolVar(&cfg.Fsync, "fsync", false, "flush the state to disk before acting on it (survives a power cut, not only kill -9; slower)")
	fs.BoolVar(&cfg.Core.Rejoin, "rejoin", false, "this middleware lost its state folder: ask the group to take it back (raft membership change; raft only)")
	fs.BoolVar(&cfg.Core.NoAgreementCheck, "no-agreement-check", false, "send no agreement digests (to measure what the live agreement check costs)")
	fs.DurationVar(&cfg.Core.RecoverAfter, "recover-after", 5*time.Second, "least wait for an ordered message's network copy before it is delivered from the order (the wait also grows past the longest network delay seen)")
	fs.StringVar(&netSleep, "net-max-sleep", originalMaxSleep.String(), "the network program's maxSleepTime (its -max-sleep: a duration, or milliseconds): a network copy is taken for lost, and its message delivered from the order, only twice this after a later message's copy arrived, or 4.5 times it with none; the default is the lab's original program's; run.sh and run.bat pass what they give our network program")
	fs.Bool("quiet", false, "log errors only (the default; kept for scripts)")
	fs.BoolVar(&opt.verbose, "v", false, "log what happens: links, the network program, warnings (by default only errors)")
	fs.StringVar(&keyFile, "group-key-file", "", "the lab's group secret, in a `file` only you can read (the same for every middleware); without it a well-known secret is used and only loopback is allowed")
	fs.StringVar(&opt.newKey, "new-group-key-file", "", "write a fresh random group secret to `file` (readable by you only) and exit")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(help)
			fmt.Fprintln(help, "usage: middleware -id I [flags]")
			fs.PrintDefaults()
		}
		return opt, err
	}
	if fs.NArg() > 0 {
		return opt, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if opt.newKey != "" {
		return opt, nil
	}
	if opt.app != "" && opt.app != appAuction {
		return opt, fmt.Errorf("-app %.20q: the one application is %q (or leave -app out)", opt.app, appAuction)
	}
	if keyFile != "" {
		var err error
		if cfg.GroupKey, err = middleware.LoadGroupKey(keyFile); err != nil {
			return opt, err
		}
	}
	if cfg.N < 2 || cfg.N > 16 {
		return opt, fmt.Errorf("-n %d: want 2..16", cfg.N)
	}
	if cfg.ID < 1 || cfg.ID > cfg.N {
		return opt, fmt.Errorf("-id %d: want 1..%d", cfg.ID, cfg.N)
	}
	p, err := core.ParseProtocol(protocol)
	if err != nil {
		return opt, fmt.Errorf("-protocol: %v", err)
	}
	cfg.Protocol = p
	if cfg.Core.Rejoin && !p.CanRejoin() {
		return opt, fmt.Errorf("-rejoin: only raft can take back a member that lost its state; with %s, restart the lab with fresh state folders", p)
	}
	if cfg.Core.RecoverAfter <= 0 {
		return opt, fmt.Errorf("-recover-after %v: want a positive duration", cfg.Core.RecoverAfter)
	}
	if cfg.Core.NetMaxSleep, err = netsim.ParseMaxSleep(netSleep); err != nil {
		return opt, fmt.Errorf("-net-max-sleep: %v", err)
	}
	if netPort < 1 || netPort+cfg.N > 65535 {
		return opt, fmt.Errorf("-net-port %d out of range", netPort)
	}
	if cfg.DataPort == 0 {
		cfg.DataPort = netPort + cfg.ID
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"-data-port", cfg.DataPort}, {"-control-port", cfg.ControlPort}} {
		if p.v < 0 || p.v > 65535 {
			return opt, fmt.Errorf("%s %d out of range 1..65535", p.name, p.v)
		}
	}
	if suspect <= 0 {
		return opt, fmt.Errorf("-suspect-after %v: want a positive duration", suspect)
	}
	cfg.Core.SuspectAfter = suspect
	cfg.NetAddr = net.JoinHostPort(netHost, strconv.Itoa(netPort))
	if cfg.PeerAddrs, err = parsePeers(peers, cfg.N); err != nil {
		return opt, err
	}
	return opt, nil
}

// parsePeers reads "1=host:port,2=host:port".
func parsePeers(s string, n int) (map[int]string, error) {
	peers := make(map[int]string)
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, addr, ok := strings.Cut(item, "=")
		id, err := strconv.Atoi(k)
		if !ok || err != nil || id < 1 || id > n {
			return nil, fmt.Errorf("-peers entry %q: want id=host:port with id in 1..%d", item, n)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("-peers entry %q: want id=host:port", item)
		}
		peers[id] = addr
	}
	return peers, nil
}

// newLogger logs to stderr: human-readable on a terminal, JSON otherwise;
// errors only unless verbose, so that a clean stop (peers going away at the
// same moment) prints nothing.
func newLogger(verbose bool) zerolog.Logger {
	var w io.Writer = os.Stderr
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		w = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}
	}
	level := zerolog.ErrorLevel
	if verbose {
		level = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// runHeadless runs node until ctx is done or "quit" is read. End of input
// does not stop it: a process started with stdin closed keeps serving
// until it is signalled. feed follows the auction for the commands.
func runHeadless(ctx context.Context, node *middleware.Node, feed *auctionFeed, in io.Reader, out io.Writer, log zerolog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer node.Subscribe(feed.onEvents)() // before Run: every Ready event
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	go readCommands(in, &commander{node: node, auction: feed, out: out, log: log}, cancel)
	return <-done
}

// readCommands carries out stdin commands until the input ends; "quit"
// calls quit. It blocks in a read of stdin that cannot be interrupted, so
// it ends with the input or with the process.
func readCommands(in io.Reader, c *commander, quit func()) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if c.command(sc.Text()) {
			quit()
			return
		}
	}
}

// commandNode is what the commands drive: a *middleware.Node.
type commandNode interface {
	Send(count int)
	SendText(body string) error
	Status() middleware.Status
	Isolate(d time.Duration)
}

// commander carries out stdin commands; bad ones are logged on one line
// each, and the program goes on.
type commander struct {
	node    commandNode
	auction *auctionFeed
	out     io.Writer
	log     zerolog.Logger
}

const commandList = "send, send K, bid ITEM AMOUNT, close ITEM, status, isolate [DURATION|off] or quit"

// command carries out one stdin line; it reports whether it was "quit".
func (c *commander) command(line string) (quit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	node := c.node
	switch {
	case f[0] == "send" && len(f) == 1:
		node.Send(1)
	case f[0] == "send" && len(f) == 2:
		k, err := strconv.Atoi(f[1])
		if err != nil || k < 1 || k > 10_000_000 {
			c.log.Error().Msgf("command %q: want send K with K in 1..10000000", line)
			return false
		}
		node.Send(k)
	case f[0] == "bid" || f[0] == "close":
		body, err := c.auction.bidBody(f[1:])
		if f[0] == "close" {
			body, err = c.auction.closeBody(f[1:])
		}
		if err == nil {
			err = node.SendText(body)
		}
		if err != nil {
			c.log.Error().Msgf("command %.60q: %v", line, err)
		}
	case f[0] == "status" && len(f) == 1:
		fmt.Fprintln(c.out, middleware.StatusLine(node.Status()))
		if line, show := c.auction.summary(); show {
			fmt.Fprintln(c.out, line)
		}
	case f[0] == "isolate" && len(f) == 1:
		node.Isolate(-1)
	case f[0] == "isolate" && len(f) == 2 && f[1] == "off":
		node.Isolate(0)
	case f[0] == "isolate" && len(f) == 2:
		d, err := time.ParseDuration(f[1])
		if err != nil || d <= 0 {
			c.log.Error().Msgf("command %q: want isolate, isolate DURATION (e.g. 3s) or isolate off", line)
			return false
		}
		node.Isolate(d)
	case f[0] == "quit" && len(f) == 1:
		return true
	default:
		c.log.Error().Msgf("unknown command %.60q: want "+commandList, line)
	}
	return false
}
