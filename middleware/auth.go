package middleware

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Authenticated control links.
//
// A lab has a group secret (the -group-key-file). Every control link starts
// with a mutual challenge–response in which both ends prove they hold the
// secret, before the acceptor takes a single control line from it. The
// dialer D (id d) connects to the acceptor A (id a); three lines follow,
// each ending in "\n":
//
//	D → A  TOM-AUTH1 HELLO <d> <a> <run> <nonceD>
//	A → D  TOM-AUTH1 CHALLENGE <nonceA> <macA>
//	D → A  TOM-AUTH1 PROOF <macD>
//
// then D writes control lines (core's encoding) and A only reads them, as
// before. <run> is D's incarnation id ("-" for none); the nonces are 16
// fresh bytes from crypto/rand, in lower-case hex; the MACs are
// HMAC-SHA256 with the group secret as key, in lower-case hex, over
//
//	"TOM-AUTH1" 0 role 0 d 0 a 0 run 0 nonceD 0 nonceA
//
// (0 is a zero byte; ids in decimal) with role "acceptor" for macA and
// "dialer" for macD. D checks macA before it sends anything else, A checks
// macD before it reads further; both compare in constant time.
//
// What this gives: a fresh nonce from each side means no recorded
// transcript can be replayed; the role, and both ids in a fixed order,
// mean a MAC one side computed can never serve as the other side's (no
// reflection), nor for another pair of middlewares. A stranger learns
// nothing from A's challenge it could use: it is a MAC for the acceptor
// role over a nonce A drew. It does not protect a link from someone who
// can sit on the path between two middlewares and relay or rewrite the
// TCP stream (that would need TLS); on loopback and on a lab network that
// is not the threat.
//
// A connection that does not finish the handshake within the handshake
// timeout (2 s by default) is closed. At most MaxHandshakes connections
// may be in the handshake at once: a new one beyond that closes the one
// that has waited longest without sending a HELLO (or, if all have, the
// one that has waited longest), so a flood of idle connections cannot
// keep a real peer out (a real peer sends its HELLO at once and finishes
// in one round trip). Authenticated links have a cap of their own
// (MaxConns).

const (
	authVersion = "TOM-AUTH1"
	nonceBytes  = 16
	// maxHandshakeLine bounds a handshake line (the longest is HELLO).
	maxHandshakeLine = 512
	// DefaultHandshakeTimeout is how long a connection to the control
	// port has to prove the group secret.
	DefaultHandshakeTimeout = 2 * time.Second
	// DefaultMaxHandshakes caps the connections in the handshake at once.
	DefaultMaxHandshakes = 64
	// dialHandshakeTimeout is how long a dialer waits for the challenge.
	dialHandshakeTimeout = 5 * time.Second
	// minKeyBytes is the shortest group secret accepted from a file.
	minKeyBytes = 16
)

// defaultGroupKey is the well-known secret a middleware uses when it is
// given none: the handshake runs the same way, but anyone who reads this
// source can join. It is only allowed on loopback.
var defaultGroupKey = []byte("totalorder lab: well-known default group secret, not a secret")

// errNotMember is the dialer's error when the peer fails to prove the
// secret (its MAC is wrong): a different key file, or not our peer at all.
var errNotMember = errors.New("it did not prove this lab's group secret (started with another -group-key-file, or not a middleware of this lab)")

// authMAC is the MAC of one handshake role over the link's parameters.
func authMAC(key []byte, role string, dialer, acceptor int, run, nonceD, nonceA string) []byte {
	m := hmac.New(sha256.New, key)
	for i, part := range []string{authVersion, role, strconv.Itoa(dialer), strconv.Itoa(acceptor), run, nonceD, nonceA} {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(part))
	}
	return m.Sum(nil)
}

// checkMAC compares a hex MAC from the wire with the expected one in
// constant time.
func checkMAC(got string, want []byte) bool {
	b, err := hex.DecodeString(got)
	if err != nil || len(b) != sha256.Size {
		return false
	}
	return hmac.Equal(b, want)
}

