// Package testbuf is a buffer for tests that collect output written on one
// goroutine (a logger, a command's output, a child process) and read it
// on another.
package testbuf

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers, that a
// test can wait on for some text. The zero value is empty and ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // a write happened since the last wait looked
}

// Write appends p; it never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.signal() <- struct{}{}:
	default:
	}
	return b.b.Write(p)
}

// signal is the change channel, made on first use; it needs mu.
func (b *Buffer) signal() chan struct{} {
	if b.changed == nil {
		b.changed = make(chan struct{}, 1)
	}
	return b.changed
}

// WaitFor returns everything written once it contains substr, and fails
// the test if that takes longer than limit.
func (b *Buffer) WaitFor(t testing.TB, substr string, limit time.Duration) string {
	t.Helper()
	return b.wait(t, limit, "no "+strconv.Quote(substr), func(s string) (string, bool) { return s, strings.Contains(s, substr) })
}

// WaitLine returns the first whole line (ended by a newline) that
// contains substr, once there is one, and fails the test if that takes
// longer than limit.
func (b *Buffer) WaitLine(t testing.TB, substr string, limit time.Duration) string {
	t.Helper()
	return b.wait(t, limit, "no line with "+strconv.Quote(substr), func(s string) (string, bool) {
		lines := strings.Split(s, "\n")
		for _, line := range lines[:len(lines)-1] { // the last is not ended yet
			if strings.Contains(line, substr) {
				return line, true
			}
		}
		return "", false
	})
}

func (b *Buffer) wait(t testing.TB, limit time.Duration, what string, found func(string) (string, bool)) string {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	b.mu.Lock()
	changed := b.signal()
	b.mu.Unlock()
	for {
		if v, ok := found(b.String()); ok {
			return v
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s in:\n%s", what, b.String())
		}
	}
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Reset empties the buffer.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}
