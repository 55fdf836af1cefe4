package gui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"totalorder/middleware"
	"totalorder/middleware/core"
)

// auctionRows is the auction table as drawn, one string per row.
func auctionRows(w *MiddlewareWindow) []string {
	w.tabs.SelectIndex(tabAuction) // a hidden list lays out no rows
	var rows []string
	for _, r := range renderedRows(w.auction.list) {
		rows = append(rows, r.text)
	}
	return rows
}

var (
	markupColour = regexp.MustCompile(`<text[^>]* color="([a-z]+)"`)
	markupTexts  = regexp.MustCompile(`<text([^>]*)>(.*)</text>`)
)

// labelColour is the colour a label is drawn in ("" for the foreground):
// "success" green, "error" red, "warning", "disabled" grey.
func labelColour(l *widget.Label) string {
	if m := markupColour.FindStringSubmatch(test.RenderObjectToMarkup(l)); m != nil {
		return m[1]
	}
	return ""
}

// colouredTexts is what o draws, each text with its colour as
// labelColour names it: "refused 1 (…)[error]".
func colouredTexts(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, m := range markupTexts.FindAllStringSubmatch(test.RenderObjectToMarkup(o), -1) {
		b.WriteString(m[2])
		if c := markupColour.FindStringSubmatch("<text" + m[1]); c != nil {
			b.WriteString("[" + c[1] + "]")
		}
	}
	return b.String()
}

// auctionItem selects item i (0 Lamp, 1 Bike, 2 Clock, 3 Vase, 4 Radio)
// as a click in the table would.
func auctionItem(w *MiddlewareWindow, i int) { w.auction.list.Select(i) }

func TestAuctionViewFollowsReady(t *testing.T) {
	// Middleware 3 of 5: sells the Clock. Lamp is Middleware 1's.
	w, f := newTestMiddlewareWindow(t, 3)
	f.Emit(
		received("Msg #1 from Middleware 5: Bid 500 on Lamp"), // received, not ready: counts for nothing
		ready(1, "Msg #1 from Middleware 2: Bid 110 on Lamp"),
		ready(2, "Msg #1 from Middleware 4: Bid 110 on Lamp"), // too late: not above 110
		ready(3, "Msg #1 from Middleware 1"),                  // a plain lab message
	)
	w.flush()
	rows := auctionRows(w)
	if len(rows) != 5 {
		t.Fatalf("auction table rows %q, want 5 items", rows)
	}
	if want := "Lamp M1 110 M2 1 1 open"; rows[0] != want {
		t.Errorf("Lamp row %q, want %q", rows[0], want)
	}
	if want := "Clock you 50 – 0 0 open"; rows[2] != want {
		t.Errorf("Clock row %q, want %q", rows[2], want)
	}
	auctionItem(w, 0)
	v := w.auction
	if got, want := v.detail.Text, "open · price 110, leading bid by Middleware 2 · a bid must be 111 or more"; got != want {
		t.Errorf("detail %q, want %q", got, want)
	}
	if got, want := colouredTexts(v.bids), "accepted 1 (110 by M2) · refused 1 (110 by M4: not above the price 110)[error]"; got != want {
		t.Errorf("bids line %q, want %q (refused in red)", got, want)
	}
	if got, want := v.note.Text, "Applied Msg #1 from Middleware 4: Bid 110 on Lamp: refused, not above the price 110"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}

	// The seller closes: the leader wins, later bids are refused.
	f.Emit(ready(4, "Msg #2 from Middleware 1: Close Lamp"), ready(5, "Msg #2 from Middleware 4: Bid 200 on Lamp"))
	w.flush()
	if got, want := auctionRows(w)[0], "Lamp M1 110 M2 1 2 sold to M2"; got != want {
		t.Errorf("Lamp row after the close %q, want %q", got, want)
	}
	if got, want := v.detail.Text, "CLOSED by Msg #2 from Middleware 1: sold to Middleware 2 for 110"; got != want {
		t.Errorf("detail %q, want %q", got, want)
	}
	if !v.bid.Disabled() || !v.quick.Disabled() || !v.close.Disabled() {
		t.Error("Bid, +10 or Close enabled on a closed item")
	}
	// What this window won, it says so.
	f.Emit(ready(6, "Msg #3 from Middleware 4: Bid 210 on Bike"), ready(7, "Msg #4 from Middleware 3: Bid 220 on Bike"),
		ready(8, "Msg #5 from Middleware 2: Close Bike"))
	w.flush()
	if got, want := auctionRows(w)[1], "Bike M2 220 you 2 0 sold to you"; got != want {
		t.Errorf("Bike row %q, want %q", got, want)
	}
}

