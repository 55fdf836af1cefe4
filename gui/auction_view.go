package gui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"totalorder/auction"
	"totalorder/gui/replay"
)

// auctionView is the window's Auction tab: this middleware's replica of
// the auction, fed with the window's Ready events in order (flush), its
// items in a list, and under it the selected item's bids and the buttons
// that bid on it or close it. Bids and closes are sent as ordinary
// messages (SendText) and count only once they are Ready, here as in every
// other window. UI thread only.
type auctionView struct {
	self int
	send func(body string) error
	// replica is the auction in Ready order: after a restart, the
	// positions in this middleware's events log, then the live ones.
	replica *replay.Auction
	items   []auction.ItemState // as last shown
	sel     int                 // the selected item

	partial *widget.Label // says what the replica lacks, if anything
	top     *fyne.Container

	list   *widget.List
	title  *widget.Label // "Lamp · seller Middleware 1 (this one)"
	detail *widget.Label // price, leader, counts
	// bids is one line: the accepted bids, then the refused ones (in red)
	// with why; the latest of each.
	bids   *widget.RichText
	amount *widget.Entry
	bid    *widget.Button
	quick  *widget.Button // "+10": the price plus auction.Step
	close  *widget.Button
	// note says what the last click did, until the next auction message
	// is applied; then what that message did.
	note    *widget.Label
	content fyne.CanvasObject
}

// Auction columns, in order, and their share of the width.
const (
	acItem = iota
	acSeller
	acPrice
	acLeader
	acAccepted
	acRefused
	acState
	numAuctionCols
)

var (
	auctionHeaders = [numAuctionCols]string{"Item", "Seller", "Price", "Leader", "Accepted", "Refused", "State"}
	auctionShares  = [numAuctionCols]float32{0.14, 0.11, 0.11, 0.12, 0.13, 0.12, 0.27}
)

// newAuctionView is the tab of middleware self of n, with past (the
// Ready positions before a restart, replay.Past) applied.
func newAuctionView(self, n int, send func(body string) error, past []string) *auctionView {
	v := &auctionView{self: self, send: send, replica: replay.NewAuction(auction.Items(n), past)}
	v.items = v.replica.Replica().Items()

	header := newAuctionRow(true)
	for i, t := range header.Objects {
		t.(*canvas.Text).Text = auctionHeaders[i]
	}
	v.list = widget.NewList(
		func() int { return len(v.items) },
		func() fyne.CanvasObject { return newAuctionRow(false) },
		func(id widget.ListItemID, o fyne.CanvasObject) { v.setRow(o.(*fyne.Container), id) },
	)
	v.list.OnSelected = func(id widget.ListItemID) { v.selectItem(id) }

	v.title = newInfoLabel("")
	v.title.TextStyle.Bold = true
	v.detail = newInfoLabel("")
	v.bids = widget.NewRichText(bidSegment(""), bidSegment(""))
	v.bids.Truncation = fyne.TextTruncateEllipsis
	v.amount = widget.NewEntry()
	v.amount.OnSubmitted = func(string) { v.bidTyped() }
	v.bid = widget.NewButtonWithIcon("Bid", theme.ConfirmIcon(), v.bidTyped)
	v.bid.Importance = widget.HighImportance
	v.quick = widget.NewButton("+"+strconv.Itoa(auction.Step), v.bidQuick)
	v.close = widget.NewButton("Close", v.closeItem)
	v.close.Importance = widget.DangerImportance
	v.note = newCaption("Bids and closes count once they are Ready: every window applies them in the same order.")

	actions := container.NewBorder(nil, nil, nil, container.NewHBox(v.bid, v.quick, widget.NewSeparator(), v.close), v.amount)
	details := container.NewVBox(
		widget.NewSeparator(),
		newCompact(v.title, v.detail, v.bids),
		actions,
		newCompact(v.note),
	)
	v.partial = widget.NewLabel("")
	v.partial.Importance = widget.WarningImportance
	v.partial.Wrapping = fyne.TextWrapWord
	v.partial.Hide()
	v.top = container.NewVBox(v.partial, header)
	v.content = container.NewBorder(v.top, details, nil, nil, v.list)
	v.list.Select(0)
	v.showPartial()
	v.show()
	return v
}

// newAuctionRow is a row of the item table: one text per column, laid out
// by share of the width (the header is a bold row).
func newAuctionRow(header bool) *fyne.Container {
	size := rowTextSize()
	objects := make([]fyne.CanvasObject, numAuctionCols)
	for i := range objects {
		var t *canvas.Text
		if !header && (i == acPrice || i == acAccepted || i == acRefused) {
			t = newDigits(size)
		} else {
			t = canvas.NewText("", theme.Color(theme.ColorNameForeground))
			t.TextSize = size
			t.TextStyle.Bold = header
		}
		objects[i] = t
	}
	height := fyne.MeasureText("Mg#1", size, fyne.TextStyle{}).Height
	return container.New(&sharesLayout{shares: auctionShares[:], textHeight: height}, objects...)
}

