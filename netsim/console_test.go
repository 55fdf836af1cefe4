package netsim

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"totalorder/internal/testbuf"
)

// startLogged is startServer with the log in a buffer as well.
func startLogged(t *testing.T, cfg Config) (*running, *testbuf.Buffer) {
	t.Helper()
	logs := &testbuf.Buffer{}
	cfg.Port = 0
	cfg.Logger = zerolog.New(zerolog.MultiLevelWriter(logs, zerolog.ConsoleWriter{Out: zerolog.NewTestWriter(t), NoColor: true}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		checkNoServerGoroutines(t)
	})
	return r, logs
}

// The console shows what the original's shows, line for line (Network.cs:
// "Waiting for a connection..." before each accept, then
// Console.Write("Message received: {0}", data) and one
// "delay time for {port} is {ms}" a copy).
func TestOriginalConsole(t *testing.T) {
	k1, k2 := newRawSink(t), newRawSink(t)
	out := &testbuf.Buffer{}
	r := startServer(t, Config{OriginalConsole: out, Dests: []string{k1.ln.Addr().String(), k2.ln.Addr().String()}})
	a1, a2 := k1.ln.Addr().String(), k2.ln.Addr().String()

	sendRaw(t, r.Addr().String(), []byte("From 8083: This is a test<EOM>\n"))
	want := "Waiting for a connection...\n" +
		"Waiting for a connection...\n" +
		"Message received: From 8083: This is a test<EOM>\n" +
		"delay time for " + a1 + " is 0\n" +
		"delay time for " + a2 + " is 0\n"
	if got := out.WaitFor(t, "is 0\ndelay time for "+a2+" is 0\n", waitLimit); got != want {
		t.Errorf("console:\n%q\nwant\n%q", got, want)
	}

	r.SetDrop(1)
	sendRaw(t, r.Addr().String(), []byte("caf\xc3\xa9<EOM>"))
	want += "Waiting for a connection...\n" +
		"Message received: caf??<EOM>" +
		"copy for " + a1 + " dropped (fault injection)\n" +
		"copy for " + a2 + " dropped (fault injection)\n"
	if got := out.WaitFor(t, a2+" dropped (fault injection)\n", waitLimit); got != want {
		t.Errorf("console:\n%q\nwant\n%q", got, want)
	}
}

// With default destinations a copy's line names its port, as the original's does.
func TestOriginalConsoleNamesPorts(t *testing.T) {
	s, err := New(Config{N: 2, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	port := s.Addr().(*net.TCPAddr).Port
	for i, d := range s.dests {
		if want := strconv.Itoa(port + i + 1); d.label != want {
			t.Errorf("destination %d is called %q, want %q", i+1, d.label, want)
		}
	}
}

// By default the log says where it listens and what maxSleepTime is, warns
// when a middleware is not listening, and sums up at the end.
func TestLogStartWarningSummary(t *testing.T) {
	down := reservePort(t)
	r, logs := startLogged(t, Config{MaxSleep: 250 * time.Millisecond, Dests: []string{down}, Quiet: true, ShutdownGrace: 50 * time.Millisecond})
	logs.WaitFor(t, fmt.Sprintf(`"message":"netsim listening on %s`, r.Addr()), waitLimit)
	logs.WaitFor(t, "maxSleepTime 250ms: each copy waits a random time in [0, 250ms]; copies to "+down, waitLimit)

	sendEach(t, r.Addr().String(), "Msg #1 from Middleware 1")
	logs.WaitFor(t, `"message":"nothing listens at `+down+` (middleware not started, or stopped?): holding its copies and retrying for up to 30s"`, waitLimit)
	if st := r.Stats(); st.Dests[0].At != down {
		t.Errorf("stats name the destination %q, want %q", st.Dests[0].At, down)
	}

	r.stop(t)
	logs.WaitFor(t, `"message":"netsim stopped after `, waitLimit)
	logs.WaitFor(t, `1 message accepted, 0 copies delivered, 1 abandoned at shutdown"`, waitLimit)
	if n := strings.Count(logs.String(), "netsim listening"); n != 1 {
		t.Errorf("the start line came %d times", n)
	}
}

// A connection that ends with no <EOM> forwards nothing and says so in one
// line; the server goes on.
func TestNoEOMWarns(t *testing.T) {
	k := newSink(t)
	r, logs := startLogged(t, Config{Dests: []string{k.addr()}, Quiet: true})
	sendRaw(t, r.Addr().String(), []byte("no terminator here"))
	line := logs.WaitFor(t, "sender connection ended with no <EOM>: nothing forwarded", waitLimit)
	if !strings.Contains(line, `"bytes":18`) {
		t.Errorf("log %s", line)
	}
	send(t, r.Addr().String(), "after")
	if got := messages(k.waitFor(1)); got[0] != "after" {
		t.Errorf("got %q", got)
	}
	if st := r.Stats(); st.Incomplete != 1 || st.Accepted != 1 {
		t.Errorf("incomplete %d accepted %d, want 1 and 1", st.Incomplete, st.Accepted)
	}
}
