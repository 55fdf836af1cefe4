// Package hostaddr finds the addresses the lab's original network program
// uses for "this host", and listens on several addresses as one listener:
// what the middleware and our network program need to work with the
// original and with programs written for it, without flags.
package hostaddr

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// The lab's original network program binds to, and sends to, the first
// IPv4 address of the host's name (Dns.GetHostEntry(Dns.GetHostName())).
// What that is depends on the runtime: a resolver lookup (.NET on Linux:
// 127.0.1.1 on a stock Debian or Ubuntu) or, for the machine's own name,
// its interfaces' addresses (mono ignores /etc/hosts then and takes the
// first non-loopback interface's; Windows lists the adapters'), else
// 127.0.0.1. With default addresses a middleware therefore looks for the
// network program on 127.0.0.1 and on all of these, and listens for data
// on all of them.

// hostLookupTimeout bounds the host-name lookup; a host whose name does not
// resolve quickly is treated as having no address beyond loopback.
const hostLookupTimeout = 2 * time.Second

// IPv4s returns the IPv4 addresses the original program may take for
// the host's: those its name resolves to, in the resolver's order, then
// those of its interfaces that are up and not loopback, without repeats.
func IPv4s() []net.IP {
	var out []net.IP
	add := func(ip net.IP) {
		ip4 := ip.To4()
		if ip4 == nil || ip4.IsUnspecified() || slices.ContainsFunc(out, ip4.Equal) {
			return
		}
		out = append(out, ip4)
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
		ips, _ := net.DefaultResolver.LookupIP(ctx, "ip4", name)
		cancel()
		for _, ip := range ips {
			add(ip)
		}
	}
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
				add(ipn.IP)
			}
		}
	}
	return out
}

// multiListener accepts on several listeners as one: the data port on
// 127.0.0.1 and on the host's own addresses. One goroutine per listener
// hands connections over; Close stops them and waits for them.
type multiListener struct {
	lns   []net.Listener
	conns chan net.Conn
	errs  chan error
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	err   error // from the first Close
}

// Merge returns lns[0] alone, or a listener accepting on all of them.
func Merge(lns ...net.Listener) net.Listener {
	if len(lns) == 1 {
		return lns[0]
	}
	m := &multiListener{lns: lns, conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{})}
	for _, ln := range lns {
		m.wg.Go(func() { m.accept(ln) })
	}
	return m
}

func (m *multiListener) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Handed over (and so paced by the caller's retry), not dropped.
			select {
			case m.errs <- err:
				continue
			case <-m.done:
				return
			}
		}
		select {
		case m.conns <- c:
		case <-m.done:
			c.Close()
			return
		}
	}
}

// Accept returns the next connection from any of the listeners.
func (m *multiListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case err := <-m.errs:
		return nil, err
	case <-m.done:
		return nil, net.ErrClosed
	}
}

// Close closes every listener and waits for the accepting goroutines.
func (m *multiListener) Close() error {
	m.once.Do(func() {
		close(m.done)
		for _, ln := range m.lns {
			if err := ln.Close(); err != nil && m.err == nil {
				m.err = err
			}
		}
		m.wg.Wait()
	})
	return m.err
}

// Addr is the first listener's address.
func (m *multiListener) Addr() net.Addr { return m.lns[0].Addr() }

// Addrs lists every address listened on.
func (m *multiListener) Addrs() []net.Addr {
	out := make([]net.Addr, len(m.lns))
	for i, ln := range m.lns {
		out[i] = ln.Addr()
	}
	return out
}

// JoinPort is ip:port for each of ips, port taken from addr.
func JoinPort(ips []net.IP, addr string) []string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	var out []string
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip.String(), port))
	}
	return out
}

// Describe names every address ln accepts on.
func Describe(ln net.Listener) string {
	m, ok := ln.(*multiListener)
	if !ok {
		return ln.Addr().String()
	}
	var b strings.Builder
	for i, a := range m.Addrs() {
		if i > 0 {
			b.WriteString(" and ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}
