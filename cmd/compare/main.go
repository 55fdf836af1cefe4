// Command compare runs the same seeded workload under every protocol in
// turn (the network program and five headless middlewares, real
// processes) and prints one table: agreement, ordering and end-to-end
// latency, control messages per message and, with -pause, what happened
// while one middleware was stopped. It also writes the table, a chart
// (PNG and SVG) and the numbers (JSON) to -out. The logic is in
// internal/compare.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"totalorder/internal/compare"
	"totalorder/internal/lab"
	"totalorder/internal/launcher"
	"totalorder/internal/version"
	"totalorder/middleware/core"
	"totalorder/netsim"
)

func main() {
	var cfg compare.Config
	cfg.MaxSleep = time.Second
	names := make([]string, len(core.Protocols))
	for i, p := range core.Protocols {
		names[i] = string(p)
	}
	flag.IntVar(&cfg.N, "n", 5, "middlewares, every one a sender")
	flag.IntVar(&cfg.Each, "each", 20, "messages each middleware sends")
	flag.Float64Var(&cfg.Rate, "rate", 4, "messages a second each middleware sends (seeded send times)")
	flag.Func("max-sleep", "the network program's maxSleepTime: a duration (1s, 500ms) or milliseconds (default 1s)", func(s string) error {
		d, err := netsim.ParseMaxSleep(s)
		cfg.MaxSleep = d
		return err
	})
	flag.Int64Var(&cfg.Seed, "seed", 1, "seed of the network program's delays and of the send times, the same for every protocol (0: pick one)")
	protocols := flag.String("protocols", "", "protocols to compare, comma-separated (default all: "+strings.Join(names, ",")+")")
	flag.BoolVar(&cfg.Pause, "pause", false, "stop one middleware (SIGSTOP) mid-run, then continue it (Linux/macOS)")
	flag.DurationVar(&cfg.PauseFor, "pause-for", 3*time.Second, "how long -pause stops it")
	flag.IntVar(&cfg.PauseID, "pause-id", 0, "which middleware -pause stops (0: the leader where the protocol has one, else the last)")
	flag.DurationVar(&cfg.Stall, "stall", 0, "report a protocol stalled after this long with no delivery (0: 8s, or 5s + 2×max-sleep if longer)")
	flag.StringVar(&cfg.Out, "out", "logs/compare", "where the table (compare.md), chart (compare.png, compare.svg), numbers (compare.json) and each run's logs go")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: compare [flags]\n\nRuns the same seeded workload under each protocol and compares them in one table and chart.\n\n")
		flag.PrintDefaults()
	}
	version.Flag(nil, "compare")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "compare: unexpected argument %q (see -help)\n", flag.Arg(0))
		os.Exit(2)
	}
	if *protocols != "" {
		cfg.Protocols = strings.Split(*protocols, ",")
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()%1_000_000 + 1
	}
	cfg.Log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(cfg compare.Config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bin, done, err := lab.Programs(ctx, func() { fmt.Fprintln(os.Stderr, "building the network program and the middleware…") })
	if err != nil {
		return err
	}
	defer done()
	cfg.Bin = bin
	res, err := compare.Run(ctx, cfg)
	if res == nil {
		return err
	}
	if len(res.Rows) > 0 {
		fmt.Printf("\n%s.\n\n%s", res.Summary(), res.Table())
		paths, werr := res.WriteFiles(cfg.Out)
		if werr != nil {
			return errors.Join(err, werr)
		}
		fmt.Printf("\nwritten: %s\n", strings.Join(paths, ", "))
		fmt.Printf("each run's events logs: %s/<protocol>/ (draw one: %s)\n", cfg.Out, launcher.Command("timeline", filepath.Join(cfg.Out, res.Rows[0].Protocol)))
	}
	return err
}
