// Command demo is a newcomer's first taste of the lab, with no display:
// it starts the network program and five headless middlewares, sends a few
// messages from each, prints the five Received lists and the five Ready
// lists side by side, and the order checker's verdict.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

func main() {
	n := flag.Int("n", 5, "middlewares")
	each := flag.Int("each", 3, "messages each middleware sends")
	maxSleep := flag.Duration("max-sleep", 400*time.Millisecond, "the network program's maxSleepTime")
	protocol := flag.String("protocol", string(core.DefaultProtocol), "raft, sequencer or isis")
	dir := flag.String("logs", "demo-logs", "where the events logs go")
	flag.Parse()
	p, err := core.ParseProtocol(*protocol)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: -protocol:", err)
		os.Exit(2)
	}
	if err := run(*n, *each, *maxSleep, string(p), *dir); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(n, each int, maxSleep time.Duration, protocol, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := os.MkdirTemp("", "lab-demo-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	fmt.Println("building the network program and the middleware…")
	if err := lab.Build(ctx, bin); err != nil {
		return err
	}
	os.RemoveAll(dir)
	fmt.Printf("starting the network program (maxSleepTime %v, one connection per message like the original) and %d headless middlewares (%s)…\n", maxSleep, n, protocol)
	l, err := lab.Start(lab.Config{Bin: bin, Dir: dir, N: n, Protocol: protocol, MaxSleep: maxSleep, Timeline: true})
	if err != nil {
		return err
	}
	defer l.Stop()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil { // joined: sends before that are held back
		return err
	}
	fmt.Printf("each middleware sends %d messages…\n", each)
	for k := 0; k < each; k++ {
		for i := 1; i <= n; i++ {
			if err := l.Send(i, 1); err != nil {
				return err
			}
		}
		time.Sleep(30 * time.Millisecond) // spread the sends a little, like clicks
	}
	if err := l.WaitReady(ctx, l.IDs(), n*each, nil); err != nil {
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
	printLists(incs, check.Received, "Received (arrival order: differs from window to window)")
	printLists(incs, check.Ready, "Ready (delivery order: the same in every window)")
	rep, verr := check.Check(incs, check.Options{Agreement: true})
	fmt.Println()
	rep.WriteText(os.Stdout)
	fmt.Printf("\nthe events logs are in %s/; check them again with: go run ./cmd/checkorder %s/*.jsonl\n", dir, dir)
	fmt.Printf("draw them: ./run.sh timeline %s (or -png timeline.png, -shiviz run.log)\n", dir)
	return verr
}

func short(msg string) string {
	var k, i int
	if _, err := fmt.Sscanf(msg, "Msg #%d from Middleware %d", &k, &i); err != nil {
		return msg
	}
	return fmt.Sprintf("#%d of M%d", k, i)
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
	const w = 15
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
