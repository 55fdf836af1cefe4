package netsim

import (
	"bytes"
	"io"

	"totalorder/middleware/wire"
)

// How the original program (the lab's Network.cs) reads a sender, in its
// MessageHandler.readMsg:
//
//	while (true) {
//	    bytes = new byte[1024];
//	    int bytesRec = await readStream.ReadAsync(bytes, 0, 1024);
//	    data += Encoding.ASCII.GetString(bytes, 0, bytesRec);
//	    if (data.IndexOf("<EOM>") > -1) break;
//	}
//
// and sendMsg writes Encoding.ASCII.GetBytes(data) to every middleware.
// So one message is everything read up to and including the read in which
// the text first holds "<EOM>": several "<EOM>"s in that read, and bytes
// after the last one (the lab's skeleton writes "...<EOM>\n"), go with it
// at once; bytes that are not ASCII become '?'; a connection that ends
// without "<EOM>" forwards nothing (the original then spins on the
// zero-byte reads). After its message the original reads that connection
// no more.
//
// originalFramer does the same, with 1024-byte reads. Where the original
// stops reading, it goes on, because senders of ours may write many
// messages on one connection: the next message starts with the bytes
// after the last "<EOM>" of the one before (already forwarded with it as
// its tail), so a message that a read boundary cut in two still arrives
// whole, and a connection that ends with no further "<EOM>" forwards
// nothing more. Its size limit is ours: the original has none.

// originalReadSize is the original's read size (new byte[1024]).
const originalReadSize = 1024

// originalFramer splits a sender connection into messages as the
// original program does (above).
type originalFramer struct {
	r       io.Reader
	max     int    // size limit of one message, terminator and tail excluded
	buf     []byte // carried tail, then what was read since
	carry   int    // length of the carried tail at the start of buf
	next    int    // where the carry for the next message starts (after a message)
	drop    bool   // over the limit with no terminator yet: reading to the next one
	dropped int64  // bytes dropped so far in drop mode
	err     error  // the read error that ends the connection, once seen
}

func newOriginalFramer(r io.Reader, max int) *originalFramer {
	if max <= 0 {
		max = wire.DefaultMaxMessage
	}
	return &originalFramer{r: r, max: max, buf: make([]byte, 0, 2*originalReadSize)}
}

// Next returns the next message as the original forwards it, valid until
// the next call, and the offset of its first terminator (the length of
// its content). A message over the limit gives a *wire.TooLargeError, after
// which Next may be called again; the end of the connection gives its read
// error (io.EOF for a clean end), after which Pending tells how many bytes
// read were never forwarded.
func (f *originalFramer) Next() (msg []byte, content int, err error) {
	if f.next > 0 {
		// The previous message went: keep its tail as this one's start.
		n := copy(f.buf, f.buf[f.next:])
		f.buf, f.carry, f.next = f.buf[:n], n, 0
	}
	for {
		if f.err != nil {
			if f.drop {
				dropped := f.dropped + int64(len(f.buf))
				f.buf, f.carry, f.drop, f.dropped = f.buf[:0], 0, false, 0
				return nil, 0, &wire.TooLargeError{Limit: f.max, Dropped: dropped}
			}
			return nil, 0, f.err
		}
		old := len(f.buf)
		if cap(f.buf)-old < originalReadSize {
			f.buf = append(f.buf, make([]byte, originalReadSize)...)[:old]
		}
		n, err := f.r.Read(f.buf[old : old+originalReadSize])
		f.buf = f.buf[:old+n]
		if err != nil {
			f.err = err
		}
		if n == 0 {
			continue
		}
		from := max(old-(len(eomBytes)-1), 0) // a terminator may straddle reads
		i := bytes.Index(f.buf[from:], eomBytes)
		if i < 0 {
			if f.drop || len(f.buf)-len(eomBytes) > f.max {
				// Over the limit with no end in sight: keep only what
				// could begin a terminator.
				keep := len(eomBytes) - 1
				f.dropped += int64(len(f.buf) - keep)
				f.buf = append(f.buf[:0], f.buf[len(f.buf)-keep:]...)
				f.carry, f.drop = 0, true
			}
			continue
		}
		first := from + i
		f.next = from + bytes.LastIndex(f.buf[from:], eomBytes) + len(eomBytes)
		if f.drop || len(f.buf)-len(eomBytes) > f.max {
			dropped := f.dropped + int64(len(f.buf))
			f.drop, f.dropped = false, 0
			return nil, 0, &wire.TooLargeError{Limit: f.max, Dropped: dropped}
		}
		return f.buf, first, nil
	}
}

// Pending is the number of bytes read since the last message that were
// not part of it (what a connection ending without "<EOM>" left behind).
func (f *originalFramer) Pending() int {
	if f.drop {
		return 0 // counted as too large instead
	}
	return len(f.buf) - f.carry
}

// appendASCII appends src to dst as the original forwards text: decoded
// and encoded again as ASCII (Encoding.ASCII), so every byte above 0x7F
// becomes '?', one for each byte.
func appendASCII(dst, src []byte) []byte {
	start := len(dst)
	dst = append(dst, src...)
	for i, c := range dst[start:] {
		if c >= 0x80 {
			dst[start+i] = '?'
		}
	}
	return dst
}