func TestAuctionButtons(t *testing.T) {
	// Middleware 2 bids on Middleware 1's Lamp.
	w, f := newTestMiddlewareWindow(t, 2)
	v := w.auction
	auctionItem(w, 0)
	if !v.close.Disabled() {
		t.Error("Close is enabled in a window that does not sell the Lamp")
	}
	test.Type(v.amount, "130")
	test.Tap(v.bid)
	test.Tap(v.quick) // the price (100) plus 10
	test.Type(v.amount, "x")
	test.Tap(v.bid) // "130x": not sent
	if got, want := fmt.Sprint(f.Texts()), "[Bid 130 on Lamp Bid 110 on Lamp]"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	if got := v.note.Text; !strings.Contains(got, "want a whole number") || labelColour(v.note) != "error" {
		t.Errorf("a bad amount says %q in %q, want a red error", got, labelColour(v.note))
	}
	// Nothing changes until the bids are Ready: the price then is what counts.
	if got := auctionRows(w)[0]; got != "Lamp M1 100 – 0 0 open" {
		t.Errorf("Lamp row %q before any Ready", got)
	}
	f.Emit(ready(1, "Msg #1 from Middleware 2: Bid 130 on Lamp"))
	w.flush()
	if got := v.quick.Text; got != "+10: 140" {
		t.Errorf("quick bid button %q, want +10: 140", got)
	}
	v.amount.SetText("")
	test.Tap(v.quick)
	if got := f.Texts(); got[len(got)-1] != "Bid 140 on Lamp" {
		t.Errorf("quick bid sent %q, want Bid 140 on Lamp", got[len(got)-1])
	}

	// Middleware 2 sells the Bike: it may close it, not bid on it.
	auctionItem(w, 1)
	if v.close.Disabled() || !v.bid.Disabled() || !v.quick.Disabled() {
		t.Errorf("seller's own item: close disabled %v, bid disabled %v, +10 disabled %v; want close only",
			v.close.Disabled(), v.bid.Disabled(), v.quick.Disabled())
	}
	if got := v.close.Text; got != "Close Bike" {
		t.Errorf("close button %q", got)
	}
	test.Tap(v.close)
	if got := f.Texts(); got[len(got)-1] != "Close Bike" {
		t.Errorf("Close sent %q, want Close Bike", got[len(got)-1])
	}
	if !strings.HasPrefix(v.note.Text, `Sent "Close Bike"`) {
		t.Errorf("note %q", v.note.Text)
	}
	f.Emit(ready(2, "Msg #2 from Middleware 2: Close Bike"))
	w.flush()
	if !v.close.Disabled() {
		t.Error("Close still enabled once the Bike is closed")
	}
	if got := auctionRows(w)[1]; got != "Bike you 200 – 0 0 closed, unsold" {
		t.Errorf("Bike row %q", got)
	}
}

func TestAppAuctionOpensOnAuctionTab(t *testing.T) {
	a := test.NewTempApp(t)
	w := newMiddlewareWindow(a, newFakeMiddleware(), MiddlewareConfig{ID: 1, N: 3, Auction: true})
	t.Cleanup(w.Close)
	if got := w.tabs.SelectedIndex(); got != tabAuction {
		t.Errorf("tab %d selected, want the auction's", got)
	}
	// With 3 middlewares Middleware 1 sells the Lamp and the Vase.
	if got := auctionRows(w)[3]; got != "Vase you 80 – 0 0 open" {
		t.Errorf("Vase row %q", got)
	}
	plain, _ := newTestMiddlewareWindow(t, 1)
	if got := plain.tabs.SelectedIndex(); got != tabMessages {
		t.Errorf("tab %d selected by default, want the lists", got)
	}
}

