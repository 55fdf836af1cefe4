package netsim

import (
	"errors"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"

	"totalorder/middleware/wire"
)

// scriptedReader returns its pieces one read each (a piece longer than
// the caller's buffer over several), then err.
type scriptedReader struct {
	pieces []string
	err    error
}

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.pieces) == 0 {
		return 0, r.err
	}
	n := copy(p, r.pieces[0])
	if r.pieces[0] = r.pieces[0][n:]; r.pieces[0] == "" {
		r.pieces = r.pieces[1:]
	}
	return n, nil
}

// TestOriginalFramerReads pins down the framing read by read: a message
// is what was read when the text first held <EOM> (Network.cs's readMsg),
// the next one starts after the last <EOM> of the one before, and bytes
// with no <EOM> after them are never a message.
func TestOriginalFramerReads(t *testing.T) {
	type out struct {
		msg      string
		content  int
		tooLarge int64 // bytes dropped, for a message over the limit
	}
	long := strings.Repeat("a", 600) + "<EOM>" + strings.Repeat("b", 900) + "<EOM>"
	for _, tc := range []struct {
		name    string
		reads   []string
		limit   int
		err     error // ending the reads; io.EOF if nil
		want    []out
		pending int
	}{
		{name: "one message", reads: []string{"A<EOM>"}, want: []out{{msg: "A<EOM>", content: 1}}},
		{name: "the read's tail goes with it", reads: []string{"A<EOM>x"}, want: []out{{msg: "A<EOM>x", content: 1}}},
		{name: "so do further <EOM>s", reads: []string{"A<EOM>B<EOM>"}, want: []out{{msg: "A<EOM>B<EOM>", content: 1}}},
		{name: "<EOM> across reads", reads: []string{"A<E", "OM>"}, want: []out{{msg: "A<EOM>", content: 1}}},
		{name: "a later read waits for its own <EOM>", reads: []string{"A<EOM>x", "y"},
			want: []out{{msg: "A<EOM>x", content: 1}}, pending: 1},
		{name: "the next message starts after the last <EOM>", reads: []string{"A<EOM>B<E", "OM>C"},
			want: []out{{msg: "A<EOM>B<E", content: 1}, {msg: "B<EOM>C", content: 1}}},
		{name: "an <EOM> across the carry", reads: []string{"A<EOM>B<EO", "M>"},
			want: []out{{msg: "A<EOM>B<EO", content: 1}, {msg: "B<EOM>", content: 1}}},
		{name: "an empty message", reads: []string{"A<EOM>", "<EOM>"},
			want: []out{{msg: "A<EOM>", content: 1}, {msg: "<EOM>", content: 0}}},
		{name: "no <EOM> at all", reads: []string{"abc", "def"}, pending: 6},
		{name: "1024-byte reads", reads: []string{long},
			want: []out{{msg: long[:1024], content: 600}, {msg: strings.Repeat("b", 900) + "<EOM>", content: 900}}},
		{name: "at the limit", reads: []string{"12345678<EOM>"}, limit: 8, want: []out{{msg: "12345678<EOM>", content: 8}}},
		{name: "over the limit", reads: []string{"123456789<EOM>", "ok<EOM>"}, limit: 8,
			want: []out{{tooLarge: 14}, {msg: "ok<EOM>", content: 2}}},
		{name: "a tail counts", reads: []string{"1234<EOM>56789"}, limit: 8, want: []out{{tooLarge: 14}}},
		{name: "over the limit before its <EOM>", reads: []string{"12345678901234", "x<EOM>ok", "<EOM>"}, limit: 8,
			want: []out{{tooLarge: 22}, {msg: "ok<EOM>", content: 2}}},
		{name: "over the limit, never ended", reads: []string{"12345678901234", "5678"}, limit: 8,
			want: []out{{tooLarge: 18}}},
		{name: "a broken connection", reads: []string{"A<EOM>", "half"}, err: syscall.ECONNRESET,
			want: []out{{msg: "A<EOM>", content: 1}}, pending: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			end := tc.err
			if end == nil {
				end = io.EOF
			}
			f := newOriginalFramer(&scriptedReader{pieces: slices.Clone(tc.reads), err: end}, tc.limit)
			var got []out
			for {
				msg, n, err := f.Next()
				var tooLarge *wire.TooLargeError
				if errors.As(err, &tooLarge) {
					got = append(got, out{tooLarge: tooLarge.Dropped})
					continue
				}
				if err != nil {
					if !errors.Is(err, end) {
						t.Fatalf("error %v, want %v", err, end)
					}
					break
				}
				got = append(got, out{msg: string(msg), content: n})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if p := f.Pending(); p != tc.pending {
				t.Errorf("pending %d, want %d", p, tc.pending)
			}
		})
	}
}

func TestAppendASCII(t *testing.T) {
	// Encoding.ASCII.GetString then GetBytes: one '?' per byte above 0x7F.
	in := "caf\xc3\xa9 \xff\x80\x00\x7f<EOM>"
	if got, want := string(appendASCII([]byte("x"), []byte(in))), "xcaf?? ??\x00\x7f<EOM>"; got != want {
		t.Errorf("appendASCII = %q, want %q", got, want)
	}
}
