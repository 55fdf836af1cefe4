package auction

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// msg is the text of message k from middleware from with body.
func msg(k, from int, body string) string {
	return fmt.Sprintf("Msg #%d from Middleware %d: %s", k, from, body)
}

func TestItems(t *testing.T) {
	got := fmt.Sprint(Items(3))
	want := "[{Lamp 100 1} {Bike 200 2} {Clock 50 3} {Vase 80 1} {Radio 60 2}]"
	if got != want {
		t.Errorf("Items(3) = %s, want %s", got, want)
	}
	if got := Items(5)[4].Seller; got != 5 {
		t.Errorf("Items(5): Radio sold by %d, want 5", got)
	}
}

func TestParseBody(t *testing.T) {
	for _, tt := range []struct {
		body string
		cmd  Command
		ok   bool
	}{
		{"Bid 130 on Lamp", Command{Item: "Lamp", Amount: 130}, true},
		{"Bid 0 on Lamp", Command{Item: "Lamp"}, true},
		{"Close Lamp", Command{Close: true, Item: "Lamp"}, true},
		{"  Bid  130  on  lamp ", Command{Item: "lamp", Amount: 130}, true},
		{"Bid -5 on Lamp", Command{}, false},
		{"Bid +5 on Lamp", Command{}, false},
		{"Bid 1e3 on Lamp", Command{}, false},
		{"Bid 1000000000 on Lamp", Command{}, false}, // above MaxAmount
		{"Bid 130 for Lamp", Command{}, false},
		{"Bid 130 on Big Lamp", Command{}, false},
		{"bid 130 on Lamp", Command{}, false},
		{"Close", Command{}, false},
		{"Close Lamp now", Command{}, false},
		{"hello", Command{}, false},
		{"", Command{}, false},
	} {
		cmd, ok := ParseBody(tt.body)
		if cmd != tt.cmd || ok != tt.ok {
			t.Errorf("ParseBody(%q) = %+v, %v; want %+v, %v", tt.body, cmd, ok, tt.cmd, tt.ok)
		}
	}
	for _, body := range []string{BidBody("Lamp", 130), CloseBody("Vase")} {
		if _, ok := ParseBody(body); !ok {
			t.Errorf("%q does not parse back", body)
		}
	}
	for _, s := range []string{"0", "-1", "x", "", "1000000000", "12 "} {
		if _, err := ParseAmount(s); err == nil {
			t.Errorf("ParseAmount(%q) accepted", s)
		}
	}
	if a, err := ParseAmount("140"); a != 140 || err != nil {
		t.Errorf("ParseAmount(140) = %d, %v", a, err)
	}
}

