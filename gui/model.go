package gui

import (
	"sync"

	"totalorder/middleware"
)

// eventBuffer holds events between the middleware's goroutine, which adds
// them, and the UI thread, which takes them all at each refresh. It is the
// only window state the two share.
type eventBuffer struct {
	mu      sync.Mutex
	pending []middleware.Event
	closed  bool
}

// add copies batch into the buffer (the caller may reuse its slice) and
// reports whether the buffer was empty, i.e. whether a refresh must be
// requested: a non-empty buffer already has one on the way.
func (b *eventBuffer) add(batch []middleware.Event) (wasEmpty bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(batch) == 0 {
		return false
	}
	wasEmpty = len(b.pending) == 0
	b.pending = append(b.pending, batch...)
	return wasEmpty
}

// take hands over everything buffered and keeps spare (emptied) for the
// next events, so that steady traffic allocates nothing.
func (b *eventBuffer) take(spare []middleware.Event) []middleware.Event {
	clear(spare) // drop the strings of the previous round
	b.mu.Lock()
	defer b.mu.Unlock()
	taken := b.pending
	b.pending = spare[:0]
	return taken
}

// close makes later adds no-ops, so a subscription that fires after the
// window closed cannot grow memory nobody reads.
func (b *eventBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.pending = nil
}

// listEntry is one row of a list.
type listEntry struct {
	msg string
	seq uint64 // agreed sequence number; Ready only
	// how the content came (Received only): from the network, recovered
	// from the order, or foreign (never delivered).
	origin origin
}

// origin is how a Received entry's content came.
type origin uint8

const (
	fromNetwork origin = iota
	recovered          // the network copy was lost: delivered from the order
	foreign            // not a lab message: no middleware of this lab announced it
)

// originOf is how ev's content came.
func originOf(ev *middleware.Event) origin {
	switch {
	case ev.Foreign:
		return foreign
	case ev.Recovered:
		return recovered
	}
	return fromNetwork
}

// listModel is the content of one list, owned by the UI thread. index maps
// a message to its first row, so that selecting a message in one list finds
// it in the others in O(1).
type listModel struct {
	entries []listEntry
	index   map[string]int
}

func (m *listModel) add(e listEntry) {
	if m.index == nil {
		m.index = make(map[string]int)
	}
	if _, dup := m.index[e.msg]; !dup {
		m.index[e.msg] = len(m.entries)
	}
	m.entries = append(m.entries, e)
}

func (m *listModel) find(msg string) (row int, ok bool) {
	row, ok = m.index[msg]
	return row, ok
}

func (m *listModel) len() int { return len(m.entries) }
