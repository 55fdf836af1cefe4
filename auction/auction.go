// Package auction is the lab's replicated application: an auction whose
// state is a function of the messages applied to it, in order, and of
// nothing else (no clock, no I/O, no goroutine). Every middleware keeps a
// copy, a Replica, and applies the messages of its Ready list one by one.
// With a total order every copy names the same prices and the same
// winners; with -protocol none (Ready is Received) they may not.
//
// Its messages are ordinary lab messages with a body, so any network
// program relays them:
//
//	Msg #4 from Middleware 3: Bid 130 on Lamp
//	Msg #9 from Middleware 1: Close Lamp
//
// The rules are applied when a message is applied, not when it is sent:
//
//   - a bid is accepted if its item is open and the amount is above the
//     item's price at that moment (the starting price, or the leading
//     bid); otherwise it is refused, and the reason is kept;
//   - the seller does not bid on its own item;
//   - only the seller closes an item; a close ends the item, and the
//     leading bidder at that moment wins it (none: unsold);
//   - a message that is not a bid or a close is ignored.
//
// So two bids of 110 on a Lamp at 100 sent at the same moment: the one
// applied first wins the lead, the other is refused ("not above the price
// 110"), and which one that is depends on the order alone.
package auction

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"totalorder/middleware/core"
)

// Step is the quick bid's raise: "+10" bids the price plus Step.
const Step = 10

// MaxAmount bounds a bid, so amounts fit any int and any window.
const MaxAmount = 999_999_999

// keepLast is how many accepted and refused bids an item remembers.
const keepLast = 3

// Item is one thing for sale.
type Item struct {
	Name   string
	Start  int // the starting price: a first bid must be above it
	Seller int // the middleware that sells it, the only one that may close it
}

// catalogue is the lab's auction: a few items and their starting prices.
var catalogue = []struct {
	name  string
	start int
}{
	{"Lamp", 100},
	{"Bike", 200},
	{"Clock", 50},
	{"Vase", 80},
	{"Radio", 60},
}

// Items is the lab's catalogue for n middlewares: item i (0-based) is sold
// by Middleware (i mod n)+1.
func Items(n int) []Item {
	if n < 1 {
		n = 1
	}
	items := make([]Item, len(catalogue))
	for i, c := range catalogue {
		items[i] = Item{Name: c.name, Start: c.start, Seller: i%n + 1}
	}
	return items
}

// Bid is one bid as applied.
type Bid struct {
	Msg    string // its message's id, "Msg #4 from Middleware 3"
	Bidder int
	Amount int
	Reason string // why it was refused; "" if it was accepted
}

// ItemState is an item and what the bids and closes applied so far made
// of it.
type ItemState struct {
	Item
	Price    int // the starting price until a bid is accepted, then the leading bid
	Leader   int // the leading bidder; 0 before any accepted bid
	Accepted int // bids accepted
	Refused  int // bids refused
	// LastAccepted and LastRefused are the latest bids of each kind,
	// oldest first, at most keepLast.
	LastAccepted []Bid
	LastRefused  []Bid
	Closed       bool
	// Winner is the leader when the item closed; 0 if it closed unsold
	// (or is still open).
	Winner int
	// ClosedBy is the message that closed it; RefusedCloses counts the
	// closes refused (not the seller, or already closed).
	ClosedBy      string
	RefusedCloses int
}

// Open reports whether the item still takes bids.
func (s ItemState) Open() bool { return !s.Closed }

// MinBid is the least amount a bid must reach to be accepted now.
func (s ItemState) MinBid() int { return s.Price + 1 }

// Outcome says what applying one message did.
type Outcome struct {
	Kind   Kind
	Msg    string // the message's id, "Msg #4 from Middleware 3" ("" if not a message)
	From   int    // its sender
	Item   string // the item concerned (as named in the message if unknown)
	Amount int    // a bid's amount
	Reason string // why it was refused
}

