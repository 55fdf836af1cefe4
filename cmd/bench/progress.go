package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress shows which step runs, for how long, and what it is doing: on
// a terminal one line redrawn in place, otherwise a line per step.
type progress struct {
	w     io.Writer
	tty   bool
	total int

	mu     sync.Mutex
	step   int
	name   string
	start  time.Time
	status string
	stop   chan struct{} // closes the redraw loop of the current step
	done   chan struct{} // closed when that loop has ended
}

func newProgress(w *os.File, total int) *progress {
	tty := false
	if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		tty = true
	}
	return &progress{w: w, tty: tty, total: total}
}

// begin starts step k of total; end must follow.
func (p *progress) begin(k int, name string) {
	p.mu.Lock()
	p.step, p.name, p.start, p.status = k, name, time.Now(), ""
	p.mu.Unlock()
	if !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s…\n", k, p.total, name)
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() { // owner: this step; end stops it
		defer close(p.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			p.draw()
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// detail sets what the current step is doing.
func (p *progress) detail(s string) {
	p.mu.Lock()
	p.status = s
	p.mu.Unlock()
}

func (p *progress) line() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := fmt.Sprintf("[%d/%d] %s: %.1f s", p.step, p.total, p.name, time.Since(p.start).Seconds())
	if p.status != "" {
		s += " · " + p.status
	}
	return s
}

func (p *progress) draw() { fmt.Fprintf(p.w, "\r%s\x1b[K", p.line()) }

// end finishes the current step with a one-line result.
func (p *progress) end(result string) {
	if p.tty {
		close(p.stop)
		<-p.done
	}
	p.mu.Lock()
	elapsed := time.Since(p.start).Seconds()
	step, name := p.step, p.name
	p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "[%d/%d] %s (%.1f s): %s\n", step, p.total, name, elapsed, result)
}