// setRow shows item id in a row made by newAuctionRow.
func (v *auctionView) setRow(row *fyne.Container, id int) {
	if id < 0 || id >= len(v.items) {
		return
	}
	s := v.items[id]
	texts := [numAuctionCols]string{
		acItem:     s.Name,
		acSeller:   v.who(s.Seller),
		acPrice:    strconv.Itoa(s.Price),
		acLeader:   "–",
		acAccepted: strconv.Itoa(s.Accepted),
		acRefused:  strconv.Itoa(s.Refused),
		acState:    s.State(),
	}
	if s.Leader != 0 {
		texts[acLeader] = v.who(s.Leader)
	}
	if s.Winner == v.self && s.Closed {
		texts[acState] = "sold to you"
	}
	state := theme.ColorNameForeground
	switch {
	case s.Closed && s.Winner != 0:
		state = theme.ColorNameSuccess
	case s.Closed:
		state = theme.ColorNamePlaceHolder
	}
	for i, o := range row.Objects {
		t := o.(*canvas.Text)
		t.Text = texts[i]
		t.Color = theme.Color(theme.ColorNameForeground)
		if i == acState {
			t.Color = theme.Color(state)
		}
		if i == acRefused && s.Refused > 0 {
			t.Color = theme.Color(theme.ColorNameError)
		}
		t.Refresh()
	}
}

// who names a middleware in the table: "M3", or "you" for this one.
func (v *auctionView) who(id int) string {
	if id == v.self {
		return "you"
	}
	return "M" + strconv.Itoa(id)
}

// apply applies one Ready message (text at position seq) unless the
// replica has it already; it reports whether the view needs show.
func (v *auctionView) apply(text string, seq uint64) bool {
	missing, _ := v.replica.Missing()
	_, changed := v.replica.Apply(seq, text)
	if now, _ := v.replica.Missing(); now != missing {
		v.showPartial()
	}
	return changed
}

// showPartial says what the replica lacks: the Ready messages delivered
// before a restart that are not in the events log.
func (v *auctionView) showPartial() {
	missing, through := v.replica.Missing()
	text := ""
	switch {
	case missing == 0:
	case v.replica.FromLog() == 0 && uint64(missing) == v.replica.FirstLive()-1:
		text = fmt.Sprintf("This window started at Ready #%d: the %d messages before it were delivered before a restart and are not applied here, so this auction may differ from the other windows'.", v.replica.FirstLive(), missing)
	default:
		text = fmt.Sprintf("This window's auction lacks %d of the Ready messages up to #%d: delivered before a restart, they are not in its events log, so this auction may differ from the other windows'.", missing, through)
	}
	if text == v.partial.Text && (text != "") == v.partial.Visible() {
		return
	}
	v.partial.SetText(text)
	if text == "" {
		v.partial.Hide()
	} else {
		v.partial.Show()
	}
	v.top.Refresh()
	v.content.Refresh()
}

// show redraws the table and the selected item from the replica.
func (v *auctionView) show() {
	r := v.replica.Replica()
	v.items = r.Items()
	v.list.Refresh()
	v.showSelected()
	if r.Seen() == 0 {
		return
	}
	o := r.Last()
	imp := widget.SuccessImportance
	if o.Kind == auction.BidRefused || o.Kind == auction.CloseRefused {
		imp = widget.DangerImportance
	}
	v.say("Applied "+o.String(), imp)
}

func (v *auctionView) selectItem(id int) {
	if id < 0 || id >= len(v.items) || id == v.sel && v.title.Text != "" {
		return
	}
	v.sel = id
	v.amount.SetText("")
	v.showSelected()
}

