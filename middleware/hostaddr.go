package middleware

import (
	"net"
	"strconv"

	"github.com/rs/zerolog"

	"totalorder/internal/hostaddr"
)

// alsoOnHostName adds listeners on the host's own addresses (other than
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
			log.Warn().Msgf("cannot also listen for data on %s, one of the host's addresses (where the original network program may send): %v", addr, shortErr(err))
			continue
		}
		lns = append(lns, extra)
	}
	return hostaddr.Merge(lns...)
}