func TestAgreementLine(t *testing.T) {
	w, _ := newTestMiddlewareWindow(t, 1)
	base := middleware.Status{ID: 1, N: 5, Protocol: "raft", Leader: 1}
	if w.agreement.Visible() {
		t.Error("agreement line shown before any status")
	}
	s := base
	s.Agreement = []core.PeerAgreement{{Peer: 2}, {Peer: 3}}
	w.showStatus(s)
	if got, want := w.agreement.Text, "agreement: no digest from a peer yet"; got != want || labelColour(w.agreement) != "disabled" {
		t.Errorf("before digests: %q in %q, want %q in grey", got, labelColour(w.agreement), want)
	}
	s.Agreement = []core.PeerAgreement{{Peer: 2, Through: 12, Delivered: 12}, {Peer: 3, Through: 9, Delivered: 12}}
	w.showStatus(s)
	if got, want := w.agreement.Text, "same order as 2 of 2 through #9"; got != want || labelColour(w.agreement) != "success" || !w.agreement.Visible() {
		t.Errorf("agreeing: %q in %q (shown %v), want %q in green", got, labelColour(w.agreement), w.agreement.Visible(), want)
	}
	s.Agreement = []core.PeerAgreement{{Peer: 2, Through: 12}, {Peer: 3, Through: 6, DiffAt: 7,
		Here: "Msg #2 from Middleware 4", There: "Msg #1 from Middleware 5"}}
	w.showStatus(s)
	want := "differs from Middleware 3 at #7 (here: Msg #2 from Middleware 4; there: Msg #1 from Middleware 5)"
	if got := w.agreement.Text; !strings.HasPrefix(got, want) || labelColour(w.agreement) != "error" {
		t.Errorf("diverged: %q in %q, want %q in red", got, labelColour(w.agreement), want)
	}
	w.showStatus(base) // no check (a state from before the digests)
	if w.agreement.Visible() {
		t.Error("agreement line still shown without an agreement check")
	}
}

// A divergence is news for the agreement line, not a list entry.
func TestDivergedEventIsNotListed(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	f.Emit(ready(1, "Msg #1 from Middleware 1"), middleware.Event{Kind: middleware.EventDiverged, Peer: 3, Seq: 1,
		Msg: "Msg #1 from Middleware 1", There: "Msg #1 from Middleware 2"})
	w.flush()
	for i, c := range w.cols {
		want := 0
		if i == colReady {
			want = 1
		}
		if n := c.model.len(); n != want {
			t.Errorf("%s has %d rows, want %d", c.title, n, want)
		}
	}
}

func TestUnorderedWarning(t *testing.T) {
	w, _ := newTestMiddlewareWindow(t, 1)
	w.showStatus(middleware.Status{ID: 1, N: 5, Protocol: "raft"})
	if w.unordered.Visible() {
		t.Error("warning shown with raft")
	}
	w.showStatus(middleware.Status{ID: 1, N: 5, Protocol: "none", Alive: []int{1}})
	want := "-protocol none: nothing is ordered; Ready is Received, so windows disagree"
	if !w.unordered.Visible() || w.unordered.Text != want || labelColour(w.unordered) != "warning" {
		t.Errorf("with none: shown %v, %q in %q; want %q", w.unordered.Visible(), w.unordered.Text, labelColour(w.unordered), want)
	}
	if got := w.cols[colReady].caption.Text; !strings.Contains(got, "NOT ordered") {
		t.Errorf("Ready's caption %q does not say it is not ordered", got)
	}
	if got := w.membership.Text; got != "none · alive 1 · peers 0/0 · network DOWN" {
		t.Errorf("membership line %q: none has no leader to show", got)
	}
	w.showStatus(middleware.Status{ID: 1, N: 5, Protocol: "isis"})
	if w.unordered.Visible() || w.cols[colReady].caption.Text != readyCaption {
		t.Error("warning or caption still there after the protocol orders again")
	}
}

