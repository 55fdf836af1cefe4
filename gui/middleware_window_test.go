package gui

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"totalorder/middleware"
)

// These tests drive the window on the test goroutine, which Fyne's test
// driver treats as the UI thread: they build it with newMiddlewareWindow
// (no refresh loop) and call flush and showStatus where the loop would.
// TestRefreshLoop covers the loop itself.

func newTestMiddlewareWindow(t *testing.T, id int) (*MiddlewareWindow, *fakeMiddleware) {
	t.Helper()
	a := test.NewTempApp(t)
	f := newFakeMiddleware()
	w := newMiddlewareWindow(a, f, MiddlewareConfig{ID: id})
	t.Cleanup(w.Close)
	return w, f
}

// renderedRow is a row of a list as drawn: its texts joined by a space and
// whether it has the selection background.
type renderedRow struct {
	text     string
	selected bool
}

var markupText = regexp.MustCompile(`<text[^>]*>(.*)</text>`)

// renderedRows renders list with the test driver and returns its visible
// rows, so tests check what the user would see rather than the model.
func renderedRows(list *widget.List) []renderedRow {
	var rows []renderedRow
	for _, line := range strings.Split(test.RenderObjectToMarkup(list), "\n") {
		switch {
		case strings.Contains(line, `type="*widget.listItem"`):
			rows = append(rows, renderedRow{})
		case len(rows) == 0:
		case strings.Contains(line, `fillColor="selection"`):
			rows[len(rows)-1].selected = true
		default:
			if m := markupText.FindStringSubmatch(line); m != nil {
				r := &rows[len(rows)-1]
				r.text = strings.TrimSpace(r.text + " " + m[1])
			}
		}
	}
	return rows
}

func selectedTexts(list *widget.List) []string {
	var texts []string
	for _, r := range renderedRows(list) {
		if r.selected {
			texts = append(texts, r.text)
		}
	}
	return texts
}

func TestMiddlewareWindowTitle(t *testing.T) {
	w, _ := newTestMiddlewareWindow(t, 3)
	if got := w.Window().Title(); got != "Middleware 3" {
		t.Errorf("title = %q, want %q", got, "Middleware 3")
	}
	// Inside the window too, for when there is no title bar.
	checkIdentityHeading(t, w.Window(), w.identity, "Middleware 3", w.sendButton)
}

func TestSendButtons(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	test.Tap(w.sendButton)
	test.Tap(w.send10Button)
	test.Tap(w.sendButton)
	if got, want := fmt.Sprint(f.Sends()), "[1 10 1]"; got != want {
		t.Errorf("Send calls = %s, want %s", got, want)
	}
}

func TestEventsFillLists(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	f.Emit(sent("Msg #1 from Middleware 1"), received("Msg #7 from Middleware 2"))
	f.Emit(received("Msg #1 from Middleware 1"), ready(12, "Msg #7 from Middleware 2"))
	if n := w.cols[colReceived].model.len(); n != 0 {
		t.Fatalf("events reached the lists before a flush: Received has %d rows", n)
	}
	w.flush()

	wantRows := [numCols][]string{
		colSent:     {"Msg #1 from Middleware 1"},
		colReceived: {"Msg #7 from Middleware 2", "Msg #1 from Middleware 1"},
		colReady:    {"#12 Msg #7 from Middleware 2"},
	}
	wantHeaders := [numCols]string{colSent: "Sent (1)", colReceived: "Received (2)", colReady: "Ready (1)"}
	for i, c := range w.cols {
		if got := c.list.Length(); got != len(wantRows[i]) {
			t.Errorf("%s: Length() = %d, want %d", c.title, got, len(wantRows[i]))
		}
		var got []string
		for _, r := range renderedRows(c.list) {
			got = append(got, r.text)
		}
		if fmt.Sprint(got) != fmt.Sprint(wantRows[i]) {
			t.Errorf("%s: rendered rows %q, want %q", c.title, got, wantRows[i])
		}
		if c.header.Text != wantHeaders[i] {
			t.Errorf("header %q, want %q", c.header.Text, wantHeaders[i])
		}
	}
}

