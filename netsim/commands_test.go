package netsim

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestCommandsOnStdin(t *testing.T) {
	k := newSink(t)
	r := startServer(t, Config{MaxSleep: time.Hour}, k)

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- r.ServeCommands(context.Background(), inR, outW)
		_ = outW.Close()
	}()
	replies := bufio.NewReader(outR)
	ask := func(line string, replyLines int) string {
		t.Helper()
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatalf("write %q: %v", line, err)
		}
		var b strings.Builder
		for range replyLines {
			s, err := replies.ReadString('\n')
			if err != nil {
				t.Fatalf("reply to %q: %v", line, err)
			}
			b.WriteString(s)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}

	if got, want := ask("max-sleep 0", 1), "max-sleep is now 0s (was 1h0m0s)"; got != want {
		t.Errorf("max-sleep reply %q, want %q", got, want)
	}
	// With the old bound of an hour this could not arrive in time.
	send(t, r.Addr().String(), "fast")
	k.waitFor(1)
	// The sink can read a copy a moment before the relay counts it.
	r.waitStats(t, "delivered", func(st Stats) bool { return st.Delivered == 1 })

	if got := ask("stats", 2); !strings.HasPrefix(got, "accepted=1 delivered=1 in-flight=0 failed=0 dropped=0 duplicated=0") ||
		!strings.Contains(got, k.addr()+" up delivered=1") {
		t.Errorf("stats reply %q", got)
	}
	if got, want := ask("bogus 1", 1), `error: unknown command "bogus" (type help for the list)`; got != want {
		t.Errorf("unknown command reply %q, want %q", got, want)
	}
	if got := ask("drop 2", 1); !strings.HasPrefix(got, "error: drop") {
		t.Errorf("drop 2 reply %q", got)
	}
	if got, want := ask("dup 0.5", 1), "dup is now 0.5 (was 0)"; got != want || r.Dup() != 0.5 {
		t.Errorf("dup reply %q (dup %v), want %q", got, r.Dup(), want)
	}
	if got := ask("help", strings.Count(CommandHelp, "\n")+1); got != CommandHelp {
		t.Errorf("help reply %q", got)
	}
	if got := ask("MAX-SLEEP 1500", 1); got != "max-sleep is now 1.5s (was 0s)" || r.MaxSleep() != 1500*time.Millisecond {
		t.Errorf("max-sleep in ms: %q", got)
	}

	// End of input ends the command loop, not the server.
	if err := inW.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("ServeCommands at end of input: %v", err)
	}
	r.SetMaxSleep(0)
	r.SetDup(0)
	send(t, r.Addr().String(), "after")
	k.waitFor(2)
}

func TestCommandErrors(t *testing.T) {
	s, err := New(Config{Dests: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, line := range []string{"max-sleep -1s", "max-sleep soon", "max-sleep 1 2", "drop x", "dup 1.1", "stats now", "quit now", "frobnicate"} {
		reply, err := s.Command(line)
		if err == nil {
			t.Errorf("%q: reply %q, want an error", line, reply)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", line, err)
		}
	}
	if reply, err := s.Command("   "); reply != "" || err != nil {
		t.Errorf("blank line: %q, %v", reply, err)
	}
}

func TestServeCommandsLongLine(t *testing.T) {
	s, err := New(Config{Dests: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := strings.Repeat("x", 3*maxCommandLine) + "\nmax-sleep 7\n"
	var out strings.Builder
	if err := s.ServeCommands(context.Background(), strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "error: command line longer") || lines[1] != "max-sleep is now 7ms (was 0s)" {
		t.Errorf("output %q", out.String())
	}
}

func TestParseMaxSleep(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"2s": 2 * time.Second, "500ms": 500 * time.Millisecond, "1500": 1500 * time.Millisecond,
		"0": 0, " 1m ": time.Minute, "1.5s": 1500 * time.Millisecond,
	} {
		if got, err := ParseMaxSleep(in); err != nil || got != want {
			t.Errorf("ParseMaxSleep(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-5", "-1s", "soon", "1e3", "99999999999999999"} {
		if got, err := ParseMaxSleep(in); err == nil {
			t.Errorf("ParseMaxSleep(%q) = %v, want an error", in, got)
		}
	}
}

// "quit" ends the command loop with ErrQuit (its caller stops the server)
// and reads no further line.
func TestServeCommandsQuit(t *testing.T) {
	s, err := New(Config{Dests: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out strings.Builder
	err = s.ServeCommands(context.Background(), strings.NewReader("max-sleep 7\n QUIT \nmax-sleep 9\n"), &out)
	if !errors.Is(err, ErrQuit) {
		t.Errorf("ServeCommands returned %v, want ErrQuit", err)
	}
	if got := strings.TrimSpace(out.String()); got != "max-sleep is now 7ms (was 0s)" {
		t.Errorf("output %q: want the first reply only", got)
	}
	if reply, err := s.Command("quit"); reply != "" || !errors.Is(err, ErrQuit) {
		t.Errorf("Command(quit) = %q, %v", reply, err)
	}
}