// Kind is what a message was to the auction.
type Kind uint8

const (
	Ignored      Kind = iota // not an auction message
	BidAccepted              // a bid that took the lead
	BidRefused               // a bid refused (Reason)
	Closed                   // a close that ended its item
	CloseRefused             // a close refused (Reason)
)

func (k Kind) String() string {
	switch k {
	case BidAccepted:
		return "accepted"
	case BidRefused, CloseRefused:
		return "refused"
	case Closed:
		return "closed"
	}
	return "ignored"
}

// String words an outcome on one line, for a window or a log:
// "Msg #4 from Middleware 3: Bid 130 on Lamp: accepted",
// "Msg #5 from Middleware 2: Bid 120 on Lamp: refused, not above the price 130".
func (o Outcome) String() string {
	var what string
	switch o.Kind {
	case BidAccepted, BidRefused:
		what = BidBody(o.Item, o.Amount)
	case Closed, CloseRefused:
		what = CloseBody(o.Item)
	default:
		if o.Msg == "" {
			return "not a lab message"
		}
		return o.Msg + ": not an auction message"
	}
	s := o.Msg + ": " + what + ": " + o.Kind.String()
	if o.Reason != "" {
		s += ", " + o.Reason
	}
	return s
}

// Command is an auction message's body, parsed.
type Command struct {
	Close  bool // "Close ITEM"; otherwise "Bid AMOUNT on ITEM"
	Item   string
	Amount int
}

// BidBody is the body of a bid: "Bid 130 on Lamp".
func BidBody(item string, amount int) string {
	return "Bid " + strconv.Itoa(amount) + " on " + item
}

// CloseBody is the body of a close: "Close Lamp".
func CloseBody(item string) string { return "Close " + item }

// ParseBody reads a bid or a close; ok is false for any other body.
// Words are separated by spaces; the amount is 0..MaxAmount in digits.
func ParseBody(body string) (Command, bool) {
	f := strings.Fields(body)
	switch {
	case len(f) == 4 && f[0] == "Bid" && f[2] == "on":
		amount, ok := parseAmount(f[1])
		if !ok {
			return Command{}, false
		}
		return Command{Item: f[3], Amount: amount}, true
	case len(f) == 2 && f[0] == "Close":
		return Command{Close: true, Item: f[1]}, true
	}
	return Command{}, false
}

// ParseAmount reads an amount typed by a user: digits only, 1..MaxAmount.
func ParseAmount(s string) (int, error) {
	a, ok := parseAmount(s)
	if !ok || a < 1 {
		return 0, fmt.Errorf("amount %.20q: want a whole number from 1 to %d", s, MaxAmount)
	}
	return a, nil
}

func parseAmount(s string) (int, bool) {
	if s == "" || len(s) > len(strconv.Itoa(MaxAmount)) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	a, err := strconv.Atoi(s)
	if err != nil || a > MaxAmount {
		return 0, false
	}
	return a, true
}

// Replica is one copy of the auction. It is not safe for concurrent use:
// its owner applies messages and reads it from one goroutine (or under its
// own lock).
type Replica struct {
	items  []ItemState
	byName map[string]int // lower-case name → index in items
	// seen counts auction messages applied (bids and closes, refused
	// ones and unknown items included); unknown those naming no item.
	seen, unknown int
	last          Outcome
}

// New is a replica of an auction of items (Items(n) for the lab's), before
// any message.
func New(items []Item) *Replica {
	r := &Replica{byName: make(map[string]int, len(items))}
	for _, it := range items {
		if _, dup := r.byName[strings.ToLower(it.Name)]; dup || it.Name == "" || strings.ContainsAny(it.Name, " \t") {
			panic(fmt.Sprintf("auction: bad or duplicate item name %q", it.Name))
		}
		r.byName[strings.ToLower(it.Name)] = len(r.items)
		r.items = append(r.items, ItemState{Item: it, Price: it.Start})
	}
	return r
}

