package testbuf

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// Writers and a reader at once (run with -race): every write lands whole.
func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	const writers, lines = 4, 200
	for range writers {
		wg.Go(func() {
			for range lines {
				b.Write([]byte("line\n"))
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if s := b.String(); len(s)%len("line\n") != 0 {
				t.Errorf("read %d bytes: a write was split", len(s))
				return
			}
		}
	}()
	wg.Wait()
	<-done
	if got := strings.Count(b.String(), "line\n"); got != writers*lines {
		t.Errorf("%d lines, want %d", got, writers*lines)
	}
	b.Reset()
	if b.String() != "" {
		t.Errorf("after Reset: %q", b.String())
	}
}

// A test waits for output another goroutine writes, whole or a line of it.
func TestBufferWait(t *testing.T) {
	var b Buffer
	go func() {
		b.Write([]byte("starting\nlistening on "))
		b.Write([]byte("127.0.0.1:8081\nready\n"))
	}()
	if got := b.WaitLine(t, "listening", 10*time.Second); got != "listening on 127.0.0.1:8081" {
		t.Errorf("line %q", got)
	}
	if got := b.WaitFor(t, "ready\n", 10*time.Second); !strings.HasSuffix(got, "127.0.0.1:8081\nready\n") {
		t.Errorf("text %q", got)
	}
}
