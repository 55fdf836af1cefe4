package netsim

import (
	"bytes"
	"errors"
	"io"
	"slices"
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
