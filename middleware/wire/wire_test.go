package wire

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r io.Reader, max int) (msgs []string, tooLarge int) {
	t.Helper()
	mr := NewReader(r, max)
	for {
		m, err := mr.Next()
		switch {
		case err == nil:
			msgs = append(msgs, string(m))
		case errors.Is(err, ErrTooLarge):
			tooLarge++
		case err == io.EOF:
			return msgs, tooLarge
		default:
			t.Fatalf("Next: %v", err)
		}
	}
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     []string
		tooLarge int
	}{
		{name: "one", in: "Msg #1 from Middleware 1<EOM>", want: []string{"Msg #1 from Middleware 1"}},
		{name: "many", in: "a<EOM>b<EOM>c<EOM>", want: []string{"a", "b", "c"}},
		{name: "unterminated tail", in: "a<EOM>tail", want: []string{"a", "tail"}},
		{name: "only tail", in: "tail", want: []string{"tail"}},
		{name: "empty", in: "", want: nil},
		{name: "empty message", in: "<EOM>", want: []string{""}},
		{name: "angle brackets inside", in: "a>b<c<EO<EOM>", want: []string{"a>b<c<EO"}},
		{name: "utf8", in: "héllo ✓<EOM>", want: []string{"héllo ✓"}},
		{name: "oversized then normal", in: strings.Repeat("x", 100) + "<EOM>ok<EOM>", max: 10, want: []string{"ok"}, tooLarge: 1},
		{name: "oversized unterminated", in: "ok<EOM>" + strings.Repeat("x", 100), max: 10, want: []string{"ok"}, tooLarge: 1},
		{name: "exactly at limit", in: "0123456789<EOM>", max: 10, want: []string{"0123456789"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, split := range []string{"whole", "one byte at a time"} {
				var r io.Reader = strings.NewReader(tc.in)
				if split != "whole" {
					r = iotest.OneByteReader(r)
				}
				got, tl := readAll(t, r, tc.max)
				if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) || tl != tc.tooLarge {
					t.Errorf("%s: got %q (too large %d), want %q (too large %d)", split, got, tl, tc.want, tc.tooLarge)
				}
			}
		})
	}
}

func TestLargeStreamWithSmallLimitKeepsLimitMemory(t *testing.T) {
	// 10 MB without a terminator must be dropped, not buffered.
	in := io.MultiReader(strings.NewReader(strings.Repeat("y", 10<<20)), strings.NewReader("<EOM>after<EOM>"))
	got, tl := readAll(t, in, 1024)
	if tl != 1 || len(got) != 1 || got[0] != "after" {
		t.Fatalf("got %q, %d too large", got, tl)
	}
}

func FuzzReaderRoundTrip(f *testing.F) {
	f.Add("a", "b", uint8(1))
	f.Add("Msg #1 from Middleware 2", "", uint8(3))
	f.Add("<EO", "M>", uint8(7))
	f.Fuzz(func(t *testing.T, a, b string, chunk uint8) {
		if strings.Contains(a, EOM) || strings.Contains(b, EOM) || strings.HasSuffix(a, "<EOM") {
			return
		}
		stream := string(Frame([]byte(a))) + string(Frame([]byte(b)))
		r := iotest.HalfReader(strings.NewReader(stream))
		if chunk%2 == 0 {
			r = iotest.OneByteReader(strings.NewReader(stream))
		}
		got, tl := readAll(t, r, 1<<20)
		if tl != 0 || len(got) != 2 || got[0] != a || got[1] != b {
			t.Fatalf("stream %q: got %q", stream, got)
		}
	})
}

// TestTerminatedAndBuffered pins what callers use to tell a tail written
// after <EOM> (the lab's skeleton writes "...<EOM>\n") from a message.
func TestTerminatedAndBuffered(t *testing.T) {
	type step struct {
		msg        string
		terminated bool
		buffered   int
	}
	for _, tc := range []struct {
		name, in string
		want     []step
	}{
		{"skeleton newline", "Msg #1 from Middleware 1<EOM>\n", []step{{"Msg #1 from Middleware 1", true, 1}, {"\n", false, 0}}},
		{"student field", "m<EOM>\n,N17", []step{{"m", true, 5}, {"\n,N17", false, 0}}},
		{"no tail", "m<EOM>", []step{{"m", true, 0}}},
		{"two messages", "a<EOM>b<EOM>", []step{{"a", true, 6}, {"b", true, 0}}},
		{"only unterminated", "x", []step{{"x", false, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), 0)
			for i, w := range tc.want {
				m, err := r.Next()
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if string(m) != w.msg || r.Terminated() != w.terminated || r.Buffered() != w.buffered {
					t.Errorf("step %d: got %q terminated=%v buffered=%d, want %q %v %d",
						i, m, r.Terminated(), r.Buffered(), w.msg, w.terminated, w.buffered)
				}
			}
			if _, err := r.Next(); err != io.EOF || r.Terminated() {
				t.Errorf("after the last message: err %v terminated %v, want io.EOF false", err, r.Terminated())
			}
		})
	}
}
