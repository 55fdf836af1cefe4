//go:build linux || freebsd || openbsd || netbsd || dragonfly

package display

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// check dials the X server that DISPLAY names, the way Xlib does: a local
// display ("" or "unix" host) by its socket /tmp/.X11-unix/X<n> (on Linux
// also the abstract socket of that name), any other host by TCP on port
// 6000+n. Fyne's window driver speaks X11 (XWayland on a Wayland desktop).
func check() error {
	d := os.Getenv("DISPLAY")
	if d == "" {
		return errors.New("no display: DISPLAY is not set (the windows need a desktop; without one, try the demo: ./run.sh demo)")
	}
	host, rest, ok := strings.Cut(d, ":")
	num, _, _ := strings.Cut(strings.TrimPrefix(rest, ":"), ".")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 {
		return nil // a form this check does not know: let the driver try
	}
	var addrs [][2]string
	if host == "" || host == "unix" {
		sock := "/tmp/.X11-unix/X" + strconv.Itoa(n)
		addrs = append(addrs, [2]string{"unix", "@" + sock}, [2]string{"unix", sock})
	}
	if host != "" && host != "unix" {
		addrs = append(addrs, [2]string{"tcp", net.JoinHostPort(host, strconv.Itoa(6000+n))})
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout(a[0], a[1], 3*time.Second); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("cannot open display %s: no X server answers there (is DISPLAY right? without a desktop, try the demo: ./run.sh demo)", d)
}
