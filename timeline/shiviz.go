package timeline

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ShiVizRegex is the parser regular expression written on the first line
// of a ShiViz log (the second line, the executions delimiter, is empty).
const ShiVizRegex = `(?<host>\S*) (?<clock>{.*})\n(?<event>.*)`

// ShiViz host names (a host matches \S*: no spaces).
const shivizNetwork = "Network"

func shivizHost(lane int) string {
	if lane == 0 {
		return shivizNetwork
	}
	return "Middleware" + strconv.Itoa(lane)
}

// svEvent is one event of the ShiViz log before clocks are assigned.
type svEvent struct {
	host int   // lane
	ts   int64 // µs
	rank int   // ties: sends before accepts before receives before readies
	desc string
	from *svEvent // the send this event receives, if any
	vc   []uint64 // assigned clock
	done bool
}

// WriteShiViz writes m as a ShiViz log: the parser regex, an empty
// delimiter line, then per event a line "host {clock}" and a line
// describing it. Hosts are Network and Middleware1…MiddlewareN. Each
// message is a send at its sender, received by the network program
// (accept), whose copies are received at every middleware; Ready is a
// local event; control messages, when logged, are sends and receives
// between middlewares (heartbeats left out). Clocks follow the vector clock rules ShiViz checks:
// each event carries its own host's entry, which grows by one per event
// of that host, and only hosts that have events appear.
func WriteShiViz(w io.Writer, m *Model) error {
	n := m.N
	var evs []*svEvent
	add := func(e *svEvent) *svEvent { evs = append(evs, e); return e }
	for _, msg := range m.order {
		var send, accept *svEvent
		if msg.Sent > 0 && msg.Sender >= 1 && msg.Sender <= n {
			send = add(&svEvent{host: msg.Sender, ts: msg.Sent, rank: 0, desc: "send " + msg.Text})
		}
		if msg.Accepted > 0 {
			accept = add(&svEvent{host: 0, ts: msg.Accepted, rank: 1, desc: "accept " + msg.Text, from: send})
		}
		for i := range msg.Copies {
			cp := &msg.Copies[i]
			if cp.Recv > 0 {
				e := &svEvent{host: i + 1, ts: cp.Recv, rank: 2, desc: "receive " + msg.Text}
				switch {
				case cp.Recovered:
					e.desc = "receive (recovered) " + msg.Text
					e.from = send
				case accept != nil:
					e.desc += " after " + fmtDur(max(cp.Recv-msg.Accepted, 0))
					e.from = accept
				default:
					e.from = send
				}
				add(e)
			}
			if cp.Ready > 0 {
				add(&svEvent{host: i + 1, ts: cp.Ready, rank: 3, desc: "ready #" + strconv.FormatUint(cp.Seq, 10) + " " + msg.Text})
			}
		}
	}
	for i := range m.controls {
		ct := &m.controls[i]
		if ct.From < 1 || ct.From > n || ct.To < 1 || ct.To > n || isHeartbeat(ct.Kind) {
			continue
		}
		out := add(&svEvent{host: ct.From, ts: ct.Out, rank: 0, desc: "control " + ct.Kind + " to Middleware " + strconv.Itoa(ct.To)})
		if ct.In > 0 {
			add(&svEvent{host: ct.To, ts: ct.In, rank: 2, desc: "control " + ct.Kind + " from Middleware " + strconv.Itoa(ct.From), from: out})
		}
	}
	assignClocks(evs, n)

	bw := bufio.NewWriter(w)
	bw.WriteString(ShiVizRegex + "\n\n")
	var line []byte
	for _, e := range evs {
		line = append(line[:0], shivizHost(e.host)...)
		line = append(line, " {"...)
		first := true
		for h, v := range e.vc {
			if v == 0 {
				continue
			}
			if !first {
				line = append(line, ", "...)
			}
			first = false
			line = strconv.AppendQuote(line, shivizHost(h))
			line = append(line, ':')
			line = strconv.AppendUint(line, v, 10)
		}
		line = append(line, "}\n"...)
		line = append(line, oneLine(e.desc)...)
		line = append(line, '\n')
		bw.Write(line)
	}
	return bw.Flush()
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// assignClocks gives every event its vector clock, processing each host's
// events in time order and a receive only after its send: the host whose
// next event is earliest and ready goes first. A receive whose send can
// never come first (clocks of two machines disagree) is taken as a local
// event. evs comes out in the order processed.
func assignClocks(evs []*svEvent, n int) {
	perHost := make([][]*svEvent, n+1)
	for _, e := range evs {
		perHost[e.host] = append(perHost[e.host], e)
	}
	for _, q := range perHost {
		slices.SortStableFunc(q, func(a, b *svEvent) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.rank, b.rank)) })
	}
	next := make([]int, n+1)
	clocks := make([][]uint64, n+1)
	for h := range clocks {
		clocks[h] = make([]uint64, n+1)
	}
	out := evs[:0]
	for {
		best := -1
		blocked := -1
		for h := 0; h <= n; h++ {
			if next[h] >= len(perHost[h]) {
				continue
			}
			e := perHost[h][next[h]]
			if e.from != nil && !e.from.done {
				if blocked < 0 {
					blocked = h
				}
				continue
			}
			if best < 0 {
				best = h
				continue
			}
			b := perHost[best][next[best]]
			if e.ts < b.ts || (e.ts == b.ts && e.rank < b.rank) {
				best = h
			}
		}
		if best < 0 {
			if blocked < 0 {
				break
			}
			// Every host waits for a send that waits in turn: break the
			// cycle by taking one receive as local.
			best = blocked
			perHost[best][next[best]].from = nil
		}
		e := perHost[best][next[best]]
		next[best]++
		c := clocks[best]
		if e.from != nil {
			for h, v := range e.from.vc {
				c[h] = max(c[h], v)
			}
		}
		c[best]++
		e.vc = slices.Clone(c)
		e.done = true
		out = append(out, e)
	}
}
