package gui

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"totalorder/middleware"
	"totalorder/middleware/core"
)

// Middleware is what a middleware window shows and drives.
type Middleware interface {
	// Send multicasts count messages; it must not block.
	Send(count int)
	// SendText multicasts one message with body (an auction's bid or
	// close); it must not block, and fails only on a body it refuses.
	SendText(body string) error
	Status() middleware.Status
	// Subscribe calls fn with every batch of list changes, on the
	// middleware's goroutine; fn does not block. cancel stops the calls.
	Subscribe(fn func(batch []middleware.Event)) (cancel func())
	// Isolate cuts the middleware off from its peers' control links
	// (d < 0: until Isolate(0), which reconnects it); it must not block.
	Isolate(d time.Duration)
}

const (
	// refreshInterval bounds list refreshes to 25 a second however fast
	// events come: a refresh costs the visible rows, not the events.
	refreshInterval = 40 * time.Millisecond
	// statusInterval is how often the status line asks for Status().
	statusInterval = 250 * time.Millisecond
)

// autoSendRates are the rates offered for auto-send, in messages a second.
var autoSendRates = []string{"1", "5", "10", "50", "100", "500", "1000"}

const defaultAutoSendRate = "10"

// readyCaption is the caption under Ready when the protocol orders.
const readyCaption = "agreed order: same in every window"

// List columns, in the order they appear.
const (
	colSent = iota
	colReceived
	colReady
	numCols
)

// MiddlewareConfig is what a middleware window knows besides its
// middleware.
type MiddlewareConfig struct {
	ID int // "Middleware ID"
	// N is the group's size, which says who sells what in the auction
	// (auction.Items); 0 means 5, the lab's.
	N int
	// Auction opens the window on its Auction tab rather than the lists
	// (middleware -app auction).
	Auction bool
	// PastReady is what earlier runs of this middleware delivered, by
	// position (replay.Past of its events log): the auction applies it
	// before the live Ready events, so a restarted window's auction is
	// whole. The lists show this run's events only.
	PastReady []string
}

// MiddlewareWindow is the window "Middleware I": two tabs, the Sent,
// Received and Ready lists with Send buttons and auto-send, and the
// auction replicated over the Ready order; below them the agreement with
// the other windows and the status lines. Create it with
// NewMiddlewareWindow; it runs until its window closes or Close is called.
type MiddlewareWindow struct {
	m Middleware
	windowLife

	identity      *widget.Label // "Middleware I", large, at the top
	unordered     *widget.Label // the warning shown when the protocol orders nothing
	tabs          *container.AppTabs
	auction       *auctionView
	agreement     *widget.Label   // green "same order as …", red "differs from …"
	top           *fyne.Container // identity and the unordered warning
	statusBox     *fyne.Container // agreement and status lines
	cols          [numCols]*column
	sendButton    *widget.Button
	send10Button  *widget.Button
	autoSendCheck *widget.Check
	cutOffCheck   *widget.Check
	rateSelect    *widget.Select
	selectionInfo *widget.Label
	membership    *widget.Label
	counters      *widget.Label

	// Shared with the middleware's goroutine (events) and the refresh loop.
	events        eventBuffer
	wake          chan struct{} // capacity 1: "events are waiting"
	lists         *refresher    // flushes the events into the lists when woken
	status        *refresher    // reads Status and shows it, every statusInterval
	taken         []middleware.Event
	cancelEvents  func()
	autoSendMu    sync.Mutex // guards autoSend and closed: Close may come from any goroutine
	autoSend      *autoSender
	closed        bool // no auto-sender may start any more
	autoSendEvery func(rate int) (interval time.Duration, batch int)

	// UI thread only.
	selected        string       // message selected in the lists, "" if none
	selectedRows    [numCols]int // its row in each list, -1 where absent
	syncingSelected bool         // set while selecting in the other lists
}

// column is one of the three lists with its header.
type column struct {
	title   string
	model   listModel
	list    *widget.List
	header  *widget.Label
	caption *widget.Label
	// followedTo is the scroll offset the last automatic scroll left.
	followedTo float32
}

// NewMiddlewareWindow creates the window "Middleware <cfg.ID>" over m and
// starts following its events; it does not show the window.
func NewMiddlewareWindow(a fyne.App, m Middleware, cfg MiddlewareConfig) *MiddlewareWindow {
	w := newMiddlewareWindow(a, m, cfg)
	w.start(refreshInterval, statusInterval)
	return w
}

