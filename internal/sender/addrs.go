package sender

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Addrs are where one far end may listen: its configured address, then
// others (this host's own addresses, where the original network program,
// and middlewares written for it, listen instead of on loopback). Dial
// tries them from the one that answered last. Safe for concurrent use once
// Add is done.
type Addrs struct {
	list []string
	cur  atomic.Int32
	// Moved, when set, is told the address that answered when it is not
	// the one that answered before.
	Moved func(addr string)
}

// NewAddrs returns first and more, without duplicates.
func NewAddrs(first string, more ...string) *Addrs {
	a := &Addrs{list: []string{first}}
	a.Add(more...)
	return a
}

// Add adds addresses to try; call it before the first Dial.
func (a *Addrs) Add(more ...string) {
	for _, m := range more {
		if !slices.Contains(a.list, m) {
			a.list = append(a.list, m)
		}
	}
}

// List is every address, the configured one first.
func (a *Addrs) List() []string { return a.list }

// Current is the address that answered last (the first until one does).
func (a *Addrs) Current() string { return a.list[a.cur.Load()] }

// String names them all: "A or B".
func (a *Addrs) String() string { return strings.Join(a.list, " or ") }

// Dial connects to the address that answered last, else to the others in
// turn, each attempt bounded by timeout. It returns the first error if
// none answers.
func (a *Addrs) Dial(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	from := int(a.cur.Load())
	var first error
	for k := range a.list {
		i := (from + k) % len(a.list)
		conn, err := d.DialContext(ctx, "tcp", a.list[i])
		if err == nil {
			if a.cur.Swap(int32(i)) != int32(i) && a.Moved != nil {
				a.Moved(a.list[i])
			}
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}
