package main

import (
	"strings"
	"testing"

	"totalorder/middleware/check"
	"totalorder/middleware/core"
)

// incarnations makes middlewares 1..len(readys) whose Ready lists are
// readys.
func incarnations(readys ...[]string) []check.Incarnation {
	var incs []check.Incarnation
	for i, ready := range readys {
		inc := check.Incarnation{MW: i + 1}
		for k, m := range ready {
			inc.Entries = append(inc.Entries, check.Entry{Kind: check.Received, Msg: m})
			inc.Entries = append(inc.Entries, check.Entry{Kind: check.Ready, Msg: m, Seq: uint64(k + 1)})
		}
		incs = append(incs, inc)
	}
	return incs
}

func TestPrintWinners(t *testing.T) {
	const (
		bid2      = "Msg #1 from Middleware 2: Bid 110 on Lamp"
		bid3      = "Msg #1 from Middleware 3: Bid 110 on Lamp"
		closeLamp = "Msg #1 from Middleware 1: Close Lamp"
	)
	same := incarnations([]string{bid2, bid3, closeLamp}, []string{bid2, bid3, closeLamp}, []string{bid2, bid3, closeLamp})
	var out strings.Builder
	if err := printWinners(&out, same, 3, core.Raft); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Middleware 3  M2 110") || !strings.Contains(out.String(), "all 3 replicas agree") {
		t.Errorf("agreeing replicas printed:\n%s", out.String())
	}

	differ := incarnations([]string{bid2, bid3, closeLamp}, []string{bid3, bid2, closeLamp}, []string{closeLamp, bid2, bid3})
	out.Reset()
	if err := printWinners(&out, differ, 3, core.None); err != nil {
		t.Fatalf("none: %v", err)
	}
	for _, want := range []string{"Middleware 1  M2 110", "Middleware 2  M3 110", "Middleware 3  unsold", "DISAGREE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("disagreeing replicas: no %q in\n%s", want, out.String())
		}
	}
	if err := printWinners(&out, differ, 3, core.Raft); err == nil {
		t.Error("replicas disagreeing under raft: no error")
	}
}

func TestShort(t *testing.T) {
	for _, tt := range []struct{ msg, want string }{
		{"Msg #3 from Middleware 2", "#3 of M2"},
		{"Msg #4 from Middleware 3: Bid 130 on Lamp", "M3 130 Lamp"},
		{"Msg #9 from Middleware 1: Close Lamp", "M1 close Lamp"},
		{"Msg #9 from Middleware 1: hello", "#9 of M1: hello"},
		{"garbage", "garbage"},
	} {
		if got := short(tt.msg); got != tt.want {
			t.Errorf("short(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
