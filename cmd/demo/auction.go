package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"totalorder/auction"
	"totalorder/internal/lab"
	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// runAuction drives the auction through the middlewares' stdin commands
// and returns how many messages it sent. Three waves, sent so that the
// order matters:
//
//  1. every middleware bids the starting price plus auction.Step on every
//     item it does not sell, all at once: the first bid ordered leads,
//     the others are refused (not above the price);
//  2. the middleware after each seller raises by another step, and at the
//     same moment
//  3. each seller closes its items: a raise ordered after the close is
//     refused, one ordered before it wins.
func runAuction(l *lab.Lab, n int) (int, error) {
	items := auction.Items(n)
	sent := 0
	command := func(i int, line string) error {
		sent++
		return l.Command(i, line)
	}
	fmt.Printf("auction of %s: every middleware bids on every item it does not sell at once, then one raises each item while its seller closes it…\n", catalogue(items))
	for _, it := range items {
		for i := 1; i <= n; i++ {
			if i == it.Seller {
				continue
			}
			if err := command(i, fmt.Sprintf("bid %s %d", it.Name, it.Start+auction.Step)); err != nil {
				return sent, err
			}
		}
	}
	time.Sleep(30 * time.Millisecond) // like a second click: a raise soon after
	for _, it := range items {
		if err := command(it.Seller%n+1, fmt.Sprintf("bid %s %d", it.Name, it.Start+2*auction.Step)); err != nil {
			return sent, err
		}
		if err := command(it.Seller, "close "+it.Name); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// catalogue words the items: "Lamp 100 (M1), Bike 200 (M2), …".
func catalogue(items []auction.Item) string {
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%s %d (M%d)", it.Name, it.Start, it.Seller))
	}
	return strings.Join(parts, ", ")
}

// replicas applies each middleware's Ready list, in its order, to a
// replica of the auction: what that middleware's own replica computed.
func replicas(incs []check.Incarnation, n int) []*auction.Replica {
	out := make([]*auction.Replica, len(incs))
	for k, inc := range incs {
		r := auction.New(auction.Items(n))
		for _, e := range inc.Entries {
			if e.Kind == check.Ready {
				r.Apply(e.Msg)
			}
		}
		out[k] = r
	}
	return out
}

// printWinners prints who won what by each middleware's replica, and
// whether they agree. Disagreeing is an error unless the protocol orders
// nothing, where it is the lesson.
func printWinners(w io.Writer, incs []check.Incarnation, n int, protocol core.Protocol) error {
	rs := replicas(incs, n)
	items := auction.Items(n)
	fmt.Fprintln(w, "\nWinners, by each middleware's replica of the auction (its Ready list applied in order):")
	rows := [][]string{{""}}
	for _, it := range items {
		rows[0] = append(rows[0], fmt.Sprintf("%s (M%d)", it.Name, it.Seller))
	}
	rows[0] = append(rows[0], "digest")
	for k, r := range rs {
		row := append([]string{fmt.Sprintf("Middleware %d", incs[k].MW)}, r.Winners()...)
		rows = append(rows, append(row, r.Digest()[:8]))
	}
	printTable(w, rows)

	agree := true
	for _, r := range rs[1:] {
		if r.Digest() != rs[0].Digest() {
			agree = false
		}
	}
	switch {
	case agree:
		fmt.Fprintf(w, "all %d replicas agree: the same bids accepted and refused, the same winners.\n", len(rs))
	case !protocol.Orders():
		fmt.Fprintf(w, "the replicas DISAGREE: -protocol %s orders nothing, so each applied the bids and closes in its own arrival order.\n", protocol)
	default:
		return fmt.Errorf("the auction's replicas disagree under -protocol %s, which orders", protocol)
	}
	return nil
}

// printTable prints rows in columns as wide as their widest cell.
func printTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for c, s := range row {
			if c == len(widths) {
				widths = append(widths, 0)
			}
			widths[c] = max(widths[c], len(s))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for c, s := range row {
			fmt.Fprintf(&b, "%-*s  ", widths[c], s)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
