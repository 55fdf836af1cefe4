package middleware

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// The lab's original network program binds to, and sends to, the first
// IPv4 address of the host's name (Dns.GetHostEntry(Dns.GetHostName())):
// 127.0.1.1 on a stock Debian or Ubuntu, the LAN address on many Windows
// and macOS machines, rarely 127.0.0.1. With default addresses a
// middleware therefore looks for the network program on 127.0.0.1 and on
// those addresses, and listens for data on both.

// hostLookupTimeout bounds the host-name lookup; a host whose name does not
// resolve quickly is treated as having no address beyond loopback.
const hostLookupTimeout = 2 * time.Second

// hostIPv4s returns the IPv4 addresses the host's name resolves to, in the
// resolver's order (the first is the one the original program uses). It
// returns nothing if the name does not resolve.
func hostIPv4s() []net.IP {
	name, err := os.Hostname()
	if err != nil || name == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", name)
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, ip := range ips {
		if ip4 := ip.To4(); ip4 != nil && !ip4.IsUnspecified() {
			out = append(out, ip4)
		}
	}
	return out
}

// multiListener accepts on several listeners as one: the data port on
// 127.0.0.1 and on the host name's address. One goroutine per listener
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

// mergeListeners returns lns[0] alone, or a listener accepting on all of them.
func mergeListeners(lns ...net.Listener) net.Listener {
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

// alsoOnHostName adds listeners on the host name's addresses (other than
// ln's own) on port to ln. One that cannot be bound is left out with a
// warning: copies the original program sends there would not arrive.
func alsoOnHostName(ln net.Listener, ips []net.IP, port int, log zerolog.Logger) net.Listener {
	lns := []net.Listener{ln}
	own, _ := ln.Addr().(*net.TCPAddr)
	for _, ip := range ips {
		if own != nil && own.IP.Equal(ip) {
			continue
		}
		addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
		extra, err := net.Listen("tcp", addr)
		if err != nil {
			log.Warn().Msgf("cannot also listen for data on %s, the host name's address (where the original network program sends): %v", addr, shortErr(err))
			continue
		}
		lns = append(lns, extra)
	}
	return mergeListeners(lns...)
}

// hostAddrs is ip:port for each of ips, port taken from addr.
func hostAddrs(ips []net.IP, addr string) []string {
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

// listenAddrs names every address ln accepts on.
func listenAddrs(ln net.Listener) string {
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