// A window started after a restart sees Ready from some position on: its
// auction lacks what came before, and it says so.
func TestAuctionViewSaysWhenItStartedLate(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 3)
	if w.auction.partial.Visible() {
		t.Fatal("warning shown before any Ready")
	}
	f.Emit(ready(42, "Msg #9 from Middleware 2: Bid 110 on Lamp"))
	w.flush()
	if !w.auction.partial.Visible() || !strings.Contains(w.auction.partial.Text, "started at Ready #42: the 41 messages before it") {
		t.Errorf("started at #42: warning shown %v, %q", w.auction.partial.Visible(), w.auction.partial.Text)
	}

	w2, f2 := newTestMiddlewareWindow(t, 3)
	f2.Emit(ready(1, "Msg #1 from Middleware 2"), ready(2, "Msg #2 from Middleware 2"))
	w2.flush()
	if w2.auction.partial.Visible() {
		t.Error("warning shown for a window that saw Ready from #1")
	}
}

// The smoke test (cmd/smoke) clicks Send at (40, 75) in each window: the
// tabs must not move it, whichever tab is open.
func TestSendButtonWhereTheSmokeTestClicks(t *testing.T) {
	for _, auctionTab := range []bool{false, true} {
		a := test.NewTempApp(t)
		w := newMiddlewareWindow(a, newFakeMiddleware(), MiddlewareConfig{ID: 1, Auction: auctionTab})
		w.Window().Resize(fyne.NewSize(660, 520))
		w.showStatus(middleware.Status{ID: 1, N: 5, Protocol: "none"}) // the warning beside the heading
		pos := a.Driver().AbsolutePositionForObject(w.sendButton)
		size := w.sendButton.Size()
		if !w.sendButton.Visible() || pos.X > 40 || pos.X+size.Width < 40 || pos.Y > 75 || pos.Y+size.Height < 75 {
			t.Errorf("auction tab %v: Send at %v size %v does not cover (40, 75)", auctionTab, pos, size)
		}
		w.Close()
	}
}

// A window started again after a restart applies what its events log
// holds (MiddlewareConfig.PastReady) before the live Ready events, which
// go on at the next position: its auction is whole and says nothing is
// missing. The lists show this run's events only.
func TestAuctionViewAfterARestart(t *testing.T) {
	a := test.NewTempApp(t)
	f := newFakeMiddleware()
	past := []string{
		"Msg #1 from Middleware 2: Bid 110 on Lamp",
		"Msg #1 from Middleware 4: Bid 130 on Lamp",
		"Msg #1 from Middleware 1",
	}
	w := newMiddlewareWindow(a, f, MiddlewareConfig{ID: 3, PastReady: past})
	t.Cleanup(w.Close)
	if got, want := auctionRows(w)[0], "Lamp M1 130 M4 2 0 open"; got != want {
		t.Errorf("Lamp row before any live event %q, want %q (replayed from the log)", got, want)
	}
	f.Emit(ready(3, past[2]), // a position the log has: once only
		ready(4, "Msg #2 from Middleware 2: Bid 120 on Lamp"), // refused: not above 130
		ready(5, "Msg #2 from Middleware 1: Close Lamp"))
	w.flush()
	if got, want := auctionRows(w)[0], "Lamp M1 130 M4 2 1 sold to M4"; got != want {
		t.Errorf("Lamp row %q, want %q", got, want)
	}
	if w.auction.partial.Visible() {
		t.Errorf("warning shown for a whole auction: %q", w.auction.partial.Text)
	}
	if got := w.cols[colReady].model.len(); got != 3 {
		t.Errorf("Ready lists %d rows, want this run's 3", got)
	}

	// A log with a hole: the warning says how much is missing.
	w2 := newMiddlewareWindow(a, newFakeMiddleware(), MiddlewareConfig{ID: 3, PastReady: []string{"", past[0]}})
	t.Cleanup(w2.Close)
	if !w2.auction.partial.Visible() || !strings.Contains(w2.auction.partial.Text, "lacks 1 of the Ready messages up to #2") {
		t.Errorf("a log missing #1: warning shown %v, %q", w2.auction.partial.Visible(), w2.auction.partial.Text)
	}
}
