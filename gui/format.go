package gui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"totalorder/middleware"
	"totalorder/middleware/core"
)

// statusLines renders a Status as the window's two status lines: who is
// who and what is connected, then the counters.
func statusLines(s middleware.Status) (membership, counters string) {
	var b strings.Builder
	b.WriteString(s.Protocol)
	// Only a protocol where one member orders for all has a leader to
	// show: raft's leader, the sequencer.
	if p := core.Protocol(s.Protocol); p.HasLeader() {
		role := "sequencer"
		if p == core.Raft {
			role = "leader"
		}
		switch {
		case s.Leader == 0:
			b.WriteString(" · " + role + " unknown")
		case s.Leader == s.ID:
			fmt.Fprintf(&b, " · %s %d (this one)", role, s.Leader)
		default:
			fmt.Fprintf(&b, " · %s %d", role, s.Leader)
		}
		if s.Term > 0 {
			fmt.Fprintf(&b, ", term %d", s.Term)
		}
	}
	if s.Isolated {
		b.WriteString(" · CUT OFF from peers")
	}
	b.WriteString(" · alive")
	if len(s.Alive) == 0 {
		b.WriteString(" none known")
	}
	for _, id := range s.Alive {
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(id))
	}
	fmt.Fprintf(&b, " · peers %d/%d", s.PeersUp, s.Peers)
	if s.NetworkUp {
		b.WriteString(" · network up")
	} else {
		b.WriteString(" · network DOWN")
	}
	if s.NetQueued > 0 {
		fmt.Fprintf(&b, " (%d queued)", s.NetQueued)
	}
	for _, w := range s.Warnings { // a peer that came back without its state
		b.WriteString(" · " + w)
	}
	membership = b.String()

	// The latency shown is how long ordering held the last delivery back
	// after its content arrived: 0 when the order was already there.
	holdBack := "–"
	if s.Ready > 0 {
		holdBack = "0s"
		if s.LastLatency > 0 {
			holdBack = formatLatency(s.LastLatency)
		}
	}
	sent := strconv.Itoa(s.Sent)
	if s.Held > 0 {
		sent += fmt.Sprintf(" (+%d waiting)", s.Held)
	}
	received := strconv.Itoa(s.Received)
	var how []string
	if s.Recovered > 0 {
		how = append(how, fmt.Sprintf("%d recovered", s.Recovered))
	}
	if s.Foreign > 0 {
		how = append(how, fmt.Sprintf("%d not announced by any middleware of this lab: never delivered", s.Foreign))
	}
	if len(how) > 0 {
		received += " (" + strings.Join(how, ", ") + ")"
	}
	counters = fmt.Sprintf("sent %s · received %s · ready %d · pending %d · last held back %s",
		sent, received, s.Ready, s.Pending, holdBack)
	if s.Waiting != "" {
		counters = s.Waiting + " · " + counters
	}
	if s.EventsLog != "" {
		counters += " · " + s.EventsLog
	}
	return membership, counters
}

// formatLatency keeps three significant figures or so: "850µs", "12.3ms",
// "1.25s".
func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 100*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d < 10*time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// formatMaxSleep writes a duration in a form the network window's entry
// accepts back: "2s", "1500ms", or exactly (time.Duration.String) when
// finer than a millisecond.
func formatMaxSleep(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	if d%time.Millisecond == 0 {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return d.String()
}

// formatCount groups digits by thousands ("1,234,567") so that counters
// that change several times a second stay readable.
func formatCount(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
