package lab_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/middleware/check"
)

// Real processes against strangers and failures: a process without the
// lab's group secret, a flood of connections, a full disk under the events
// log. The tests look only at public behaviour (the checker's verdict,
// status lines, events logs, the operational log), so they hold for any
// protocol.

func controlAddr(l *lab.Lab, i int) string {
	return fmt.Sprintf("127.0.0.1:%d", l.BasePort()+100+i)
}

// waitClosed reads c until the middleware closes it.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the middleware did not close the connection", what)
		}
		return
	}
}

// TestStrangerCannotJoin: a stranger connects to Middleware 1's control
// port silently, with the old hello claiming to be Middleware 5 followed by
// made-up control lines, and with a well-formed authenticated hello and a
// made-up proof. Each is closed, the refusals cost a line or two in the
// log, and the group goes on ordering every message.
func TestStrangerCannotJoin(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, MaxSleep: 100 * time.Millisecond, Reuse: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		t.Fatal(err)
	}
	addr := controlAddr(l, 1)
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// Lines shaped like control messages; none may ever be decoded.
	junk := strings.Repeat("R 5 777777\nO 5 1 777777 1\nH 5 99 99\n", 50)

	silent := dial()
	oldHello := dial()
	fmt.Fprintf(oldHello, "HELLO 5 stranger\n%s", junk)
	forged := dial()
	fmt.Fprintf(forged, "TOM-AUTH1 HELLO 5 1 stranger %s\n", strings.Repeat("7", 32))
	line, err := bufio.NewReader(forged).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "TOM-AUTH1 CHALLENGE ") {
		t.Fatalf("no challenge for a well-formed hello: %q, %v", line, err)
	}
	fmt.Fprintf(forged, "TOM-AUTH1 PROOF %s\n%s", strings.Repeat("0", 64), junk)

	waitClosed(t, oldHello, "the old unauthenticated hello")
	waitClosed(t, forged, "a made-up proof")
	waitClosed(t, silent, "a silent connection")

	sendFromAll(t, l, l.IDs(), 6, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 30, 60*time.Second)
	status, err := l.Status(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "peers=4/4") {
		t.Errorf("Middleware 1's status after the strangers: %s", status)
	}
	out := l.Output(1)
	rep := mustCheck(t, l, check.Options{Agreement: true})
	if rep.Messages != 30 {
		t.Fatalf("checker saw %d messages, want 30", rep.Messages)
	}
	if n := strings.Count(out, "refused a connection"); n < 1 || n > 3 {
		t.Errorf("%d refusal lines for 3 strangers, want 1 to 3 (rate-limited):\n%s", n, lastLines(out, 20))
	}
}

// flood keeps workers connections open to addr, each reconnecting as soon
// as the middleware closes it, until stop.
type flood struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	dials  int
}

func startFlood(addr string, workers int) *flood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &flood{cancel: cancel}
	for range workers {
		f.wg.Go(func() {
			var d net.Dialer
			buf := make([]byte, 256)
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					if ctx.Err() == nil {
						time.Sleep(10 * time.Millisecond) // pacing a failed dial, not synchronisation
					}
					continue
				}
				f.mu.Lock()
				f.dials++
				f.mu.Unlock()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				stop()
				c.Close()
			}
		})
	}
	return f
}

func (f *flood) stop() int {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials
}

// TestFloodWhilePeerRestarts: idle connections flood Middleware 1's control
// port (far beyond its handshake cap, each reopened as soon as it is
// closed) while Middleware 3 is killed and restarted. Middleware 3 links
// to everyone again, and the group orders every message.
func TestFloodWhilePeerRestarts(t *testing.T) {
	l := startLab(t, lab.Config{N: 5, MaxSleep: 100 * time.Millisecond, Reuse: true})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := l.WaitLinked(ctx, l.IDs()); err != nil {
		t.Fatal(err)
	}
	sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
	waitAll(t, l, l.IDs(), 10, 30*time.Second)

	f := startFlood(controlAddr(l, 1), 300)
	defer f.stop()
	l.Kill(3)
	if err := l.StartMW(3); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := l.WaitLinked(ctx, []int{3}); err != nil {
		t.Fatalf("the restarted peer could not link during the flood: %v", err)
	}
	t.Logf("Middleware 3 linked to all peers %v after its restart, during the flood", time.Since(start).Round(time.Millisecond))
	sendFromAll(t, l, l.IDs(), 3, 20*time.Millisecond)
	waitAll(t, l, l.IDs(), 10+15, 60*time.Second)
	dials := f.stop()
	t.Logf("the flood opened %d connections", dials)
	out := l.Output(1)
	rep := mustCheck(t, l, check.Options{Agreement: true})
	if rep.Messages != 25 {
		t.Fatalf("checker saw %d messages, want 25", rep.Messages)
	}
	if dials < 300 {
		t.Fatalf("the flood opened only %d connections: it tested nothing", dials)
	}
	if !strings.Contains(out, "closed the oldest") {
		t.Errorf("Middleware 1 did not report the flood:\n%s", lastLines(out, 20))
	}
}

// TestForgedDataNeverDelivered: content written straight to one data port,
// as a stranger on the machine could, in every protocol. A message its
// sender never announced is never delivered by anyone and never moves the
// numbering; a number the control encoding could not carry is refused with
// one line; the group goes on ordering every real message.
func TestForgedDataNeverDelivered(t *testing.T) {
	for _, proto := range orderingProtocols() {
		t.Run(proto, func(t *testing.T) {
			l := startLab(t, lab.Config{N: 5, Protocol: proto, MaxSleep: 50 * time.Millisecond, Reuse: true})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := l.WaitLinked(ctx, l.IDs()); err != nil {
				t.Fatal(err)
			}
			sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
			const forged, huge = "Msg #777777 from Middleware 4", "Msg #9999999999999999999 from Middleware 1"
			for _, text := range []string{forged, huge} {
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", l.BasePort()+1))
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprint(c, text+"<EOM>")
				c.Close()
			}
			sendFromAll(t, l, l.IDs(), 2, 10*time.Millisecond)
			waitAll(t, l, l.IDs(), 20, 60*time.Second)
			rep := mustCheck(t, l, check.Options{Agreement: true})
			if rep.Messages != 20 {
				t.Fatalf("checker saw %d messages, want the 20 sent", rep.Messages)
			}
			for _, i := range l.IDs() {
				b, err := os.ReadFile(l.LogPath(i))
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(string(b), "\n") {
					if strings.Contains(line, `"ready"`) && strings.Contains(line, "#777777") {
						t.Errorf("Middleware %d delivered the forged message: %s", i, line)
					}
					if strings.Contains(line, `"sent"`) && strings.Contains(line, "#777778") {
						t.Errorf("Middleware %d's numbering jumped past the forged number: %s", i, line)
					}
				}
			}
			if out := l.Output(1); !strings.Contains(out, "not a lab message") {
				t.Errorf("Middleware 1 did not refuse the 19-digit number with a line; its output:\n%s", lastLines(out, 10))
			}
		})
	}
}
