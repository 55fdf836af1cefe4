package main

import (
	"fmt"
	"strings"
	"sync"

	"totalorder/auction"
	"totalorder/gui/replay"
	"totalorder/middleware"
)

// appAuction is the one application -app names.
const appAuction = "auction"

// auctionFeed is the command line's replica of the auction: it applies the
// middleware's Ready events as they come (on the middleware's goroutine)
// and answers the stdin commands (on theirs). A window keeps its own
// replica; both see the same Ready events, after the same past ones.
type auctionFeed struct {
	id     int  // this middleware: only an item's seller closes it
	always bool // -app auction: status always prints the auction's line
	mu     sync.Mutex
	r      *replay.Auction
}

// newAuctionFeed is the replica of middleware id of n with past (the
// Ready positions before a restart, replay.Past) applied.
func newAuctionFeed(id, n int, always bool, past []string) *auctionFeed {
	return &auctionFeed{id: id, always: always, r: replay.NewAuction(auction.Items(n), past)}
}

// onEvents is the subscription: it applies the Ready messages in order,
// each position once.
func (a *auctionFeed) onEvents(batch []middleware.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range batch {
		if e.Kind == middleware.EventReady {
			a.r.Apply(e.Seq, e.Msg)
		}
	}
}

// summary is the auction's status line, and whether status prints it:
// once the auction saw a bid or a close, or always with -app auction.
func (a *auctionFeed) summary() (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.r.Replica()
	s := r.Summary()
	switch missing, through := a.r.Missing(); {
	case missing == 0:
	case a.r.FromLog() == 0 && uint64(missing) == a.r.FirstLive()-1:
		s += fmt.Sprintf(" partial=\"applied from Ready #%d on: the messages before a restart are not known here\"", a.r.FirstLive())
	default:
		s += fmt.Sprintf(" partial=\"%d of the Ready messages up to #%d are not known here: delivered before a restart, they are not in the events log\"", missing, through)
	}
	return s, a.always || r.Seen() > 0
}

// bidBody checks "bid ITEM AMOUNT" (f without the command word) and makes
// the message body. Whether the bid beats the price is decided when it is
// applied, in order, by every replica; it is not checked here.
func (a *auctionFeed) bidBody(f []string) (string, error) {
	if len(f) != 2 {
		return "", fmt.Errorf("want bid ITEM AMOUNT (items: %s)", a.itemNames())
	}
	it, err := a.item(f[0])
	if err != nil {
		return "", err
	}
	amount, err := auction.ParseAmount(f[1])
	if err != nil {
		return "", err
	}
	return auction.BidBody(it.Name, amount), nil
}

// closeBody checks "close ITEM": only the item's seller may close it.
func (a *auctionFeed) closeBody(f []string) (string, error) {
	if len(f) != 1 {
		return "", fmt.Errorf("want close ITEM (items: %s)", a.itemNames())
	}
	it, err := a.item(f[0])
	if err != nil {
		return "", err
	}
	if it.Seller != a.id {
		return "", fmt.Errorf("Middleware %d sells %s: only it may close it", it.Seller, it.Name)
	}
	return auction.CloseBody(it.Name), nil
}

func (a *auctionFeed) item(name string) (auction.Item, error) {
	a.mu.Lock()
	it, ok := a.r.Replica().Lookup(name)
	a.mu.Unlock()
	if !ok {
		return it, fmt.Errorf("no item %.20q: want one of %s", name, a.itemNames())
	}
	return it, nil
}

func (a *auctionFeed) itemNames() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var names []string
	for _, s := range a.r.Replica().Items() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