func TestSelectionFollowsAcrossLists(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	const a, b, c = "Msg #1 from Middleware 1", "Msg #1 from Middleware 2", "Msg #1 from Middleware 3"
	f.Emit(sent(a), received(b), received(c), received(a), ready(1, b), ready(2, a))
	w.flush()
	sentList, receivedList, readyList := w.cols[colSent].list, w.cols[colReceived].list, w.cols[colReady].list

	receivedList.Select(2) // a: third in Received, second in Ready, first in Sent
	if got := selectedTexts(sentList); fmt.Sprint(got) != fmt.Sprint([]string{a}) {
		t.Errorf("Sent shows selected %q, want %q", got, a)
	}
	if got := selectedTexts(readyList); fmt.Sprint(got) != fmt.Sprint([]string{"#2 " + a}) {
		t.Errorf("Ready shows selected %q, want a", got)
	}
	if got, want := w.selectionInfo.Text, a+": sent row 1 · received row 3 · ready #2"; got != want {
		t.Errorf("selection info %q, want %q", got, want)
	}

	// c is not ready yet: Ready and Sent lose their selection...
	receivedList.Select(1)
	if got := selectedTexts(readyList); len(got) != 0 {
		t.Errorf("Ready still shows %q selected after selecting a message it lacks", got)
	}
	if got := selectedTexts(sentList); len(got) != 0 {
		t.Errorf("Sent still shows %q selected after selecting a message it lacks", got)
	}
	// ...and Ready selects c when it arrives.
	f.Emit(ready(3, c))
	w.flush()
	if got := selectedTexts(readyList); fmt.Sprint(got) != fmt.Sprint([]string{"#3 " + c}) {
		t.Errorf("Ready shows selected %q after c became ready, want c", got)
	}

	// Selecting in Ready goes back to Received.
	readyList.Select(0)
	if got := selectedTexts(receivedList); fmt.Sprint(got) != fmt.Sprint([]string{b}) {
		t.Errorf("Received shows selected %q, want %q", got, b)
	}
}

func TestStatusLine(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 2)
	f.status = middleware.Status{
		ID: 2, N: 5, Protocol: "sequencer", Leader: 5, Alive: []int{1, 2, 3, 5},
		PeersUp: 3, Peers: 4, NetworkUp: false, NetQueued: 7,
		Sent: 4, Received: 19, Ready: 17, Pending: 2, LastLatency: 12345 * time.Microsecond,
	}
	w.showStatus(f.Status())
	if got, want := w.membership.Text, "sequencer · sequencer 5 · alive 1 2 3 5 · peers 3/4 · network DOWN (7 queued)"; got != want {
		t.Errorf("membership line\n got %q\nwant %q", got, want)
	}
	if got, want := w.counters.Text, "sent 4 · received 19 · ready 17 · pending 2 · last held back 12.3ms"; got != want {
		t.Errorf("counters line\n got %q\nwant %q", got, want)
	}

	w.showStatus(middleware.Status{ID: 5, Protocol: "sequencer", Leader: 5, Alive: []int{5}, NetworkUp: true})
	if got, want := w.membership.Text, "sequencer · sequencer 5 (this one) · alive 5 · peers 0/0 · network up"; got != want {
		t.Errorf("membership line\n got %q\nwant %q", got, want)
	}
	w.showStatus(middleware.Status{ID: 1, Protocol: "isis", NetworkUp: true, Peers: 4, PeersUp: 4, Alive: []int{1, 2, 3, 4, 5}})
	if got, want := w.membership.Text, "isis · alive 1 2 3 4 5 · peers 4/4 · network up"; got != want {
		t.Errorf("membership line\n got %q\nwant %q", got, want)
	}
	w.showStatus(middleware.Status{ID: 1, Protocol: "isis", Sent: 1, EventsLog: "events log: write failed (no space left), 3 events not written"})
	if got, want := w.counters.Text, "sent 1 · received 0 · ready 0 · pending 0 · last held back – · events log: write failed (no space left), 3 events not written"; got != want {
		t.Errorf("counters line\n got %q\nwant %q", got, want)
	}
	w.showStatus(middleware.Status{ID: 1, Protocol: "raft", Leader: 3, Term: 7, NetworkUp: true, Peers: 4, PeersUp: 1,
		Alive: []int{1, 2}, Isolated: true, Received: 5, Recovered: 2, Waiting: "no quorum: reaches 2 of 5, waiting"})
	if got, want := w.membership.Text, "raft · leader 3, term 7 · CUT OFF from peers · alive 1 2 · peers 1/4 · network up"; got != want {
		t.Errorf("membership line\n got %q\nwant %q", got, want)
	}
	if got, want := w.counters.Text, "no quorum: reaches 2 of 5, waiting · sent 0 · received 5 (2 recovered) · ready 0 · pending 0 · last held back –"; got != want {
		t.Errorf("counters line\n got %q\nwant %q", got, want)
	}
	// A peer that came back without its state: every window says so.
	w.showStatus(middleware.Status{ID: 1, Protocol: "raft", Leader: 1, NetworkUp: true, Peers: 4, PeersUp: 4, Alive: []int{1, 2, 4, 5},
		Warnings: []string{"Middleware 3 came back without its state; it had acknowledged #1067"}})
	if got, want := w.membership.Text, "raft · leader 1 (this one) · alive 1 2 4 5 · peers 4/4 · network up · Middleware 3 came back without its state; it had acknowledged #1067"; got != want {
		t.Errorf("membership line\n got %q\nwant %q", got, want)
	}
}