func TestApply(t *testing.T) {
	// Lamp 100 (seller 1), Bike 200 (2), Clock 50 (3), Vase 80 (1), Radio 60 (2).
	type step struct {
		text    string
		outcome string // Outcome.String()
	}
	for _, tt := range []struct {
		name  string
		steps []step
		item  string
		want  string // the item's state afterwards: price leader accepted refused state
	}{
		{"first bid above the start", []step{
			{msg(1, 2, "Bid 110 on Lamp"), "Msg #1 from Middleware 2: Bid 110 on Lamp: accepted"},
		}, "Lamp", "110 2 1/0 open"},
		{"a bid at the start price is refused", []step{
			{msg(1, 2, "Bid 100 on Lamp"), "Msg #1 from Middleware 2: Bid 100 on Lamp: refused, not above the price 100"},
		}, "Lamp", "100 0 0/1 open"},
		{"a bid must beat the leading bid when applied", []step{
			{msg(1, 2, "Bid 130 on Lamp"), "Msg #1 from Middleware 2: Bid 130 on Lamp: accepted"},
			{msg(1, 3, "Bid 120 on Lamp"), "Msg #1 from Middleware 3: Bid 120 on Lamp: refused, not above the price 130"},
			{msg(2, 3, "Bid 130 on Lamp"), "Msg #2 from Middleware 3: Bid 130 on Lamp: refused, not above the price 130"},
			{msg(3, 3, "Bid 131 on Lamp"), "Msg #3 from Middleware 3: Bid 131 on Lamp: accepted"},
		}, "Lamp", "131 3 2/2 open"},
		{"the leader may raise its own bid", []step{
			{msg(1, 2, "Bid 110 on Lamp"), "Msg #1 from Middleware 2: Bid 110 on Lamp: accepted"},
			{msg(2, 2, "Bid 150 on Lamp"), "Msg #2 from Middleware 2: Bid 150 on Lamp: accepted"},
		}, "Lamp", "150 2 2/0 open"},
		{"the seller does not bid on its own item", []step{
			{msg(1, 1, "Bid 500 on Lamp"), "Msg #1 from Middleware 1: Bid 500 on Lamp: refused, Middleware 1 sells Lamp"},
		}, "Lamp", "100 0 0/1 open"},
		{"the seller closes: the leader wins", []step{
			{msg(1, 2, "Bid 110 on Lamp"), "Msg #1 from Middleware 2: Bid 110 on Lamp: accepted"},
			{msg(1, 1, "Close Lamp"), "Msg #1 from Middleware 1: Close Lamp: closed"},
		}, "Lamp", "110 2 1/0 sold to M2"},
		{"a close by anyone else is refused", []step{
			{msg(1, 2, "Bid 110 on Lamp"), "Msg #1 from Middleware 2: Bid 110 on Lamp: accepted"},
			{msg(2, 2, "Close Lamp"), "Msg #2 from Middleware 2: Close Lamp: refused, only Middleware 1, the seller, may close Lamp"},
			{msg(1, 3, "Bid 120 on Lamp"), "Msg #1 from Middleware 3: Bid 120 on Lamp: accepted"},
		}, "Lamp", "120 3 2/0 open"},
		{"no bid after the close", []step{
			{msg(1, 3, "Close Clock"), "Msg #1 from Middleware 3: Close Clock: closed"},
			{msg(1, 2, "Bid 999 on Clock"), "Msg #1 from Middleware 2: Bid 999 on Clock: refused, Clock is closed"},
			{msg(2, 3, "Close Clock"), "Msg #2 from Middleware 3: Close Clock: refused, Clock is already closed"},
		}, "Clock", "50 0 0/1 closed, unsold"},
		{"item names in any case", []step{
			{msg(1, 1, "Bid 210 on bike"), "Msg #1 from Middleware 1: Bid 210 on Bike: accepted"},
			{msg(1, 2, "Close BIKE"), "Msg #1 from Middleware 2: Close Bike: closed"},
		}, "Bike", "210 1 1/0 sold to M1"},
		{"unknown items and other messages change nothing", []step{
			{msg(1, 2, "Bid 110 on Sofa"), "Msg #1 from Middleware 2: Bid 110 on Sofa: refused, no item called Sofa"},
			{msg(2, 2, "Close Sofa"), "Msg #2 from Middleware 2: Close Sofa: refused, no item called Sofa"},
			{"Msg #3 from Middleware 2", "Msg #3 from Middleware 2: not an auction message"},
			{msg(4, 2, "hello"), "Msg #4 from Middleware 2: not an auction message"},
			{"Msg #4 from Middleware 2: Bid 110 on Lamp <EOM>", "not a lab message"},
		}, "Lamp", "100 0 0/0 open"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Items(5))
			for _, s := range tt.steps {
				if got := r.Apply(s.text).String(); got != s.outcome {
					t.Errorf("Apply(%q)\n got %s\nwant %s", s.text, got, s.outcome)
				}
			}
			s, ok := r.Item(tt.item)
			if !ok {
				t.Fatalf("no item %s", tt.item)
			}
			got := fmt.Sprintf("%d %d %d/%d %s", s.Price, s.Leader, s.Accepted, s.Refused, s.State())
			if got != tt.want {
				t.Errorf("%s: %s, want %s", tt.item, got, tt.want)
			}
		})
	}
}

func TestLastBidsKeepReasons(t *testing.T) {
	r := New(Items(5))
	r.Apply(msg(1, 2, "Bid 110 on Lamp"))
	for k := 1; k <= 5; k++ {
		r.Apply(msg(k, 3, fmt.Sprintf("Bid %d on Lamp", 100+k)))
	}
	r.Apply(msg(2, 2, "Bid 120 on Lamp"))
	s, _ := r.Item("Lamp")
	if len(s.LastRefused) != keepLast || s.Refused != 5 {
		t.Fatalf("refused %d, last %v", s.Refused, s.LastRefused)
	}
	if b := s.LastRefused[keepLast-1]; b.Amount != 105 || b.Bidder != 3 || b.Reason != "not above the price 110" || b.Msg != "Msg #5 from Middleware 3" {
		t.Errorf("last refused bid %+v", b)
	}
	if got := fmt.Sprint(s.LastAccepted); got != "[{Msg #1 from Middleware 2 2 110 } {Msg #2 from Middleware 2 2 120 }]" {
		t.Errorf("last accepted %s", got)
	}
	// The copy is the caller's.
	s.LastRefused[0].Amount = 1
	if again, _ := r.Item("Lamp"); again.LastRefused[0].Amount == 1 {
		t.Error("changing a returned ItemState changed the replica")
	}
	if r.Seen() != 7 || r.Last().Amount != 120 {
		t.Errorf("seen %d, last %+v", r.Seen(), r.Last())
	}
}