// showSelected fills in the details and enables the buttons that can do
// something for the selected item here.
func (v *auctionView) showSelected() {
	s := v.items[v.sel]
	seller := fmt.Sprintf("Middleware %d", s.Seller)
	if s.Seller == v.self {
		seller += " (this one)"
	}
	v.title.SetText(fmt.Sprintf("%s · starting price %d · sold by %s", s.Name, s.Start, seller))

	var d strings.Builder
	switch {
	case s.Closed && s.Winner != 0:
		fmt.Fprintf(&d, "CLOSED by %s: sold to Middleware %d for %d", s.ClosedBy, s.Winner, s.Price)
	case s.Closed:
		fmt.Fprintf(&d, "CLOSED by %s: unsold", s.ClosedBy)
	case s.Leader != 0:
		fmt.Fprintf(&d, "open · price %d, leading bid by Middleware %d · a bid must be %d or more", s.Price, s.Leader, s.MinBid())
	default:
		fmt.Fprintf(&d, "open · no bid yet · a bid must be %d or more", s.MinBid())
	}
	if s.RefusedCloses > 0 {
		fmt.Fprintf(&d, " · %d closes refused", s.RefusedCloses)
	}
	v.detail.SetText(d.String())
	accepted, refused := v.bids.Segments[0].(*widget.TextSegment), v.bids.Segments[1].(*widget.TextSegment)
	accepted.Text = fmt.Sprintf("accepted %d%s · ", s.Accepted, bidList(s.LastAccepted, false))
	refused.Text = fmt.Sprintf("refused %d%s", s.Refused, bidList(s.LastRefused, true))
	refused.Style.ColorName = theme.ColorNameForeground
	if s.Refused > 0 {
		refused.Style.ColorName = theme.ColorNameError
	}
	v.bids.Refresh()

	canBid := s.Open() && s.Seller != v.self
	switch {
	case s.Closed:
		v.amount.PlaceHolder = s.Name + " is closed"
	case s.Seller == v.self:
		v.amount.PlaceHolder = "you sell " + s.Name + ": you may close it"
	default:
		v.amount.PlaceHolder = fmt.Sprintf("amount: %d or more", s.MinBid())
	}
	v.quick.SetText(fmt.Sprintf("+%d: %d", auction.Step, s.Price+auction.Step))
	v.close.SetText("Close " + s.Name)
	for _, w := range []interface {
		Enable()
		Disable()
	}{v.amount, v.bid, v.quick} {
		enable(w, canBid)
	}
	enable(v.close, s.Open() && s.Seller == v.self)
	v.amount.Refresh()
}

func enable(w interface {
	Enable()
	Disable()
}, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

// bidSegment is one part of the bids line, in the info lines' size.
func bidSegment(text string) *widget.TextSegment {
	return &widget.TextSegment{Text: text, Style: widget.RichTextStyle{
		Inline: true, ColorName: theme.ColorNameForeground, SizeName: theme.SizeNameCaptionText}}
}

// bidList words the latest bids, newest first: " (130 by M3; 120 by M2)",
// with why each was refused if reasons.
func bidList(bids []auction.Bid, reasons bool) string {
	if len(bids) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" (")
	for i := len(bids) - 1; i >= 0; i-- {
		x := bids[i]
		if i < len(bids)-1 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d by M%d", x.Amount, x.Bidder)
		if reasons && x.Reason != "" {
			b.WriteString(": " + x.Reason)
		}
	}
	b.WriteString(")")
	return b.String()
}

// bidTyped bids the amount typed in the entry.
func (v *auctionView) bidTyped() {
	a, err := auction.ParseAmount(strings.TrimSpace(v.amount.Text))
	if err != nil {
		v.say(err.Error(), widget.DangerImportance)
		return
	}
	v.sendBody(auction.BidBody(v.items[v.sel].Name, a))
}

// bidQuick bids the price plus auction.Step.
func (v *auctionView) bidQuick() {
	s := v.items[v.sel]
	v.sendBody(auction.BidBody(s.Name, s.Price+auction.Step))
}

func (v *auctionView) closeItem() {
	v.sendBody(auction.CloseBody(v.items[v.sel].Name))
}

func (v *auctionView) sendBody(body string) {
	if err := v.send(body); err != nil {
		v.say("not sent: "+err.Error(), widget.DangerImportance)
		return
	}
	v.say("Sent \""+body+"\": it counts once Ready, against the price then.", widget.MediumImportance)
}

func (v *auctionView) say(text string, imp widget.Importance) {
	v.note.Importance = imp
	v.note.SetText(text)
}

// sharesLayout places texts side by side, each given its share of the
// width, vertically centred; like rowLayout its minimum width is small.
type sharesLayout struct {
	shares     []float32
	textHeight float32
}

func (l *sharesLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	pad := theme.Padding()
	y := (size.Height - l.textHeight) / 2
	x := pad
	width := max(size.Width-2*pad, 0)
	for i, o := range objects {
		w := width * l.shares[i]
		o.Move(fyne.NewPos(x, y))
		o.Resize(fyne.NewSize(max(w-pad, 0), l.textHeight))
		x += w
	}
}

func (l *sharesLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	pad := theme.Padding()
	return fyne.NewSize(float32(len(l.shares))*4*pad, l.textHeight+2*pad)
}