// newMiddlewareWindow builds the window and subscribes, without starting
// the refresh loop: tests drive flush and showStatus themselves, on their
// own goroutine, which the Fyne test driver treats as the UI thread.
func newMiddlewareWindow(a fyne.App, m Middleware, cfg MiddlewareConfig) *MiddlewareWindow {
	if cfg.N <= 0 {
		cfg.N = 5
	}
	w := &MiddlewareWindow{
		m:             m,
		wake:          make(chan struct{}, 1),
		autoSendEvery: autoSendSchedule,
		identity:      identityHeading(fmt.Sprintf("Middleware %d", cfg.ID)),
	}
	// The subscription ends with the loops; once they have ended, Close
	// stops auto-send for good.
	w.initLife(a.NewWindow(fmt.Sprintf("Middleware %d", cfg.ID)), w.endSubscription, w.stopAutoSend)
	w.lists = w.refresher(refreshPlan{Wake: w.wake, Gap: refreshInterval,
		Prepare: func(time.Time) func() { return w.flush }})
	w.status = w.refresher(refreshPlan{Every: statusInterval, AtStart: true, Prepare: func(time.Time) func() {
		s := w.m.Status() // here, so the UI thread never waits on the middleware
		return func() { w.showStatus(s) }
	}})
	w.auction = newAuctionView(cfg.ID, cfg.N, m.SendText, cfg.PastReady)
	w.build()
	if cfg.Auction {
		w.tabs.SelectIndex(tabAuction)
	}
	w.win.Resize(fyne.NewSize(660, 520))
	w.cancelEvents = m.Subscribe(w.onEvents)
	return w
}

func (w *MiddlewareWindow) endSubscription() {
	if w.cancelEvents != nil {
		w.cancelEvents()
	}
	w.events.close()
}

func (w *MiddlewareWindow) stopAutoSend() {
	w.setAutoSend(0)
	w.autoSendMu.Lock()
	w.closed = true
	w.autoSendMu.Unlock()
}

func (w *MiddlewareWindow) build() {
	w.sendButton = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), func() { w.m.Send(1) })
	w.sendButton.Importance = widget.HighImportance
	w.send10Button = widget.NewButton("Send 10", func() { w.m.Send(10) })

	w.rateSelect = widget.NewSelect(autoSendRates, func(string) {
		if w.autoSendCheck != nil && w.autoSendCheck.Checked {
			w.setAutoSend(w.rate())
		}
	})
	w.rateSelect.PlaceHolder = "rate" // the default "(Select one)" makes it wide
	w.rateSelect.SetSelected(defaultAutoSendRate)
	w.autoSendCheck = widget.NewCheck("Auto-send", func(on bool) {
		if on {
			w.setAutoSend(w.rate())
		} else {
			w.setAutoSend(0)
		}
	})
	// A partition without root: the status line then shows the minority
	// waiting, and raft's majority going on.
	w.cutOffCheck = widget.NewCheck("Cut off from peers", func(on bool) {
		if on {
			w.m.Isolate(-1)
		} else {
			w.m.Isolate(0)
		}
	})
	toolbar := container.NewHBox(
		w.sendButton, w.send10Button, widget.NewSeparator(),
		w.autoSendCheck, w.rateSelect, widget.NewLabel("msg/s"),
		widget.NewSeparator(), w.cutOffCheck,
	)

	captions := [numCols]string{
		colSent:     "in the order sent",
		colReceived: "in arrival order: differs per window",
		colReady:    readyCaption,
	}
	titles := [numCols]string{colSent: "Sent", colReceived: "Received", colReady: "Ready"}
	var panes [numCols]fyne.CanvasObject
	for i := range w.cols {
		c := w.newColumn(i, titles[i], captions[i])
		w.cols[i] = c
		top := newCompact(c.header, c.caption)
		panes[i] = container.NewBorder(top, nil, nil, nil, c.list)
	}
	// Splits rather than a grid: a student can widen the list being
	// studied. Ready starts wider, for its sequence numbers.
	right := container.NewHSplit(panes[colReceived], panes[colReady])
	right.Offset = 0.45
	lists := container.NewHSplit(panes[colSent], right)
	lists.Offset = 0.3

	w.selectionInfo = newInfoLabel("Select a message in any list to find it in the others.")
	messages := container.NewBorder(nil, newCompact(w.selectionInfo), nil, nil, lists)
	w.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Messages", theme.ListIcon(), messages),
		container.NewTabItemWithIcon("Auction", theme.AccountIcon(), w.auction.content),
	)

	w.unordered = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.unordered.Importance = widget.WarningImportance
	w.unordered.Wrapping = fyne.TextWrapWord
	w.unordered.Hide()
	w.agreement = newInfoLabel("")
	w.agreement.TextStyle.Bold = true
	w.agreement.Hide()
	w.membership = newInfoLabel("")
	w.counters = newInfoLabel("")
	w.statusBox = newCompact(w.agreement, w.membership, w.counters)
	bottom := container.NewVBox(widget.NewSeparator(), w.statusBox)
	// The warning sits beside the heading, where it takes no height.
	w.top = container.NewBorder(nil, nil, w.identity, nil, w.unordered)
	// The toolbar stays above the tabs, where it always was (scripts
	// and the smoke test click Send there), for both tabs.
	w.win.SetContent(container.NewBorder(container.NewVBox(w.top, toolbar), bottom, nil, nil, w.tabs))
}