// Lookup finds an item by name, whatever its case.
func (r *Replica) Lookup(name string) (Item, bool) {
	i, ok := r.byName[strings.ToLower(name)]
	if !ok {
		return Item{}, false
	}
	return r.items[i].Item, true
}

// Apply applies one Ready message, given as its text ("Msg #4 from
// Middleware 3: Bid 130 on Lamp"), and says what it did. Messages must be
// applied in their Ready order, each once.
func (r *Replica) Apply(text string) Outcome {
	m, ok := core.ParseMessage(text)
	if !ok {
		return Outcome{}
	}
	o := Outcome{Msg: m.ID.Text(), From: m.ID.Sender}
	cmd, ok := ParseBody(m.Body)
	if !ok {
		return o
	}
	r.seen++
	o.Item, o.Amount = cmd.Item, cmd.Amount
	i, known := r.byName[strings.ToLower(cmd.Item)]
	switch {
	case !known:
		r.unknown++
		o.Kind, o.Reason = BidRefused, "no item called "+cmd.Item
		if cmd.Close {
			o.Kind = CloseRefused
		}
	case cmd.Close:
		r.applyClose(&r.items[i], &o)
	default:
		r.applyBid(&r.items[i], &o)
	}
	r.last = o
	return o
}

func (r *Replica) applyBid(s *ItemState, o *Outcome) {
	o.Item = s.Name
	switch {
	case s.Closed:
		o.Reason = s.Name + " is closed"
	case o.From == s.Seller:
		o.Reason = fmt.Sprintf("Middleware %d sells %s", s.Seller, s.Name)
	case o.Amount <= s.Price:
		o.Reason = "not above the price " + strconv.Itoa(s.Price)
	}
	bid := Bid{Msg: o.Msg, Bidder: o.From, Amount: o.Amount, Reason: o.Reason}
	if o.Reason != "" {
		o.Kind = BidRefused
		s.Refused++
		s.LastRefused = keep(s.LastRefused, bid)
		return
	}
	o.Kind = BidAccepted
	s.Accepted++
	s.Price, s.Leader = o.Amount, o.From
	s.LastAccepted = keep(s.LastAccepted, bid)
}

func (r *Replica) applyClose(s *ItemState, o *Outcome) {
	o.Item = s.Name
	switch {
	case s.Closed:
		o.Reason = s.Name + " is already closed"
	case o.From != s.Seller:
		o.Reason = fmt.Sprintf("only Middleware %d, the seller, may close %s", s.Seller, s.Name)
	}
	if o.Reason != "" {
		o.Kind = CloseRefused
		s.RefusedCloses++
		return
	}
	o.Kind = Closed
	s.Closed, s.Winner, s.ClosedBy = true, s.Leader, o.Msg
}

func keep(bids []Bid, b Bid) []Bid {
	if len(bids) == keepLast {
		bids = append(bids[:0:0], bids[1:]...) // a fresh array: copies handed out stay as they were
	}
	return append(bids, b)
}

// Items is the state of every item, in catalogue order. The caller may
// keep and change the copy.
func (r *Replica) Items() []ItemState {
	out := make([]ItemState, len(r.items))
	for i, s := range r.items {
		s.LastAccepted = append([]Bid(nil), s.LastAccepted...)
		s.LastRefused = append([]Bid(nil), s.LastRefused...)
		out[i] = s
	}
	return out
}

// Item is one item's state, found by name whatever its case.
func (r *Replica) Item(name string) (ItemState, bool) {
	i, ok := r.byName[strings.ToLower(name)]
	if !ok {
		return ItemState{}, false
	}
	s := r.items[i]
	s.LastAccepted = append([]Bid(nil), s.LastAccepted...)
	s.LastRefused = append([]Bid(nil), s.LastRefused...)
	return s, true
}

// Seen is how many auction messages (bids and closes) were applied.
func (r *Replica) Seen() int { return r.seen }

