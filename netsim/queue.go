package netsim

import "time"

// message is one accepted message, shared by all its copies.
type message struct {
	id    uint64
	frame []byte // content, terminator and any tail the sender wrote after it, ready to write
	n     int    // length of the content
}

// text is the message content without its terminator, for logs.
func (m *message) text() []byte { return m.frame[:m.n] }

// copyItem is one copy of a message on its way to one destination. It is
// a value type so queues hold no per-copy allocation.
type copyItem struct {
	msg   *message
	due   int64         // nanoseconds since the server started
	delay time.Duration // the random delay drawn for it, for logs
}

// delayHeap is a min-heap of copies by due time. Hand-written rather than
// container/heap so pushes and pops do not box values in interfaces.
type delayHeap []copyItem

func (h *delayHeap) push(c copyItem) {
	*h = append(*h, c)
	s := *h
	i := len(s) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if s[parent].due <= s[i].due {
			break
		}
		s[parent], s[i] = s[i], s[parent]
		i = parent
	}
}

// pop removes and returns the earliest copy; the heap must not be empty.
func (h *delayHeap) pop() copyItem {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = copyItem{} // let the message be collected
	s = s[:last]
	i := 0
	for {
		left := 2*i + 1
		if left >= len(s) {
			break
		}
		least := left
		if right := left + 1; right < len(s) && s[right].due < s[left].due {
			least = right
		}
		if s[i].due <= s[least].due {
			break
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
	*h = s
	return top
}

func (h delayHeap) peekDue() int64 { return h[0].due }