func TestCutOffFromPeers(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	test.Tap(w.cutOffCheck)
	test.Tap(w.cutOffCheck)
	if got, want := f.Isolations(), []time.Duration{-1, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the check box asked for isolations %v, want %v (cut off until unticked, then reconnected)", got, want)
	}
}

func TestAutoSend(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	w.rateSelect.SetSelected("100")
	test.Tap(w.autoSendCheck)
	for range 3 {
		select {
		case n := <-f.sent:
			if n != 1 {
				t.Fatalf("auto-send at 100 msg/s called Send(%d), want Send(1)", n)
			}
		case <-time.After(10 * time.Second): // a deadline, not a synchronisation
			t.Fatal("auto-send did not call Send")
		}
	}

	test.Tap(w.autoSendCheck) // off: returns once the sender has stopped
	stoppedAt := len(f.Sends())
	w.autoSendMu.Lock()
	running := w.autoSend != nil
	w.autoSendMu.Unlock()
	if running {
		t.Fatal("auto-sender still set after the toggle went off")
	}
	w.Close() // would wait for any goroutine still sending
	if n := len(f.Sends()); n != stoppedAt {
		t.Errorf("Send called %d more times after auto-send was turned off", n-stoppedAt)
	}
}

func TestAutoSendRateChangeRestartsSender(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	var rates []int
	w.autoSendEvery = func(rate int) (time.Duration, int) {
		rates = append(rates, rate)
		return time.Hour, 1 // never ticks: this test is about restarts
	}
	w.rateSelect.SetSelected("5")   // off: nothing starts
	test.Tap(w.autoSendCheck)       // starts at 5
	w.rateSelect.SetSelected("50")  // restarts at 50
	test.Tap(w.autoSendCheck)       // stops
	w.rateSelect.SetSelected("100") // off again: nothing starts
	if got, want := fmt.Sprint(rates), "[5 50]"; got != want {
		t.Errorf("auto-senders started at rates %s, want %s", got, want)
	}
	if n := len(f.Sends()); n != 0 {
		t.Errorf("Send called %d times", n)
	}
}

func TestAutoSendSchedule(t *testing.T) {
	for _, tt := range []struct {
		rate     int
		interval time.Duration
		batch    int
	}{
		{1, time.Second, 1},
		{10, 100 * time.Millisecond, 1},
		{50, 20 * time.Millisecond, 1},
		{100, 10 * time.Millisecond, 1},
		{500, 10 * time.Millisecond, 5},
		{1000, 10 * time.Millisecond, 10},
	} {
		interval, batch := autoSendSchedule(tt.rate)
		if interval != tt.interval || batch != tt.batch {
			t.Errorf("rate %d: every %v send %d, want every %v send %d", tt.rate, interval, batch, tt.interval, tt.batch)
		}
	}
}

func TestClosingWindowStopsEverything(t *testing.T) {
	a := test.NewTempApp(t)
	f := newFakeMiddleware()
	w := NewMiddlewareWindow(a, f, MiddlewareConfig{ID: 4})
	closed := false
	w.SetOnClosed(func() { closed = true })
	test.Tap(w.autoSendCheck)

	w.Window().Close()
	if !f.Cancelled() {
		t.Error("subscription not cancelled when the window closed")
	}
	if !closed {
		t.Error("OnClosed hook not called")
	}
	w.autoSendMu.Lock()
	running := w.autoSend != nil
	w.autoSendMu.Unlock()
	if running {
		t.Error("auto-send still running after the window closed")
	}
	select {
	case <-w.stopLoop:
	default:
		t.Error("refresh loop not told to stop")
	}
	test.Tap(w.autoSendCheck) // off
	test.Tap(w.autoSendCheck) // on again, after Close: must not start a sender
	w.autoSendMu.Lock()
	running = w.autoSend != nil
	w.autoSendMu.Unlock()
	if running {
		t.Error("auto-send restarted after Close")
	}
	w.Close() // again: no panic, no wait
}

