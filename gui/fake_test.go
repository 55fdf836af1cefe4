package gui

import (
	"sync"
	"time"

	"totalorder/middleware"
	"totalorder/middleware/core"
)

// fakeMiddleware records what the window asks of it and lets tests emit
// events as the middleware's goroutine would.
type fakeMiddleware struct {
	mu        sync.Mutex
	sends     []int
	texts     []string // every SendText body
	status    middleware.Status
	emit      func([]middleware.Event)
	cancelled bool
	isolated  []time.Duration // every Isolate call
	sent      chan int        // gets every Send, if not full; never blocks the caller
}

func (f *fakeMiddleware) Isolate(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isolated = append(f.isolated, d)
}

func (f *fakeMiddleware) Isolations() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.isolated...)
}

func newFakeMiddleware() *fakeMiddleware {
	return &fakeMiddleware{sent: make(chan int, 64)}
}

func (f *fakeMiddleware) Send(count int) {
	f.mu.Lock()
	f.sends = append(f.sends, count)
	f.mu.Unlock()
	select {
	case f.sent <- count:
	default:
	}
}

// SendText records body; it refuses what the middleware would.
func (f *fakeMiddleware) SendText(body string) error {
	if err := core.CheckBody(body); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.texts = append(f.texts, body)
	return nil
}

func (f *fakeMiddleware) Texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.texts...)
}

func (f *fakeMiddleware) Status() middleware.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeMiddleware) Subscribe(fn func([]middleware.Event)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.emit = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.cancelled = true
		f.emit = nil
	}
}

// Emit delivers a batch like the middleware would (on the caller's
// goroutine); it reports false once the window cancelled its subscription.
func (f *fakeMiddleware) Emit(batch ...middleware.Event) bool {
	f.mu.Lock()
	emit := f.emit
	f.mu.Unlock()
	if emit == nil {
		return false
	}
	emit(batch)
	return true
}

func (f *fakeMiddleware) Sends() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.sends...)
}

func (f *fakeMiddleware) Cancelled() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cancelled
}

func sent(msg string) middleware.Event {
	return middleware.Event{Kind: middleware.EventSent, Msg: msg}
}

func received(msg string) middleware.Event {
	return middleware.Event{Kind: middleware.EventReceived, Msg: msg}
}

func ready(seq uint64, msg string) middleware.Event {
	return middleware.Event{Kind: middleware.EventReady, Msg: msg, Seq: seq}
}
