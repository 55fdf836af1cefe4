package netsim

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"totalorder/middleware/wire"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultPort          = 8081
	DefaultN             = 5
	DefaultHost          = "127.0.0.1"
	DefaultMaxSleep      = 2000 * time.Millisecond // the command line's default (the original's constant is 20 000 ms: a tenth, for quicker runs); not applied by New
	DefaultRetryFor      = 30 * time.Second
	DefaultIdleTimeout   = 5 * time.Minute
	DefaultMaxConns      = 1024
	DefaultDialTimeout   = 2 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultShutdownGrace = 2 * time.Second
	DefaultDialers       = 4
	DefaultMaxQueue      = 1 << 20
)

// Config describes one network program. The zero value of most fields
// means "use the default"; MaxSleep, Drop and Dup are taken literally
// (0 is a meaningful value for each).
type Config struct {
	// Listen is the host to listen on; "" (the default) listens on
	// 127.0.0.1 and on this host's own addresses, the ones the lab's
	// original program uses, so that programs written for it find this
	// one; "0.0.0.0" is every interface. The port goes in Port.
	Listen string
	// Port is the TCP port senders connect to. 0 picks a free port (tests);
	// the command line defaults it to 8081.
	Port int
	// N is the number of destinations when Dests is empty: ports
	// Port+1 … Port+N on DestHost (Port being the bound port). Default 5.
	N int
	// DestHost is the destinations' host; "" (the default) sends to
	// 127.0.0.1 and, where nobody listens there, to this host's own
	// addresses (where middlewares written for the original listen).
	DestHost string
	// Dests, when non-empty, lists the destination addresses ("host:port")
	// explicitly and overrides N and DestHost.
	Dests []string

	// MaxSleep is the upper bound of each copy's uniform random delay
	// [0, MaxSleep]. 0 relays at once.
	MaxSleep time.Duration
	// Late adds to each copy's delay a further uniform random wait in
	// [0, Late]: the lateness of the original program under mono, whose
	// thread pool starts copies late when many wait at once (up to 7 s
	// past its 20 s maxSleepTime in the lab's three-sends-each run). For
	// trying middlewares against it; 0 (the default) adds nothing.
	Late time.Duration
	// Seed seeds the delay generator; 0 picks a random seed. Delays are
	// drawn from one generator in the order messages are accepted, so a
	// seed reproduces a run exactly only when messages arrive in the same
	// order (one sender, or senders that do not overlap).
	Seed int64

	// Reuse keeps one connection per destination open and writes every
	// copy on it. Off (default), each copy gets its own connection, as the
	// original program does: middlewares written for it read one message
	// per connection.
	Reuse bool

	// Drop is the probability that a copy is silently dropped, Dup the
	// probability that a copy is delivered twice (fault injection).
	Drop, Dup float64

	// RetryFor bounds how long a copy to an unreachable destination is
	// retried before it is counted as failed. Default 30 s.
	RetryFor time.Duration
	// MaxMessage is the size limit of one message (default 64 KiB): of
	// what it forwards, one terminator not counted (so without reuse a
	// tail after "<EOM>" counts). Larger messages are dropped with a
	// logged error.
	MaxMessage int
	// IdleTimeout closes a sender connection that sent nothing for this
	// long (default 5 min; negative disables it).
	IdleTimeout time.Duration
	// MaxConns caps concurrent sender connections (default 1024). At the
	// cap, accepting a new connection closes the one idle longest,
	// preferring connections that never sent a message.
	MaxConns int
	// DialTimeout bounds one connection attempt to a destination (default 2 s).
	DialTimeout time.Duration
	// WriteTimeout bounds writing to a destination that stopped reading
	// (default 10 s); the copies are then retried.
	WriteTimeout time.Duration
	// ShutdownGrace bounds the drain at shutdown: copies still waiting out
	// their delay are delivered at once, and whatever is not delivered
	// within the grace is abandoned (counted and logged). Default 2 s.
	ShutdownGrace time.Duration
	// Dialers is the number of concurrent connection-per-copy senders per
	// destination when Reuse is off (default 4).
	Dialers int
	// MaxQueue caps the copies in flight to one destination (default 1<<20);
	// copies beyond it are counted as failed, so a dead destination cannot
	// exhaust memory.
	MaxQueue int

	// EventsPath, if set, is the events log for the timeline (JSON lines,
	// appended): each message accepted, each copy handed over with its
	// delay, each copy dropped (see eventsLog).
	EventsPath string

	// Logger receives the log. The zero Logger is silent.
	Logger zerolog.Logger
	// Quiet drops the per-message and per-copy lines: only lifecycle
	// lines (listening, settings changed, summary), warnings and errors remain.
	Quiet bool
	// OriginalConsole, if set, gets the lines the original program prints
	// on its console, in its words: "Waiting for a connection...", then
	// "Message received: " and the message as forwarded, then a line
	// "delay time for 8082 is 1234" (milliseconds) for each copy.
	OriginalConsole io.Writer
}

// Validate reports the first bad field as a one-line error (New does the
// same check; the command line uses it to tell bad flags from other failures).
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if _, _, err := net.SplitHostPort(c.Listen); err == nil {
		return c, fmt.Errorf("listen address %q includes a port: give the host only and the port separately", c.Listen)
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("port %d out of range 0-65535", c.Port)
	}
	if len(c.Dests) == 0 {
		if c.N == 0 {
			c.N = DefaultN
		}
		if c.N < 1 {
			return c, fmt.Errorf("number of destinations %d: need at least 1", c.N)
		}
		if c.Port+c.N > 65535 {
			return c, fmt.Errorf("destination ports %d+1…%d+%d go past 65535", c.Port, c.Port, c.N)
		}
	}
	for _, d := range c.Dests {
		if _, _, err := net.SplitHostPort(d); err != nil {
			return c, fmt.Errorf("destination %q: want host:port", d)
		}
	}
	if c.MaxSleep < 0 {
		return c, fmt.Errorf("max-sleep %v is negative", c.MaxSleep)
	}
	if c.Late < 0 || c.Late > time.Hour {
		return c, fmt.Errorf("late %v: want a duration from 0 to 1h", c.Late)
	}
	if err := checkProbability("drop", c.Drop); err != nil {
		return c, err
	}
	if err := checkProbability("dup", c.Dup); err != nil {
		return c, err
	}
	if c.RetryFor <= 0 {
		c.RetryFor = DefaultRetryFor
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = wire.DefaultMaxMessage
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Dialers <= 0 {
		c.Dialers = DefaultDialers
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	return c, nil
}

func checkProbability(name string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("%s probability %v: want a number from 0 to 1", name, p)
	}
	return nil
}

// ParseMaxSleep reads a delay bound: a Go duration ("2s", "500ms") or a
// bare integer of milliseconds ("1500"), as the original program's
// constant was in milliseconds.
func ParseMaxSleep(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty max-sleep: want a duration such as 2s or 500ms, or milliseconds")
	}
	var d time.Duration
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms > int64(math.MaxInt64/time.Millisecond) {
			return 0, fmt.Errorf("max-sleep %q is too large", s)
		}
		d = time.Duration(ms) * time.Millisecond
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("max-sleep %q: want a duration such as 2s or 500ms, or milliseconds", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("max-sleep %q is negative", s)
	}
	return d, nil
}

// ParseProbability reads a fault-injection probability from 0 to 1.
func ParseProbability(name, s string) (float64, error) {
	p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a number from 0 to 1", name, s)
	}
	if err := checkProbability(name, p); err != nil {
		return 0, err
	}
	return p, nil
}
