package netsim

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"totalorder/middleware/wire"
)

// chunkReader hands out data in pieces whose sizes come from cuts, so a
// stream is split at arbitrary points (terminators included).
type chunkReader struct {
	data    []byte
	cuts    []byte
	i       int
	eofLast bool // return io.EOF together with the last piece
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.cuts) > 0 {
		n = int(c.cuts[c.i%len(c.cuts)]%64) + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	if c.eofLast && len(c.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// framed is one outcome of reading: a message or a refused oversized one.
type framed struct {
	msg      string
	tooLarge bool
}

// referenceFrames is the framing contract stated plainly: split on the
// terminator, a non-empty unterminated tail is one more message, and a
// message longer than limit is refused.
func referenceFrames(data []byte, limit int) []framed {
	var out []framed
	parts := bytes.Split(data, []byte(wire.EOM))
	for i, p := range parts {
		if i == len(parts)-1 && len(p) == 0 {
			break
		}
		if len(p) > limit {
			out = append(out, framed{tooLarge: true})
		} else {
			out = append(out, framed{msg: string(p)})
		}
	}
	return out
}

// FuzzRelayFraming drives the relay's framing (wire.Reader plus netsim's
// size check) through a stream split at fuzzer-chosen points and compares
// it with referenceFrames.
func FuzzRelayFraming(f *testing.F) {
	f.Add([]byte("one<EOM>"), []byte{}, uint8(63))
	f.Add([]byte("one<EOM>two<EOM>three"), []byte{0}, uint8(63))
	f.Add([]byte("a<EOM><EOM>b<E"), []byte{1, 2}, uint8(10))
	f.Add([]byte("<<EOM<EOM>>EOM>"), []byte{0, 3}, uint8(5))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxx<EOM>ok<EOM>"), []byte{}, uint8(9))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxx<EOM>ok<EOM>"), []byte{2, 0x85}, uint8(9))
	f.Add([]byte("0123456789<EOM>0123456789a<EOM>tail"), []byte{4}, uint8(9))
	f.Add([]byte("123456<EO"), []byte{0x80}, uint8(4))
	f.Fuzz(func(t *testing.T, data, cuts []byte, limitByte uint8) {
		limit := int(limitByte%64) + 1
		in := &chunkReader{data: data, cuts: cuts, eofLast: len(cuts) > 0 && cuts[0]&0x80 != 0}
		r := wire.NewReader(in, limit)
		var got []framed
		for range len(data) + 2 { // every call consumes input or ends
			msg, err := r.Next()
			if errors.Is(err, wire.ErrTooLarge) {
				got = append(got, framed{tooLarge: true})
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			got = append(got, framed{msg: string(msg)})
		}
		if want := referenceFrames(data, limit); !slices.Equal(got, want) {
			t.Fatalf("limit %d cuts %v\n got %+v\nwant %+v", limit, cuts, got, want)
		}
	})
}

// recordingReader remembers the pieces its reader returned, so that a
// model can replay the same reads.
type recordingReader struct {
	r      io.Reader
	pieces []string
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if n > 0 {
		rr.pieces = append(rr.pieces, string(p[:n]))
	}
	return n, err
}

// originalModel is Network.cs's readMsg as plainly as it reads, over the
// same reads: data accumulates until it holds <EOM>, and the whole of it
// is the message. Where the original stops, the model goes on as ours
// does: the next message starts after the last <EOM> of the one before.
// The size limit is ours.
func originalModel(reads []string, limit int) []framed {
	var out []framed
	data, over := "", false
	for _, r := range reads {
		data += r
		if !strings.Contains(data, wire.EOM) {
			over = over || len(data)-len(wire.EOM) > limit
			continue
		}
		if over || len(data)-len(wire.EOM) > limit {
			out = append(out, framed{tooLarge: true})
		} else {
			out = append(out, framed{msg: data})
		}
		data, over = data[strings.LastIndex(data, wire.EOM)+len(wire.EOM):], false
	}
	if over {
		out = append(out, framed{tooLarge: true})
	}
	return out
}

// terminatedFrames splits s at every <EOM> and drops the rest after the
// last one: what our middleware takes from a copy.
func terminatedFrames(s string) []string {
	parts := strings.Split(s, wire.EOM)
	return parts[:len(parts)-1]
}

// FuzzOriginalFraming reads a stream cut at fuzzer-chosen points with
// originalFramer and checks it against originalModel, and that a receiver
// splitting every message at <EOM> gets each message of the stream once.
func FuzzOriginalFraming(f *testing.F) {
	f.Add([]byte("one<EOM>"), []byte{}, uint8(63))
	f.Add([]byte("one<EOM>two<EOM>three"), []byte{0}, uint8(63))
	f.Add([]byte("a<EOM><EOM>b<E"), []byte{1, 2}, uint8(10))
	f.Add([]byte("<<EOM<EOM>>EOM>"), []byte{0, 3}, uint8(5))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxx<EOM>ok<EOM>"), []byte{}, uint8(9))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxx<EOM>ok<EOM>"), []byte{2, 0x85}, uint8(9))
	f.Add([]byte("0123456789<EOM>0123456789a<EOM>tail"), []byte{4}, uint8(9))
	f.Add([]byte("A<EOM>B<EOM>C<EOM>"), []byte{3, 4}, uint8(63))
	f.Fuzz(func(t *testing.T, data, cuts []byte, limitByte uint8) {
		for _, limit := range []int{int(limitByte%64) + 1, len(data) + 1} {
			rec := &recordingReader{r: &chunkReader{data: slices.Clone(data), cuts: cuts, eofLast: len(cuts) > 0 && cuts[0]&0x80 != 0}}
			fr := newOriginalFramer(rec, limit)
			var got []framed
			var split []string
			for range len(data) + 2 { // every call consumes input or ends
				msg, n, err := fr.Next()
				if errors.Is(err, wire.ErrTooLarge) {
					got = append(got, framed{tooLarge: true})
					continue
				}
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if i := bytes.Index(msg, []byte(wire.EOM)); i != n {
					t.Fatalf("content length %d, first <EOM> at %d in %q", n, i, msg)
				}
				got = append(got, framed{msg: string(msg)})
				split = append(split, terminatedFrames(string(msg))...)
			}
			if want := originalModel(rec.pieces, limit); !slices.Equal(got, want) {
				t.Fatalf("limit %d reads %q\n got %+v\nwant %+v", limit, rec.pieces, got, want)
			}
			if limit > len(data) {
				if want := terminatedFrames(string(data)); !slices.Equal(split, want) {
					t.Fatalf("reads %q: a splitting receiver got %q, want %q", rec.pieces, split, want)
				}
			}
		}
	})
}