// TestRefreshLoop runs the real loop (fyne.Do runs synchronously on the
// loop's goroutine under the test driver) while another goroutine emits,
// as the middleware would; run it with -race.
func TestRefreshLoop(t *testing.T) {
	a := test.NewTempApp(t)
	f := newFakeMiddleware()
	f.status = middleware.Status{Protocol: "isis", Alive: []int{1}}
	w := newMiddlewareWindow(a, f, MiddlewareConfig{ID: 1})
	defer w.Close()

	const total = 5000
	shown := make(chan struct{})
	var showAll sync.Once
	readyList := w.cols[colReady].list
	length := readyList.Length
	readyList.Length = func() int { // called by refreshes, on the loop's goroutine
		n := length()
		if n == total {
			showAll.Do(func() { close(shown) })
		}
		return n
	}
	w.start(time.Millisecond, time.Millisecond)

	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		for i := range total {
			f.Emit(ready(uint64(i+1), fmt.Sprintf("Msg #%d from Middleware 1", i+1)))
		}
	}()
	<-emitted
	select {
	case <-shown:
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not show all the events")
	}
	w.Close() // waits for the loop: the labels are ours to read afterwards
	if got, want := w.cols[colReady].header.Text, "Ready (5,000)"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if !strings.HasPrefix(w.membership.Text, "isis · alive 1") {
		t.Errorf("status line %q was not refreshed by the loop", w.membership.Text)
	}
}

// TestManyEvents feeds 300,000 events and checks the lists only ever
// render their visible rows: the work of a refresh must not grow with the
// list.
func TestManyEvents(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	const total, batch = 100_000, 2_500
	var rowUpdates [numCols]int
	for i, c := range w.cols {
		update := c.list.UpdateItem
		c.list.UpdateItem = func(id widget.ListItemID, o fyne.CanvasObject) {
			rowUpdates[i]++
			update(id, o)
		}
	}

	start := time.Now()
	events := make([]middleware.Event, 0, 3*batch)
	for from := 0; from < total; from += batch {
		events = events[:0]
		for i := from; i < from+batch; i++ {
			msg := fmt.Sprintf("Msg #%d from Middleware %d", i/5+1, i%5+1)
			events = append(events, sent(msg), received(msg), ready(uint64(i+1), msg))
		}
		f.Emit(events...)
		w.flush()
	}
	elapsed := time.Since(start)

	for i, c := range w.cols {
		if n := c.list.Length(); n != total {
			t.Errorf("%s has %d rows, want %d", c.title, n, total)
		}
		// 40 flushes × about 15 visible rows; per-row work would be 100,000.
		if rowUpdates[i] == 0 || rowUpdates[i] > 5_000 {
			t.Errorf("%s: %d row updates for %d rows in %d flushes", c.title, rowUpdates[i], total, total/batch)
		}
	}
	rows := renderedRows(w.cols[colReady].list)
	if len(rows) == 0 || rows[len(rows)-1].text != "#100000 Msg #20000 from Middleware 5" {
		t.Errorf("Ready does not show its last row at the bottom: %v", rows)
	}
	t.Logf("%d events in %v", 3*total, elapsed)
}

func TestNewRowsScrollIntoViewUnlessScrolledAway(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	list := w.cols[colReceived].list
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			f.Emit(received(fmt.Sprintf("Msg #%d from Middleware 1", i)))
		}
		w.flush()
	}
	emit(0, 100)
	atBottom := list.GetScrollOffset()
	if atBottom <= 0 {
		t.Fatalf("offset %v after 100 rows: the list did not follow", atBottom)
	}
	emit(100, 110)
	if got := list.GetScrollOffset(); got <= atBottom {
		t.Errorf("offset %v after 10 more rows, was %v: the list stopped following", got, atBottom)
	}

	list.ScrollToTop() // the user scrolls up to read
	emit(110, 200)
	if got := list.GetScrollOffset(); got != 0 {
		t.Errorf("offset %v: new rows pulled the list away from where the user scrolled", got)
	}
}

// Once the app's loop has ended (AppStopped), the window's updates touch
// no widget: the status line keeps what it showed, the subscription ends,
// and Close still returns.
func TestAppStoppedTouchesNoWidget(t *testing.T) {
	w, f := newTestMiddlewareWindow(t, 1)
	f.mu.Lock()
	f.status = middleware.Status{ID: 1, Protocol: "raft", Leader: 1}
	f.mu.Unlock()
	w.AppStopped()
	w.status.queued.Store(false)
	f.mu.Lock()
	f.status = middleware.Status{ID: 1, Protocol: "raft", Leader: 2, Term: 9}
	f.mu.Unlock()
	before := w.membership.Text
	w.queueStatus()
	if got := w.membership.Text; got != before {
		t.Fatalf("after AppStopped the status line changed to %q", got)
	}
	if f.Emit(sent("Msg #1 from Middleware 1")) {
		t.Fatal("the subscription outlived AppStopped")
	}
	w.Close()
}