// script is a little auction: bids from everyone on everything, some
// closes, some messages that are not the auction's.
func script(rng *rand.Rand, n, count int) []string {
	items := Items(n)
	var out []string
	num := make([]int, n+1)
	for range count {
		from := 1 + rng.IntN(n)
		num[from]++
		it := items[rng.IntN(len(items))]
		var body string
		switch rng.IntN(10) {
		case 0:
			body = CloseBody(it.Name)
		case 1:
			body = "hello"
		default:
			body = BidBody(it.Name, it.Start+Step*rng.IntN(8))
		}
		out = append(out, msg(num[from], from, body))
	}
	return out
}

func TestSameSequenceSameState(t *testing.T) {
	for seed := range uint64(50) {
		msgs := script(rand.New(rand.NewPCG(seed, 1)), 5, 60)
		a, b := New(Items(5)), New(Items(5))
		for _, m := range msgs {
			a.Apply(m)
		}
		for _, m := range msgs {
			b.Apply(m)
		}
		if a.String() != b.String() || a.Digest() != b.Digest() || a.Summary() != b.Summary() {
			t.Fatalf("seed %d: the same messages in the same order gave\n%s\nand\n%s", seed, a, b)
		}
		if a.Seen() == 0 {
			t.Fatalf("seed %d: the script applied no auction message", seed)
		}
	}
}

// The lab's point, in one example: the same three messages in two orders
// name different winners.
func TestOrderDecidesTheWinner(t *testing.T) {
	bid2 := msg(1, 2, "Bid 110 on Lamp")
	bid3 := msg(1, 3, "Bid 110 on Lamp")
	closeLamp := msg(1, 1, "Close Lamp")
	winner := func(order ...string) (*Replica, int) {
		r := New(Items(5))
		for _, m := range order {
			r.Apply(m)
		}
		s, _ := r.Item("Lamp")
		if !s.Closed {
			t.Fatalf("order %q: Lamp not closed", order)
		}
		return r, s.Winner
	}
	a, wa := winner(bid2, bid3, closeLamp)
	b, wb := winner(bid3, bid2, closeLamp)
	c, wc := winner(bid2, closeLamp, bid3)
	_, wd := winner(closeLamp, bid2, bid3)
	if wa != 2 || wb != 3 || wc != 2 || wd != 0 {
		t.Errorf("winners %d %d %d %d, want 2 (first of equal bids), 3, 2, 0 (closed before any bid)", wa, wb, wc, wd)
	}
	if a.Digest() == b.Digest() || a.String() == b.String() {
		t.Error("different winners, same digest")
	}
	// Same winner, different history: the states still differ (Bike's
	// refused bid comes before or after the close).
	if a.Digest() == c.Digest() {
		t.Error("a bid refused after the close and one refused as too low: same digest")
	}
	if got, want := a.Summary(), "auction: Lamp SOLD M2 110 · Bike 200 no bid · Clock 50 no bid · Vase 80 no bid · Radio 60 no bid (bids: 1 accepted, 1 refused)"; got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
	if got := strings.Join(b.Winners(), ", "); got != "M3 110, open, open, open, open" {
		t.Errorf("winners %s", got)
	}
}

func TestSummary(t *testing.T) {
	r := New(Items(5))
	for _, m := range []string{
		msg(1, 2, "Bid 130 on Lamp"),
		msg(1, 1, "Bid 60 on Clock"),
		msg(2, 1, "Bid 70 on Clock"),
		msg(1, 3, "Close Clock"),
		msg(1, 1, "Close Vase"),
		msg(1, 4, "Close Lamp"),
		msg(1, 5, "Bid 10 on Radio"),
	} {
		r.Apply(m)
	}
	want := "auction: Lamp 130 M2 · Bike 200 no bid · Clock SOLD M1 70 · Vase 80 no bid · Radio 60 no bid (bids: 3 accepted, 1 refused; 2 closes refused)"
	if got := r.Summary(); got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
	r.Apply(msg(2, 4, "Close Vase"))
	if got := strings.Join(r.Winners(), ", "); got != "open (M2 130), open, M1 70, unsold, open" {
		t.Errorf("winners %s", got)
	}
}
