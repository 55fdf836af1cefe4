package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/gui/replay"
	"totalorder/internal/testbuf"
	"totalorder/middleware"
	"totalorder/middleware/core"
)

// fakeNode records what the commands ask of a middleware.
type fakeNode struct {
	mu    sync.Mutex
	texts []string
	sends []int
}

func (f *fakeNode) Send(k int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, k)
}

func (f *fakeNode) SendText(body string) error {
	if err := core.CheckBody(body); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.texts = append(f.texts, body)
	return nil
}

func (f *fakeNode) Status() middleware.Status {
	return middleware.Status{ID: 2, N: 5, Protocol: "raft", Leader: 1, Alive: []int{1, 2}}
}

func (f *fakeNode) Isolate(time.Duration) {}

func TestAuctionCommands(t *testing.T) {
	node := &fakeNode{}
	var out, logs bytes.Buffer
	feed := newAuctionFeed(2, 5, false, nil) // Middleware 2 of 5 sells the Bike
	c := &commander{node: node, auction: feed, out: &out, log: zerolog.New(&logs)}
	for _, line := range []string{
		"bid Lamp 130",
		"bid lamp 140", // names in any case; sent as the catalogue spells them
		"bid Sofa 10",
		"bid Lamp x",
		"bid Lamp 0",
		"bid Lamp",
		"bid Lamp 10 20",
		"close Lamp", // Middleware 1's
		"close Bike",
		"close",
		"status",
	} {
		if c.command(line) {
			t.Fatalf("%q quit", line)
		}
	}
	if got, want := fmt.Sprint(node.texts), "[Bid 130 on Lamp Bid 140 on Lamp Close Bike]"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	errs := strings.Split(strings.TrimSpace(logs.String()), "\n")
	wantErrs := []string{`no item \"Sofa\"`, `amount \"x\"`, `amount \"0\"`, `want bid ITEM AMOUNT`, `want bid ITEM AMOUNT`,
		`Middleware 1 sells Lamp: only it may close it`, `want close ITEM`}
	if len(errs) != len(wantErrs) {
		t.Fatalf("want one error line per bad command (%d), got:\n%s", len(wantErrs), logs.String())
	}
	for i, e := range errs {
		if !strings.Contains(e, wantErrs[i]) {
			t.Errorf("error %d %s, want it to say %s", i+1, e, wantErrs[i])
		}
	}
	// No auction message is Ready yet: status is the status line alone.
	if o := out.String(); !strings.HasPrefix(o, "Middleware 2/5 raft") || strings.Count(o, "\n") != 1 {
		t.Errorf("status printed %q, want one status line", o)
	}

	// Once a bid is Ready, status adds the auction's line.
	feed.onEvents([]middleware.Event{
		{Kind: middleware.EventReceived, Msg: "Msg #1 from Middleware 2: Bid 500 on Lamp"}, // not ready: not applied
		{Kind: middleware.EventReady, Seq: 1, Msg: "Msg #1 from Middleware 1"},
		{Kind: middleware.EventReady, Seq: 2, Msg: "Msg #1 from Middleware 2: Bid 130 on Lamp"},
		{Kind: middleware.EventReady, Seq: 3, Msg: "Msg #1 from Middleware 3: Bid 120 on Lamp"},
	})
	out.Reset()
	c.command("status")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := "auction: Lamp 130 M2 · Bike 200 no bid · Clock 50 no bid · Vase 80 no bid · Radio 60 no bid (bids: 1 accepted, 1 refused)"
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Middleware 2/5") || lines[1] != want {
		t.Errorf("status printed\n%s\nwant the status line, then\n%s", out.String(), want)
	}

	// A feed that starts after a restart says its auction is partial.
	late := newAuctionFeed(2, 5, false, nil)
	late.onEvents([]middleware.Event{{Kind: middleware.EventReady, Seq: 7, Msg: "Msg #3 from Middleware 1: Bid 300 on Bike"}})
	if line, show := late.summary(); !show || !strings.HasSuffix(line, `partial="applied from Ready #7 on: the messages before a restart are not known here"`) {
		t.Errorf("a feed from #7 on: %q (shown %v)", line, show)
	}

	// One whose events log lacks a position says how many.
	holed := newAuctionFeed(2, 5, false, []string{"", "Msg #1 from Middleware 1: Bid 300 on Bike"})
	holed.onEvents([]middleware.Event{{Kind: middleware.EventReady, Seq: 3, Msg: "Msg #2 from Middleware 3"}})
	if line, show := holed.summary(); !show || !strings.HasSuffix(line, `partial="1 of the Ready messages up to #3 are not known here: delivered before a restart, they are not in the events log"`) {
		t.Errorf("a feed whose log lacks #1: %q (shown %v)", line, show)
	}

	// With -app auction the line is there from the start.
	out.Reset()
	c.auction = newAuctionFeed(2, 5, true, nil)
	c.command("status")
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "auction: Lamp 100 no bid") {
		t.Errorf("status with -app auction printed %q", out.String())
	}
}

func TestAppFlag(t *testing.T) {
	opt, err := parseFlags([]string{"-id", "1", "-app", "auction"}, io.Discard)
	if err != nil || opt.app != appAuction {
		t.Fatalf("-app auction: %v %+v", err, opt)
	}
	if _, err := parseFlags([]string{"-id", "1", "-app", "chess"}, io.Discard); err == nil || !strings.Contains(err.Error(), `"auction"`) {
		t.Errorf("-app chess: %v", err)
	}
}