// Last is the outcome of the last auction message applied.
func (r *Replica) Last() Outcome { return r.last }

// State words an item's state in a few words: "open", "sold to M3",
// "closed, unsold".
func (s ItemState) State() string {
	switch {
	case !s.Closed:
		return "open"
	case s.Winner != 0:
		return fmt.Sprintf("sold to M%d", s.Winner)
	}
	return "closed, unsold"
}

// Summary is the auction on one line, for a status line:
//
//	auction: Lamp 130 M3 · Bike 200 no bid · Clock SOLD M2 70 · Vase UNSOLD · Radio 70 M4 (bids: 5 accepted, 2 refused)
func (r *Replica) Summary() string {
	var b strings.Builder
	b.WriteString("auction:")
	accepted, refused := 0, 0
	for i, s := range r.items {
		if i > 0 {
			b.WriteString(" ·")
		}
		accepted += s.Accepted
		refused += s.Refused
		switch {
		case s.Closed && s.Winner != 0:
			fmt.Fprintf(&b, " %s SOLD M%d %d", s.Name, s.Winner, s.Price)
		case s.Closed:
			fmt.Fprintf(&b, " %s UNSOLD", s.Name)
		case s.Leader != 0:
			fmt.Fprintf(&b, " %s %d M%d", s.Name, s.Price, s.Leader)
		default:
			fmt.Fprintf(&b, " %s %d no bid", s.Name, s.Price)
		}
	}
	fmt.Fprintf(&b, " (bids: %d accepted, %d refused", accepted, refused+r.unknown)
	closesRefused := 0
	for _, s := range r.items {
		closesRefused += s.RefusedCloses
	}
	if closesRefused > 0 {
		fmt.Fprintf(&b, "; %d closes refused", closesRefused)
	}
	b.WriteString(")")
	return b.String()
}

// String is the whole state, one line per item, in a fixed form: two
// replicas that applied the same messages in the same order print the
// same text, and (as far as the auction can tell) only those.
func (r *Replica) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "auction messages %d, unknown items %d\n", r.seen, r.unknown)
	bids := func(label string, bs []Bid) {
		fmt.Fprintf(&b, " %s[", label)
		for i, x := range bs {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%q:%d", x.Msg, x.Amount)
			if x.Reason != "" {
				fmt.Fprintf(&b, ":%q", x.Reason)
			}
		}
		b.WriteString("]")
	}
	for _, s := range r.items {
		fmt.Fprintf(&b, "%s seller=%d start=%d price=%d leader=%d accepted=%d refused=%d closed=%t winner=%d closed-by=%q refused-closes=%d",
			s.Name, s.Seller, s.Start, s.Price, s.Leader, s.Accepted, s.Refused, s.Closed, s.Winner, s.ClosedBy, s.RefusedCloses)
		bids("last-accepted=", s.LastAccepted)
		bids("last-refused=", s.LastRefused)
		b.WriteString("\n")
	}
	return b.String()
}

// Digest is a short fingerprint of String, 16 hex digits, for comparing
// replicas at a glance.
func (r *Replica) Digest() string {
	h := fnv.New64a()
	h.Write([]byte(r.String()))
	return fmt.Sprintf("%016x", h.Sum64())
}

// Winners words who won what, in catalogue order: "Lamp M3 130",
// "Bike unsold", "Clock open (M2 70)".
func (r *Replica) Winners() []string {
	out := make([]string, len(r.items))
	for i, s := range r.items {
		switch {
		case s.Closed && s.Winner != 0:
			out[i] = fmt.Sprintf("M%d %d", s.Winner, s.Price)
		case s.Closed:
			out[i] = "unsold"
		case s.Leader != 0:
			out[i] = fmt.Sprintf("open (M%d %d)", s.Leader, s.Price)
		default:
			out[i] = "open"
		}
	}
	return out
}
