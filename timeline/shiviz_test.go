package timeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// shivizEvent is one event as ShiViz parses it.
type shivizEvent struct {
	host  string
	clock map[string]uint64
	desc  string
}

// checkShiViz applies ShiViz's rules to a log: the first line is the
// parser regex (with the host, clock and event groups), the second the
// (empty) executions delimiter; every event matches it, its clock is a
// JSON object holding its own host; a host's own entry is 1 at its first
// event and grows by one per event; no entry of a host decreases along a
// host's events; every host named in a clock has events, and no clock
// claims more of a host's events than that host has.
func checkShiViz(log string) ([]shivizEvent, error) {
	first, rest, ok := strings.Cut(log, "\n")
	if !ok || first != ShiVizRegex {
		return nil, fmt.Errorf("first line %q, want the parser regex", first)
	}
	for _, g := range []string{"(?<host>", "(?<clock>", "(?<event>"} {
		if !strings.Contains(first, g) {
			return nil, fmt.Errorf("regex lacks %s", g)
		}
	}
	delim, body, ok := strings.Cut(rest, "\n")
	if !ok || delim != "" {
		return nil, fmt.Errorf("second line %q, want it empty (no executions delimiter)", delim)
	}
	// JavaScript's (?<name>) is Go's (?P<name>).
	re := regexp.MustCompile(strings.ReplaceAll(first, "(?<", "(?P<"))
	matches := re.FindAllStringSubmatch(body, -1)
	if len(matches) == 0 {
		return nil, fmt.Errorf("the regex matches no event")
	}
	if got, want := len(matches)*2, strings.Count(strings.TrimRight(body, "\n"), "\n")+1; got != want {
		return nil, fmt.Errorf("%d events match in %d lines: some lines are not events", len(matches), want)
	}
	var evs []shivizEvent
	own := map[string]uint64{}
	last := map[string]map[string]uint64{}
	for i, mt := range matches {
		host, clockText, desc := mt[re.SubexpIndex("host")], mt[re.SubexpIndex("clock")], mt[re.SubexpIndex("event")]
		var clock map[string]uint64
		if err := json.Unmarshal([]byte(clockText), &clock); err != nil {
			return nil, fmt.Errorf("event %d: clock %s: %v", i, clockText, err)
		}
		v, ok := clock[host]
		if !ok {
			return nil, fmt.Errorf("event %d (%s): the clock lacks its own host", i, desc)
		}
		if v != own[host]+1 {
			return nil, fmt.Errorf("event %d (%s): own entry %d after %d, want +1", i, desc, v, own[host])
		}
		own[host] = v
		for h, x := range clock {
			if x == 0 {
				return nil, fmt.Errorf("event %d: zero entry for %s", i, h)
			}
		}
		for h, x := range last[host] {
			if clock[h] < x {
				return nil, fmt.Errorf("event %d (%s): entry %s went back from %d to %d", i, desc, h, x, clock[h])
			}
		}
		last[host] = clock
		evs = append(evs, shivizEvent{host, clock, desc})
	}
	for _, e := range evs {
		for h, x := range e.clock {
			if own[h] == 0 {
				return nil, fmt.Errorf("host %s is in a clock but has no events", h)
			}
			if x > own[h] {
				return nil, fmt.Errorf("a clock claims %s's event %d of %d", h, x, own[h])
			}
		}
	}
	return evs, nil
}

func TestShiVizFollowsTheRules(t *testing.T) {
	m := loadRun1(t)
	var buf bytes.Buffer
	if err := WriteShiViz(&buf, m); err != nil {
		t.Fatal(err)
	}
	evs, err := checkShiViz(buf.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	find := func(host, prefix string) shivizEvent {
		t.Helper()
		for _, e := range evs {
			if e.host == host && strings.HasPrefix(e.desc, prefix) {
				return e
			}
		}
		t.Fatalf("no event %q on %s", prefix, host)
		return shivizEvent{}
	}
	// Causality: A's send → its accept → its receive at M2; B's recovered
	// receive at M3 comes from B's send; control order M1 → M3.
	sendA := find("Middleware1", "send "+msgA)
	accA := find("Network", "accept "+msgA)
	recvA2 := find("Middleware2", "receive "+msgA)
	if accA.clock["Middleware1"] < sendA.clock["Middleware1"] || recvA2.clock["Network"] < accA.clock["Network"] {
		t.Errorf("A's path is not causal: send %v accept %v receive %v", sendA.clock, accA.clock, recvA2.clock)
	}
	if !strings.Contains(recvA2.desc, "after 900 ms") {
		t.Errorf("receive description %q does not give the delay", recvA2.desc)
	}
	sendB := find("Middleware2", "send "+msgB)
	recB3 := find("Middleware3", "receive (recovered) "+msgB)
	if recB3.clock["Middleware2"] < sendB.clock["Middleware2"] {
		t.Errorf("recovered B at M3 %v does not follow B's send %v", recB3.clock, sendB.clock)
	}
	find("Middleware3", "ready #2 "+msgB)
	ord := find("Middleware1", "control order to Middleware 3")
	in := find("Middleware3", "control order from Middleware 1")
	if in.clock["Middleware1"] < ord.clock["Middleware1"] {
		t.Errorf("control receive %v does not follow its send %v", in.clock, ord.clock)
	}
	hosts := map[string]bool{}
	for _, e := range evs {
		hosts[e.host] = true
	}
	if len(hosts) != 4 {
		t.Errorf("hosts %v, want Network and three middlewares", hosts)
	}
}

// The checker must be able to fail: logs that break each rule.
func TestShiVizCheckerRejectsBrokenLogs(t *testing.T) {
	head := ShiVizRegex + "\n\n"
	for name, log := range map[string]string{
		"no regex":      "\nA {\"A\":1}\nx\n",
		"own missing":   head + "A {\"B\":1}\nx\nB {\"B\":1}\ny\n",
		"own skips":     head + "A {\"A\":1}\nx\nA {\"A\":3}\ny\n",
		"ghost host":    head + "A {\"A\":1, \"C\":1}\nx\n",
		"goes back":     head + "B {\"B\":1}\nb\nA {\"A\":1, \"B\":1}\nx\nA {\"A\":2}\ny\n",
		"not an event":  head + "A {\"A\":1}\nx\nstray\n",
		"claims future": head + "A {\"A\":1, \"B\":2}\nx\nB {\"B\":1}\ny\n",
	} {
		if _, err := checkShiViz(log); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A larger run, with clocks of the same instant and receives that come
// "before" their send (another machine's clock): still valid.
func TestShiVizOfAGeneratedRun(t *testing.T) {
	m := NewModel(5, Limits{})
	feed(m, 300, 0, 1000)
	// A receive logged 1 ms before its send (clock skew).
	msg := m.Messages()[7]
	msg.Copies[3].Recv = msg.Sent - 1000
	msg.Accepted = 0
	var buf bytes.Buffer
	if err := WriteShiViz(&buf, m); err != nil {
		t.Fatal(err)
	}
	evs, err := checkShiViz(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	// 300 sends, 299 accepts, 5 receives and 5 readies each.
	if want := 300 + 299 + 300*5*2; len(evs) != want {
		t.Errorf("%d events, want %d", len(evs), want)
	}
}
