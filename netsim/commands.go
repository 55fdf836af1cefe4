package netsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CommandHelp lists the commands Command understands.
const CommandHelp = `commands:
  max-sleep D   set the delay bound: a duration (2s, 500ms) or milliseconds (1500)
  max-sleep     show the delay bound
  drop P        drop each copy with probability P (0 to 1)
  dup P         deliver each copy twice with probability P (0 to 1)
  stats         show the counters, and each destination where its copies go
  quit          stop, as Ctrl-C does (copies in flight get the grace period)
  help          this list`

// ErrQuit is what Command returns for "quit": the caller stops the
// server, as on Ctrl-C. ServeCommands returns it.
var ErrQuit = errors.New("quit")

// maxCommandLine bounds one command line; longer lines are refused.
const maxCommandLine = 4096

// Command runs one command line (as typed on the console) and returns the
// reply to show. A bad command or argument returns an error whose text is
// one line. An empty line returns "" and no error.
func (s *Server) Command(line string) (string, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return "", nil
	}
	name, args := strings.ToLower(fields[0]), fields[1:]
	switch name {
	case "help", "?":
		return CommandHelp, nil
	case "quit", "exit":
		if len(args) > 0 {
			return "", errors.New("quit takes no argument")
		}
		return "", ErrQuit
	case "stats":
		if len(args) > 0 {
			return "", errors.New("stats takes no argument")
		}
		return s.statsLine(), nil
	case "max-sleep", "maxsleep", "max_sleep":
		switch len(args) {
		case 0:
			return "max-sleep is " + s.MaxSleep().String(), nil
		case 1:
			d, err := ParseMaxSleep(args[0])
			if err != nil {
				return "", err
			}
			old := s.MaxSleep()
			s.SetMaxSleep(d)
			return fmt.Sprintf("max-sleep is now %v (was %v)", d, old), nil
		}
		return "", errors.New("usage: max-sleep D (for example max-sleep 500ms)")
	case "drop", "dup":
		get, set := s.Drop, s.SetDrop
		if name == "dup" {
			get, set = s.Dup, s.SetDup
		}
		switch len(args) {
		case 0:
			return name + " is " + formatProbability(get()), nil
		case 1:
			p, err := ParseProbability(name, args[0])
			if err != nil {
				return "", err
			}
			old := get()
			set(p)
			return fmt.Sprintf("%s is now %s (was %s)", name, formatProbability(p), formatProbability(old)), nil
		}
		return "", fmt.Errorf("usage: %s P (a probability from 0 to 1)", name)
	}
	return "", fmt.Errorf("unknown command %q (type help for the list)", fields[0])
}

func formatProbability(p float64) string { return strconv.FormatFloat(p, 'g', -1, 64) }

func (s *Server) statsLine() string {
	st := s.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "accepted=%d delivered=%d in-flight=%d failed=%d dropped=%d duplicated=%d abandoned=%d rejected=%d incomplete=%d conns=%d max-sleep=%v drop=%s dup=%s",
		st.Accepted, st.Delivered, st.InFlight, st.Failed, st.Dropped, st.Duplicated, st.Abandoned, st.Rejected, st.Incomplete, st.Conns,
		s.MaxSleep(), formatProbability(s.Drop()), formatProbability(s.Dup()))
	for _, d := range st.Dests {
		state := "up"
		if !d.Up {
			state = "DOWN"
		}
		// Where the copies really go: a middleware written for the original
		// listens on this host's address, not on the configured 127.0.0.1.
		fmt.Fprintf(&b, "\n  %s %s delivered=%d in-flight=%d failed=%d", d.At, state, d.Delivered, d.InFlight, d.Failed)
	}
	return b.String()
}

// ServeCommands reads command lines from r and writes each reply (or a
// one-line error) to w. It returns nil at the end of r — end of input does
// not stop the server —, ErrQuit at "quit" (the caller stops the server:
// a way to stop it that needs no signal, portable to Windows), or r's read
// error. Because a read cannot be
// interrupted, ctx is checked between lines only: callers reading a
// terminal run it in a goroutine that lives as long as the process.
func (s *Server) ServeCommands(ctx context.Context, r io.Reader, w io.Writer) error {
	br := bufio.NewReaderSize(r, maxCommandLine)
	for ctx.Err() == nil {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			fmt.Fprintf(w, "error: command line longer than %d bytes ignored\n", maxCommandLine)
			if err != nil {
				return endOfInput(err)
			}
			continue
		}
		if len(line) > 0 {
			reply, cerr := s.Command(string(line))
			switch {
			case errors.Is(cerr, ErrQuit):
				return ErrQuit
			case cerr != nil:
				fmt.Fprintf(w, "error: %v\n", cerr)
			case reply != "":
				fmt.Fprintln(w, reply)
			}
		}
		if err != nil {
			return endOfInput(err)
		}
	}
	return nil
}

func endOfInput(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