func TestHelpListsProtocols(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseFlags([]string{"-help"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v", err)
	}
	h := help.String()
	if len(core.Protocols) < 4 {
		t.Fatalf("only %d protocols registered", len(core.Protocols))
	}
	for _, p := range core.Protocols {
		if p.Summary() == "" || !strings.Contains(h, string(p)+" ") || !strings.Contains(h, p.Summary()) {
			t.Errorf("help does not list %s with its summary %q:\n%s", p, p.Summary(), h)
		}
	}
	for _, s := range []string{"-app", "bid ITEM AMOUNT", "close ITEM"} {
		if !strings.Contains(h, s) {
			t.Errorf("help does not mention %q", s)
		}
	}
}

// relay is a minimal network program for one middleware: it sends every
// message it gets (one per connection, as our middleware sends by
// default) straight back to to.
func relay(t *testing.T, to func() string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var buf []byte
				b := make([]byte, 4096)
				for !bytes.Contains(buf, []byte("<EOM>")) {
					n, err := c.Read(b)
					buf = append(buf, b[:n]...)
					if err != nil {
						break
					}
				}
				if !bytes.Contains(buf, []byte("<EOM>")) {
					return
				}
				d, err := net.Dial("tcp", to())
				if err != nil {
					return
				}
				d.Write(buf)
				d.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// A real middleware (-protocol none, with its one peer) sends a bid given
// on stdin; once the bid is Ready, "status" prints the auction.
func TestHeadlessAuctionEndToEnd(t *testing.T) {
	data := listenLocal(t)
	netAddr := relay(t, func() string { return data.Addr().String() })
	node := newTestPair(t, core.None, netAddr, data)
	ready := make(chan string, 10)
	node.Subscribe(func(batch []middleware.Event) {
		for _, e := range batch {
			if e.Kind == middleware.EventReady {
				ready <- e.Msg
			}
		}
	})
	var out, logs testbuf.Buffer
	in, script := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runHeadless(context.Background(), node, newAuctionFeed(1, 2, false, nil), in, &out, zerolog.New(&logs))
	}()
	io.WriteString(script, "bid Bike 250\nclose Bike\n") // Middleware 2 sells the Bike
	select {
	case m := <-ready:
		if m != "Msg #1 from Middleware 1: Bid 250 on Bike" {
			t.Fatalf("ready %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the bid did not become Ready; log:\n%s", logs.String())
	}
	io.WriteString(script, "status\nquit\n")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("quit did not stop the middleware")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Middleware 1/2 none") ||
		!strings.HasPrefix(lines[1], "auction: Lamp 100 no bid · Bike 250 M1 ·") {
		t.Errorf("status printed\n%s", out.String())
	}
	if l := logs.String(); !strings.Contains(l, "Middleware 2 sells Bike") || strings.Count(l, "\n") != 1 {
		t.Errorf("want one error line (close Bike), got:\n%s", l)
	}
}

// A real middleware is stopped and started again with its state folder
// and its events log: the auction replays the log's Ready lines (as the
// middleware wrote them) and goes on with the live Ready events at the
// next position, so "status" shows the whole auction, not a partial one.
func TestHeadlessAuctionAfterARestart(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "middleware-1.jsonl")
	keep := func(c *middleware.Config) { c.EventsPath, c.StateDir = events, filepath.Join(dir, "state") }
	run := func(script string, wantSeq uint64) string {
		t.Helper()
		past, err := replay.Past(events, 1)
		if err != nil {
			t.Fatal(err)
		}
		data := listenLocal(t)
		node := newTestPair(t, core.None, relay(t, func() string { return data.Addr().String() }), data, keep)
		ready := make(chan middleware.Event, 10)
		node.Subscribe(func(batch []middleware.Event) {
			for _, e := range batch {
				if e.Kind == middleware.EventReady {
					ready <- e
				}
			}
		})
		var out, logs testbuf.Buffer
		in, w := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- runHeadless(context.Background(), node, newAuctionFeed(1, 2, false, past), in, &out, zerolog.New(&logs))
		}()
		io.WriteString(w, script)
		select {
		case e := <-ready:
			if e.Seq != wantSeq {
				t.Fatalf("the bid is Ready at #%d, want #%d", e.Seq, wantSeq)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the bid did not become Ready; log:\n%s", logs.String())
		}
		// This subscriber may hear of it before the auction's does: the
		// status snapshot is refreshed after every subscriber was told.
		for deadline := time.Now().Add(10 * time.Second); node.Status().Ready == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the status never showed the bid Ready")
			}
		}
		io.WriteString(w, "status\nquit\n")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("quit did not stop the middleware")
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("status printed\n%s", out.String())
		}
		return lines[1]
	}
	if got := run("bid Bike 250\n", 1); !strings.HasPrefix(got, "auction: Lamp 100 no bid · Bike 250 M1 ·") {
		t.Fatalf("first run: %s", got)
	}
	got := run("bid Bike 300\n", 2)
	if want := "auction: Lamp 100 no bid · Bike 300 M1 · Clock 50 no bid · Vase 80 no bid · Radio 60 no bid (bids: 2 accepted, 0 refused)"; got != want {
		t.Errorf("after the restart: %s\nwant %s", got, want)
	}
}