func newNonce() (string, error) {
	var b [nonceBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("no randomness for a nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// isNonce checks a nonce from the wire: exactly nonceBytes in lower-case hex.
func isNonce(s string) bool {
	if len(s) != 2*nonceBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// runToken writes a run id as one word ("-" for none or unwritable).
func runToken(run string) string {
	if run == "" || len(run) > 64 || strings.ContainsAny(run, " \n\r\t\x00") {
		return "-"
	}
	return run
}

// handshakeLine reads one handshake line and splits it into words after
// checking the version prefix and the verb.
func handshakeLine(br *bufio.Reader, verb string, words int) ([]string, error) {
	line, _, err := readLine(br, nil, maxHandshakeLine)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(line))
	switch {
	case len(f) >= 2 && f[0] == "HELLO":
		return nil, fmt.Errorf("sent an unauthenticated hello %.40q (a middleware from before authenticated links, or a stranger)", line)
	case len(f) < 2 || f[0] != authVersion:
		return nil, fmt.Errorf("expected %q, got %.40q", authVersion+" "+verb, line)
	case f[1] != verb || len(f) != words:
		return nil, fmt.Errorf("expected %s with %d words, got %.60q", verb, words, line)
	}
	return f, nil
}

// acceptHandshake runs the acceptor's side on a new connection: it reads
// HELLO, answers with CHALLENGE and checks PROOF. It returns the dialer's
// id and run once the dialer has proved the secret. hello, if not nil, is
// called once a well-formed HELLO has arrived. The caller sets the
// deadline.
func acceptHandshake(conn net.Conn, br *bufio.Reader, key []byte, self, n int, hello func()) (from int, run string, err error) {
	f, err := handshakeLine(br, "HELLO", 6)
	if err != nil {
		return 0, "", err
	}
	from, err = strconv.Atoi(f[2])
	if err != nil || from < 1 || from > n {
		return 0, "", fmt.Errorf("HELLO from id %.20q: want 1..%d", f[2], n)
	}
	if from == self {
		return 0, "", fmt.Errorf("HELLO from id %d, which is this middleware's own id: two middlewares share an id?", from)
	}
	if to, err := strconv.Atoi(f[3]); err != nil || to != self {
		return 0, "", fmt.Errorf("HELLO for id %.20q, but this is Middleware %d: wrong -peers address?", f[3], self)
	}
	run, nonceD := f[4], f[5]
	if !isNonce(nonceD) {
		return 0, "", errors.New("HELLO with a malformed nonce")
	}
	if hello != nil {
		hello()
	}
	nonceA, err := newNonce()
	if err != nil {
		return 0, "", err
	}
	macA := authMAC(key, "acceptor", from, self, run, nonceD, nonceA)
	if _, err := fmt.Fprintf(conn, "%s CHALLENGE %s %x\n", authVersion, nonceA, macA); err != nil {
		return 0, "", err
	}
	f, err = handshakeLine(br, "PROOF", 3)
	if err != nil {
		return 0, "", err
	}
	if !checkMAC(f[2], authMAC(key, "dialer", from, self, run, nonceD, nonceA)) {
		return 0, "", fmt.Errorf("claimed to be Middleware %d but did not prove the group secret", from)
	}
	if run == "-" {
		run = ""
	}
	return from, run, nil
}

// dialHandshake runs the dialer's side on a new connection to peer. It
// returns errNotMember (wrapped) when the peer's answer is well-formed but
// does not prove the secret. The caller sets the deadline.
func dialHandshake(conn net.Conn, br *bufio.Reader, key []byte, self, peer int, run string) error {
	nonceD, err := newNonce()
	if err != nil {
		return err
	}
	run = runToken(run)
	if _, err := fmt.Fprintf(conn, "%s HELLO %d %d %s %s\n", authVersion, self, peer, run, nonceD); err != nil {
		return err
	}
	f, err := handshakeLine(br, "CHALLENGE", 4)
	if err != nil {
		return err
	}
	if !isNonce(f[2]) || !checkMAC(f[3], authMAC(key, "acceptor", self, peer, run, nonceD, f[2])) {
		return errNotMember
	}
	macD := authMAC(key, "dialer", self, peer, run, nonceD, f[2])
	_, err = fmt.Fprintf(conn, "%s PROOF %x\n", authVersion, macD)
	return err
}

// handshakeGate holds the connections that have not finished the
// handshake. When max are waiting, a new one closes the oldest that has
// not even sent a well-formed HELLO, or else the oldest: a flood of idle
// connections only pushes out its own, never a peer that has said hello.
type handshakeGate struct {
	mu      sync.Mutex
	max     int
	waiting []gateEntry // oldest first
}

type gateEntry struct {
	c       net.Conn
	greeted bool // sent a well-formed HELLO
}

// enter registers c; it reports whether an older connection was closed to
// make room.
func (g *handshakeGate) enter(c net.Conn) (evicted bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) >= max(1, g.max) {
		k := 0
		for i, w := range g.waiting {
			if !w.greeted {
				k = i
				break
			}
		}
		g.waiting[k].c.Close()
		g.waiting = append(g.waiting[:k], g.waiting[k+1:]...)
		evicted = true
	}
	g.waiting = append(g.waiting, gateEntry{c: c})
	return evicted
}

// greeted marks c as having sent a well-formed HELLO.
func (g *handshakeGate) greeted(c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.waiting {
		if g.waiting[i].c == c {
			g.waiting[i].greeted = true
		}
	}
}

// leave unregisters c; it reports false if c had been closed to make room.
func (g *handshakeGate) leave(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, w := range g.waiting {
		if w.c == c {
			g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// LoadGroupKey reads the group secret from path. On Unix it refuses a
// file that other users may read. Surrounding white space is ignored.
func LoadGroupKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("group key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("group key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("group key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("group key file %s can be read by other users (mode %04o): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("group key file %s: %w", path, err)
	}
	key := bytes.TrimSpace(b)
	if len(key) < minKeyBytes {
		return nil, fmt.Errorf("group key file %s holds %d bytes: want at least %d (for example 64 hex digits; middleware -new-group-key-file makes one)", path, len(key), minKeyBytes)
	}
	return key, nil
}

// WriteGroupKey writes a fresh random group secret (32 bytes, in hex) to
// path, readable by the user only, replacing any file there.
func WriteGroupKey(path string) error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("group key: no randomness: %w", err)
	}
	// Remove first: an existing file would keep its (maybe wider) mode.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("group key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("group key file: %w", err)
	}
	_, err = fmt.Fprintf(f, "%x\n", b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("group key file %s: %w", path, err)
	}
	return nil
}

// isLoopbackHost reports whether host (a name or address) stays on this
// machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
