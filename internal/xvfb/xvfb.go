// Package xvfb starts and stops a virtual X display (Xvfb) for tests and
// measurements that need real windows without a desktop.
package xvfb

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Server is a running Xvfb that this process started.
type Server struct {
	Display string // ":N"
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has been waited for
	stderr  *strings.Builder
}

// Start starts Xvfb on a free display of its own choice: it is told to
// pick one (-displayfd) and writes the number on a pipe once it accepts
// clients, so there is no race with other displays and no polling. The
// screen is width×height×24.
func Start(width, height int) (*Server, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, errors.New("Xvfb is not installed (apt-get install xvfb)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", width, height), "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	s := &Server{cmd: cmd, done: make(chan struct{}), stderr: new(strings.Builder)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("Xvfb: %v", err)
	}
	w.Close()                                 // the child holds its own copy
	go func() { cmd.Wait(); close(s.done) }() // owner: s; ends with the process (Stop)

	got := make(chan string, 1)
	go func() { // ends when Xvfb writes its display or closes the pipe (exit)
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			s.Stop()
			return nil, fmt.Errorf("Xvfb did not start: %s", strings.TrimSpace(s.stderr.String()))
		}
		s.Display = ":" + n
		return s, nil
	case <-time.After(15 * time.Second):
		s.Stop()
		return nil, errors.New("Xvfb did not report a display within 15 s")
	}
}

// Stop asks Xvfb to end (SIGTERM), which lets it remove its lock file
// (/tmp/.X<N>-lock) and socket, and waits for it. Only if it has not
// ended after 5 s is it killed. It returns an error if it had to kill.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil { // Windows has no SIGTERM (nor Xvfb)
		s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("Xvfb did not end within 5 s of SIGTERM: killed")
	}
}
