package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// xvfb is a virtual X display this program started.
type xvfb struct {
	display string // ":N"
	cmd     *exec.Cmd
	done    chan struct{}
}

// startXvfb starts Xvfb on a free display. Xvfb picks the display itself
// (-displayfd) and writes its number on a pipe once it accepts clients,
// so there is no race with other users' displays and no polling.
func startXvfb() (*xvfb, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	w.Close() // the child holds its own copy
	x := &xvfb{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(x.done) }() // owner: x; ends with the process (x.stop)

	got := make(chan string, 1)
	go func() { // ends when Xvfb writes its display or closes the pipe (exit)
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			x.stop()
			return nil, fmt.Errorf("Xvfb did not start: %s", strings.TrimSpace(stderr.String()))
		}
		x.display = ":" + n
		return x, nil
	case <-time.After(15 * time.Second):
		x.stop()
		return nil, errors.New("Xvfb did not report a display within 15 s")
	}
}

// stop ends Xvfb and waits for it.
func (x *xvfb) stop() {
	x.cmd.Process.Kill()
	<-x.done
}
