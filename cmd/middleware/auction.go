package main

import (
	"fmt"
	"strings"
	"sync"

	"totalorder/auction"
	"totalorder/middleware"
)

// appAuction is the one application -app names.
const appAuction = "auction"

// auctionFeed is the command line's replica of the auction: it applies the
// middleware's Ready events as they come (on the middleware's goroutine)
// and answers the stdin commands (on theirs). A window keeps its own
// replica; both see the same Ready events.
type auctionFeed struct {
	id     int  // this middleware: only an item's seller closes it
	always bool // -app auction: status always prints the auction's line
	mu     sync.Mutex
	r      *auction.Replica
	// from is the first Ready position applied (0: none yet); past 1
	// after a restart, when what came before is not known here.
	from uint64
}

func newAuctionFeed(id, n int, always bool) *auctionFeed {
	return &auctionFeed{id: id, always: always, r: auction.New(auction.Items(n))}
}

// onEvents is the subscription: it applies the Ready messages in order.
func (a *auctionFeed) onEvents(batch []middleware.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range batch {
		if e.Kind == middleware.EventReady {
			if a.from == 0 {
				a.from = e.Seq
			}
			a.r.Apply(e.Msg)
		}
	}
}

// summary is the auction's status line, and whether status prints it:
// once the auction saw a bid or a close, or always with -app auction.
func (a *auctionFeed) summary() (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.r.Summary()
	if a.from > 1 {
		s += fmt.Sprintf(" partial=\"applied from Ready #%d on: the messages before a restart are not known here\"", a.from)
	}
	return s, a.always || a.r.Seen() > 0
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
	it, ok := a.r.Lookup(name)
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
	for _, s := range a.r.Items() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
