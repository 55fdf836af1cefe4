// Command demo is a newcomer's first taste of the lab, with no display:
// it starts the network program and five headless middlewares, sends a few
// messages from each, prints the five Received lists and the five Ready
// lists side by side, and the order checker's verdict.
//
// With -app auction the middlewares run an auction instead: every one
// bids on every item it does not sell at the same moment, a few raise, the
// sellers close their items meanwhile, and the demo prints who won what
// according to each middleware's replica of the auction. With an ordering
// protocol the replicas agree; with -protocol none they may not.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"totalorder/auction"
	"totalorder/internal/lab"
	"totalorder/internal/launcher"
	"totalorder/internal/version"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

func main() {
	n := flag.Int("n", 5, "middlewares")
	each := flag.Int("each", 3, "messages each middleware sends")
	maxSleep := flag.Duration("max-sleep", 400*time.Millisecond, "the network program's maxSleepTime")
	protocol := flag.String("protocol", string(core.DefaultProtocol), protocolUsage())
	dir := flag.String("logs", "demo-logs", "where the events logs go")
	app := flag.String("app", "", "\"auction\": the middlewares bid and close items instead of sending plain messages, and the demo prints each replica's winners")
	version.Flag(nil, "demo")
	flag.Parse()
	p, err := core.ParseProtocol(*protocol)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: -protocol:", err)
		os.Exit(2)
	}
	if *app != "" && *app != "auction" {
		fmt.Fprintf(os.Stderr, "demo: -app %q: the one application is \"auction\" (or leave -app out)\n", *app)
		os.Exit(2)
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if *n < 2 || *n > 16 || *each < 1 {
		fmt.Fprintln(os.Stderr, "demo: want -n in 2..16 and -each 1 or more")
		os.Exit(2)
	}
	if err := run(*n, *each, *maxSleep, p, *dir, *app == "auction"); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
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
	b.WriteString("\n")
	return b.String()
}

func run(n, each int, maxSleep time.Duration, protocol core.Protocol, dir string, withAuction bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, done, err := lab.Programs(ctx, func() { fmt.Println("building the network program and the middleware…") })
	if err != nil {
		return err
	}
	defer done()
	os.RemoveAll(dir)
	fmt.Printf("starting the network program (maxSleepTime %v, one connection per message like the original) and %d headless middlewares (%s)…\n", maxSleep, n, protocol)
	l, err := lab.Start(lab.Config{Bin: bin, Dir: dir, N: n, Protocol: string(protocol), MaxSleep: maxSleep, Timeline: true})
	if err != nil {
		return err
	}
	defer l.Stop()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil { // joined: sends before that are held back
		return err
	}
	total := n * each
	if withAuction {
		if total, err = runAuction(l, n); err != nil {
			return err
		}
	} else {
		fmt.Printf("each middleware sends %d messages…\n", each)
		for k := 0; k < each; k++ {
			for i := 1; i <= n; i++ {
				if err := l.Send(i, 1); err != nil {
					return err
				}
			}
			time.Sleep(30 * time.Millisecond) // spread the sends a little, like clicks
		}
	}
	if err := l.WaitReady(ctx, l.IDs(), total, nil); err != nil {
		return err
	}
	l.Stop()
	var paths []string
	for i := 1; i <= n; i++ {
		paths = append(paths, l.LogPath(i))
	}
	incs, _, err := check.ParseFiles(paths)
	if err != nil {
		return err
	}
	readyTitle := "Ready (delivery order: the same in every window)"
	if !protocol.Orders() {
		readyTitle = "Ready (-protocol " + string(protocol) + ": as received, NOT ordered)"
	}
	printLists(incs, check.Received, "Received (arrival order: differs from window to window)")
	printLists(incs, check.Ready, readyTitle)
	var auctionErr error
	if withAuction {
		auctionErr = printWinners(os.Stdout, incs, n, protocol)
	}
	rep, verr := check.Check(incs, check.Options{Agreement: true})
	fmt.Println()
	rep.WriteText(os.Stdout)
	fmt.Printf("\nthe events logs are in %s; check them again with: %s\n", dir, launcher.Command("check", filepath.Join(dir, "*.jsonl")))
	fmt.Printf("draw them: %s (or -png timeline.png, -shiviz run.log)\n", launcher.Command("timeline", dir))
	if verr != nil {
		return verr
	}
	return auctionErr
}

// short names a message in a narrow column: "#3 of M2", or for the
// auction's "M3 110 Lamp" and "M1 close Lamp".
func short(msg string) string {
	m, ok := core.ParseMessage(msg)
	if !ok {
		return msg
	}
	if cmd, ok := auction.ParseBody(m.Body); ok {
		if cmd.Close {
			return fmt.Sprintf("M%d close %s", m.ID.Sender, cmd.Item)
		}
		return fmt.Sprintf("M%d %d %s", m.ID.Sender, cmd.Amount, cmd.Item)
	}
	if m.Body != "" {
		return fmt.Sprintf("#%d of M%d: %s", m.ID.Num, m.ID.Sender, m.Body)
	}
	return fmt.Sprintf("#%d of M%d", m.ID.Num, m.ID.Sender)
}

func printLists(incs []check.Incarnation, kind check.Kind, title string) {
	fmt.Printf("\n%s\n", title)
	cols := make([][]string, len(incs))
	rows := 0
	for c, inc := range incs {
		for _, e := range inc.Entries {
			if e.Kind == kind {
				s := short(e.Msg)
				if kind == check.Ready {
					s = fmt.Sprintf("%2d %s", e.Seq, s)
				}
				cols[c] = append(cols[c], s)
			}
		}
		if len(cols[c]) > rows {
			rows = len(cols[c])
		}
	}
	w := 15 // at least "Middleware 12" and a space
	for _, col := range cols {
		for _, s := range col {
			w = max(w, len(s)+2)
		}
	}
	var b strings.Builder
	for _, inc := range incs {
		fmt.Fprintf(&b, "%-*s", w, fmt.Sprintf("Middleware %d", inc.MW))
	}
	fmt.Println(strings.TrimRight(b.String(), " "))
	for r := 0; r < rows; r++ {
		b.Reset()
		for c := range incs {
			s := ""
			if r < len(cols[c]) {
				s = cols[c][r]
			}
			fmt.Fprintf(&b, "%-*s", w, s)
		}
		fmt.Println(strings.TrimRight(b.String(), " "))
	}
}
