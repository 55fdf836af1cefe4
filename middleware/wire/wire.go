// Package wire is the data-path framing shared by the network program and
// the middleware: UTF-8 text messages, each ending with the five
// characters "<EOM>".
//
// A reader accepts one message per connection or many, terminators split
// across reads, and an unterminated message at connection close (returned
// as one last message). A message longer than the size limit is dropped
// up to its terminator and reported as ErrTooLarge; reading goes on after it.
//
// The lab's original network program reads a connection until the text
// holds "<EOM>" and forwards the whole buffer as read, so bytes a sender
// writes after "<EOM>" (the lab's skeleton writes "...<EOM>\n", some
// students "...<EOM>\n,N1<seq>") travel with that message. Callers tell
// such a tail from a message with Terminated and Buffered: unterminated
// bytes at the end of a connection that already carried a message are the
// tail of that message, never a message of their own.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// EOM terminates every message on the data path.
const EOM = "<EOM>"

// DefaultMaxMessage is the size limit applied when none is given.
const DefaultMaxMessage = 64 << 10

var eom = []byte(EOM)

// ErrTooLarge reports a message that exceeded the reader's limit; it was
// dropped and the reader can go on.
var ErrTooLarge = errors.New("message exceeds size limit")

// TooLargeError says how many bytes were dropped.
type TooLargeError struct {
	Limit   int
	Dropped int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("message of %d+ bytes exceeds the %d-byte limit: dropped", e.Dropped, e.Limit)
}

func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Frame returns msg followed by the terminator.
func Frame(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(eom))
	return append(append(out, msg...), eom...)
}

// AppendFrame appends msg and the terminator to dst.
func AppendFrame(dst, msg []byte) []byte {
	return append(append(dst, msg...), eom...)
}

// Reader splits a byte stream into messages.
type Reader struct {
	r          *bufio.Reader
	max        int
	buf        []byte
	done       bool
	terminated bool // the message last returned ended with EOM
}

// NewReader reads messages of at most max bytes (DefaultMaxMessage if max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	return &Reader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next returns the next message without its terminator. The slice is valid
// until the next call. It returns a *TooLargeError (errors.Is ErrTooLarge)
// for a dropped oversized message, after which Next may be called again,
// and io.EOF after the last message. An unterminated, non-empty tail at end
// of stream is returned as a message before io.EOF.
func (m *Reader) Next() ([]byte, error) {
	m.terminated = false
	if m.done {
		return nil, io.EOF
	}
	m.buf = m.buf[:0]
	var dropped int64 // >0 once the current message went over the limit
	for {
		// Look for the terminator in what the bufio reader already holds
		// without copying byte by byte.
		chunk, err := m.r.ReadSlice('>')
		if dropped > 0 {
			dropped += int64(len(chunk))
			// Keep only the last few bytes to find a terminator that
			// straddles chunks.
			keep := m.buf
			keep = append(keep, chunk...)
			if len(keep) > len(eom) {
				keep = keep[len(keep)-len(eom):]
			}
			m.buf = append(m.buf[:0], keep...)
		} else {
			m.buf = append(m.buf, chunk...)
		}
		if bytes.HasSuffix(m.buf, eom) {
			if dropped == 0 && len(m.buf)-len(eom) > m.max {
				dropped = int64(len(m.buf))
			}
			if dropped > 0 {
				m.buf = m.buf[:0]
				return nil, &TooLargeError{Limit: m.max, Dropped: dropped - int64(len(eom))}
			}
			m.terminated = true
			return m.buf[:len(m.buf)-len(eom)], nil
		}
		if dropped == 0 && len(m.buf) > m.max+len(eom) {
			dropped = int64(len(m.buf))
			m.buf = append(m.buf[:0], m.buf[len(m.buf)-len(eom):]...)
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			m.done = true
			if !errors.Is(err, io.EOF) {
				return nil, err // a broken connection: its error matters more than the tail
			}
			if dropped == 0 && len(m.buf) > m.max {
				dropped = int64(len(m.buf))
			}
			if dropped > 0 {
				m.buf = m.buf[:0]
				return nil, &TooLargeError{Limit: m.max, Dropped: dropped}
			}
			if len(m.buf) > 0 {
				return m.buf, nil
			}
			return nil, io.EOF
		}
	}
}

// Terminated reports whether the message Next returned last ended with the
// terminator; it is false for the unterminated rest of a stream returned
// before io.EOF (and after an error).
func (m *Reader) Terminated() bool { return m.terminated }

// Buffered is the number of bytes read from the stream that Next has not
// returned yet: after a message, whatever the same reads brought after its
// terminator.
func (m *Reader) Buffered() int { return m.r.Buffered() }