// relayout lays the window out again after a line was shown or hidden:
// the boxes holding it keep their old layout otherwise.
func (w *MiddlewareWindow) relayout() {
	w.top.Refresh()
	w.statusBox.Refresh()
	w.win.Content().Refresh()
}

// The window's tabs, in order.
const (
	tabMessages = iota
	tabAuction
)

// identityHeading is a window's name in large type at the top of the
// window: without a title bar (a kiosk, Xvfb, a crowded taskbar) it is
// what tells the lab's windows apart.
func identityHeading(name string) *widget.Label {
	l := widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameHeadingText
	return l
}

func newInfoLabel(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Truncation = fyne.TextTruncateEllipsis
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func (w *MiddlewareWindow) newColumn(i int, title, caption string) *column {
	c := &column{title: title}
	c.header = widget.NewLabelWithStyle(title+" (0)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	c.caption = newCaption(caption)
	withSeq := i == colReady

	c.list = widget.NewList(
		c.model.len,
		func() fyne.CanvasObject { return newRow(withSeq) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			setRow(o.(*fyne.Container), c.model.entries[id], withSeq)
		},
	)
	c.list.OnSelected = func(id widget.ListItemID) { w.selectInOthers(i, id) }
	return c
}

// onEvents is the subscription callback. It runs on the middleware's
// goroutine, so it only buffers and, when the buffer was empty, pokes the
// refresh loop; it never blocks and never touches a widget.
func (w *MiddlewareWindow) onEvents(batch []middleware.Event) {
	if w.events.add(batch) {
		select {
		case w.wake <- struct{}{}:
		default: // a wake is already pending
		}
	}
}

// start runs the refresh loops: at most one flush per interval when
// events wake it, and the status every statusEvery.
func (w *MiddlewareWindow) start(interval, statusEvery time.Duration) {
	w.lists.Gap, w.status.Every = interval, statusEvery
	w.goRefresh(w.lists)
	w.goRefresh(w.status)
}

// queueStatus reads Status and hands it to the UI thread, unless the last
// one is still waiting there.
func (w *MiddlewareWindow) queueStatus() { w.status.round(time.Now()) }

// showStatus updates the status lines, the agreement line and the
// warning of a protocol that orders nothing. UI thread.
func (w *MiddlewareWindow) showStatus(s middleware.Status) {
	membership, counters := statusLines(s)
	setText(w.membership, membership)
	setText(w.counters, counters)
	w.showAgreement(s.Agreement)
	w.showUnordered(s.Protocol)
}

// showAgreement colours the agreement line: green while every peer heard
// from has the same Ready list so far, red once one differs, grey before
// any digest. With no agreement check (nil) the line is hidden.
func (w *MiddlewareWindow) showAgreement(as []core.PeerAgreement) {
	if as == nil {
		if w.agreement.Visible() {
			w.agreement.Hide()
			w.relayout()
		}
		return
	}
	ok, text := core.AgreementSummary(as)
	imp := widget.LowImportance
	switch {
	case !ok:
		imp = widget.DangerImportance
	case heardFromPeer(as):
		imp = widget.SuccessImportance
	}
	if w.agreement.Text != text || w.agreement.Importance != imp {
		w.agreement.Importance = imp
		w.agreement.SetText(text)
	}
	if !w.agreement.Visible() {
		w.agreement.Show()
		w.relayout()
	}
}

// heardFromPeer reports whether some peer's digest has compared lists yet.
func heardFromPeer(as []core.PeerAgreement) bool {
	for _, a := range as {
		if a.Through > 0 || a.Delivered > 0 || a.DiffAt > 0 {
			return true
		}
	}
	return false
}

// unorderedWarning is shown at the top of the window when the protocol
// orders nothing (-protocol none).
func unorderedWarning(protocol string) string {
	return "-protocol " + protocol + ": nothing is ordered; Ready is Received, so windows disagree"
}

// showUnordered shows the warning, and says so under Ready, when the
// protocol orders nothing. UI thread.
func (w *MiddlewareWindow) showUnordered(protocol string) {
	orders := protocol == "" || core.Protocol(protocol).Orders()
	if orders == !w.unordered.Visible() {
		return
	}
	ready := w.cols[colReady]
	defer w.relayout()
	if orders {
		w.unordered.Hide()
		ready.caption.SetText(readyCaption)
		return
	}
	w.unordered.SetText(unorderedWarning(protocol))
	w.unordered.Show()
	ready.caption.SetText("as received: NOT ordered, differs per window")
}

// flush moves the buffered events into the lists and refreshes what
// changed. Its cost is the number of new events plus the visible rows,
// whatever the lists' lengths. UI thread.
func (w *MiddlewareWindow) flush() {
	w.taken = w.events.take(w.taken)
	if len(w.taken) == 0 {
		return
	}
	var follow, grew [numCols]bool
	for i, c := range w.cols {
		follow[i] = c.showsLastRow()
	}
	bids := false
	for _, ev := range w.taken {
		i, ok := columnOf(ev.Kind)
		if !ok {
			continue // EventDiverged: the agreement line shows it
		}
		w.cols[i].model.add(listEntry{msg: ev.Msg, seq: ev.Seq, origin: originOf(&ev)})
		grew[i] = true
		if ev.Kind == middleware.EventReady && w.auction.apply(ev.Msg, ev.Seq) {
			bids = true
		}
	}
	if bids {
		w.auction.show()
	}
	for i, c := range w.cols {
		if !grew[i] {
			continue
		}
		c.header.SetText(c.title + " (" + formatCount(uint64(c.model.len())) + ")")
		if follow[i] {
			c.follow()
		} else {
			c.list.Refresh()
		}
	}
	if w.selected != "" {
		w.selectArrivals(grew)
	}
}

func columnOf(k middleware.EventKind) (int, bool) {
	switch k {
	case middleware.EventSent:
		return colSent, true
	case middleware.EventReceived:
		return colReceived, true
	case middleware.EventReady:
		return colReady, true
	}
	return 0, false
}

// showsLastRow reports whether new rows should scroll into view: yes
// until the user scrolls up from where the list last followed them (and
// again once they scroll back down). widget.List has no scroll callback,
// so the offset after each automatic scroll is remembered and compared.
func (c *column) showsLastRow() bool {
	return c.model.len() == 0 || c.list.GetScrollOffset() >= c.followedTo-1
}

// follow scrolls to the last row and remembers where that put the list.
func (c *column) follow() {
	// Refresh first: the scroller must know the new content height, or it
	// clamps the offset back to the old end on its next refresh.
	c.list.Refresh()
	c.list.ScrollToBottom()
	c.followedTo = c.list.GetScrollOffset()
}

// selectInOthers follows a selection in column from to the other lists.
func (w *MiddlewareWindow) selectInOthers(from int, row widget.ListItemID) {
	if w.syncingSelected || row < 0 || row >= w.cols[from].model.len() {
		return
	}
	w.selected = w.cols[from].model.entries[row].msg
	w.syncingSelected = true
	defer func() { w.syncingSelected = false }()
	for i, c := range w.cols {
		r, ok := c.model.find(w.selected)
		if !ok {
			r = -1
		}
		w.selectedRows[i] = r
		switch {
		case i == from:
		case ok:
			c.list.Select(r) // scrolls to it unless already selected
			c.list.ScrollTo(r)
		default:
			c.list.UnselectAll()
		}
	}
	w.describeSelection()
}

// selectArrivals selects the selected message in the lists it has just
// reached, so a student can watch it go from Received to Ready. Lists that
// already show it are left where the user scrolled them. UI thread.
func (w *MiddlewareWindow) selectArrivals(grew [numCols]bool) {
	w.syncingSelected = true
	defer func() { w.syncingSelected = false }()
	arrived := false
	for i, c := range w.cols {
		if !grew[i] || w.selectedRows[i] >= 0 {
			continue
		}
		if r, ok := c.model.find(w.selected); ok {
			w.selectedRows[i] = r
			c.list.Select(r)
			arrived = true
		}
	}
	if arrived {
		w.describeSelection()
	}
}

// describeSelection says where the selected message is in each list,
// 1-based, which is the point of the lab: Received and Ready differ.
func (w *MiddlewareWindow) describeSelection() {
	where := func(row int) string {
		if row < 0 {
			return "–"
		}
		return "row " + strconv.Itoa(row+1)
	}
	if r := w.selectedRows[colReceived]; r >= 0 && w.cols[colReceived].model.entries[r].origin == foreign {
		w.selectionInfo.SetText(fmt.Sprintf("received %s, never delivered: not announced by any middleware of this lab (%s)",
			where(r), printable(w.selected)))
		return
	}
	readyAt := "not yet"
	if r := w.selectedRows[colReady]; r >= 0 {
		readyAt = "#" + strconv.FormatUint(w.cols[colReady].model.entries[r].seq, 10)
	}
	how := ""
	if r := w.selectedRows[colReceived]; r >= 0 && w.cols[colReceived].model.entries[r].origin == recovered {
		how = " (recovered from the order: its network copy was lost)"
	}
	w.selectionInfo.SetText(fmt.Sprintf("%s: sent %s · received %s%s · ready %s",
		w.selected, where(w.selectedRows[colSent]), where(w.selectedRows[colReceived]), how, readyAt))
}

// rate is the auto-send rate chosen in the select, in messages a second.
func (w *MiddlewareWindow) rate() int {
	r, err := strconv.Atoi(w.rateSelect.Selected)
	if err != nil || r <= 0 {
		r, _ = strconv.Atoi(defaultAutoSendRate)
	}
	return r
}

// setAutoSend replaces the running auto-sender, if any, by one sending rate
// messages a second, or by none if rate is 0. When it returns, the old
// sender has stopped calling Send.
func (w *MiddlewareWindow) setAutoSend(rate int) {
	w.autoSendMu.Lock()
	defer w.autoSendMu.Unlock()
	if w.autoSend != nil {
		w.autoSend.stop()
		w.autoSend = nil
	}
	if rate > 0 && !w.closed {
		interval, batch := w.autoSendEvery(rate)
		w.autoSend = startAutoSender(w.m, interval, batch)
	}
}

// autoSendSchedule turns a rate into a tick interval and a batch size,
// ticking at most every 10 ms: high rates send a few messages per tick
// instead of waking a goroutine thousands of times a second.
func autoSendSchedule(rate int) (interval time.Duration, batch int) {
	const minInterval = 10 * time.Millisecond
	batch = 1
	if perTick := rate * int(minInterval) / int(time.Second); perTick > 1 {
		batch = perTick
	}
	return time.Second * time.Duration(batch) / time.Duration(rate), batch
}

// autoSender calls Send(batch) every interval on its own goroutine until
// stopped.
type autoSender struct {
	quit chan struct{}
	done chan struct{}
}

func startAutoSender(m Middleware, interval time.Duration, batch int) *autoSender {
	s := &autoSender{quit: make(chan struct{}), done: make(chan struct{})}
	r := newRefresher(refreshPlan{Every: interval, Prepare: func(time.Time) func() {
		m.Send(batch)
		return nil // nothing to show
	}}, s.quit, nil)
	go func() {
		defer close(s.done)
		r.run()
	}()
	return s
}

// stop ends the goroutine and waits for it (Send does not block, so this
// is short).
func (s *autoSender) stop() {
	close(s.quit)
	<-s.done
}
