package multihost

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"totalorder/internal/lab"
	"totalorder/internal/testbuf"
	"totalorder/middleware/check"
)

// Addresses on the lab's subnet: the network program on .10, Middleware i
// on .i, all joined by a bridge in a namespace of its own.
const (
	subnet = "10.88.0."
	netIP  = subnet + "10"
)

func mwIP(i int) string { return subnet + strconv.Itoa(i) }

// host is one namespace joined to the bridge by a veth pair.
type host struct{ ns, ip string }

// TestAcrossHosts runs the lab as on six machines: the network program and
// five middlewares each in a network namespace with its own address, set
// up only through flags and the lab's group key. While messages flow, one middleware's host is cut
// off (its link set down) and brought back; the checker must pass.
func TestAcrossHosts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create network namespaces (sudo go test -run TestAcrossHosts ./internal/multihost/)")
	}
	ipCmd, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("skipped: the ip command (iproute2) is not installed: apt-get install -y iproute2")
	}
	const n, perSend, rounds = 5, 20, 3
	tag := strconv.Itoa(os.Getpid())
	ip := func(args ...string) error {
		if out, err := exec.Command(ipCmd, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	must := func(args ...string) {
		t.Helper()
		if err := ip(args...); err != nil {
			t.Fatal(err)
		}
	}

	// The bridge, then one namespace per host.
	bridge := "tolab-br-" + tag
	if err := ip("netns", "add", bridge); err != nil {
		t.Skipf("skipped: cannot create a network namespace here: %v", err)
	}
	t.Cleanup(func() { ip("netns", "del", bridge) })
	if err := ip("-n", bridge, "link", "add", "br0", "type", "bridge"); err != nil {
		t.Skipf("skipped: this kernel has no bridge device: %v", err)
	}
	must("-n", bridge, "link", "set", "br0", "up")
	hosts := map[string]host{"net": {"tolab-net-" + tag, netIP}}
	for i := 1; i <= n; i++ {
		hosts["mw"+strconv.Itoa(i)] = host{"tolab-mw" + strconv.Itoa(i) + "-" + tag, mwIP(i)}
	}
	k := 0
	for _, h := range hosts {
		k++
		must("netns", "add", h.ns)
		t.Cleanup(func() { ip("netns", "del", h.ns) })
		port := "p" + strconv.Itoa(k)
		must("-n", h.ns, "link", "set", "lo", "up")
		must("-n", h.ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", bridge)
		must("-n", h.ns, "addr", "add", h.ip+"/24", "dev", "eth0")
		must("-n", h.ns, "link", "set", "eth0", "up")
		must("-n", bridge, "link", "set", port, "master", "br0")
		must("-n", bridge, "link", "set", port, "up")
	}

	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := lab.Build(ctx, bin); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	// Only flags: every address is given, none defaults to loopback.
	var dests, peers []string
	for i := 1; i <= n; i++ {
		dests = append(dests, mwIP(i)+":"+strconv.Itoa(8081+i))
		peers = append(peers, fmt.Sprintf("%d=%s:%d", i, mwIP(i), 9081+i))
	}
	// The lab's group secret, the same file for every middleware.
	key := filepath.Join(dir, "lab.key")
	if out, err := exec.Command(filepath.Join(bin, "middleware"), "-new-group-key-file", key).CombinedOutput(); err != nil {
		t.Fatalf("middleware -new-group-key-file: %v: %s", err, out)
	}
	procs := &procSet{t: t, ipCmd: ipCmd}
	t.Cleanup(procs.stop)
	procs.start("netsim", hosts["net"].ns, filepath.Join(bin, "netsim"),
		"-listen", netIP, "-port", "8081", "-dests", strings.Join(dests, ","), "-max-sleep", "100ms", "-quiet")
	mws := make([]*proc, n+1)
	events := make([]string, n+1)
	for i := 1; i <= n; i++ {
		events[i] = filepath.Join(dir, fmt.Sprintf("middleware-%d.jsonl", i))
		mws[i] = procs.start(fmt.Sprintf("Middleware %d", i), hosts["mw"+strconv.Itoa(i)].ns, filepath.Join(bin, "middleware"),
			"-id", strconv.Itoa(i), "-n", strconv.Itoa(n), "-headless", "-quiet",
			"-host", mwIP(i), "-net-host", netIP, "-net-port", "8081", "-peers", strings.Join(peers, ","),
			"-group-key-file", key, "-events", events[i], "-state-dir", filepath.Join(dir, fmt.Sprintf("state-%d", i)))
	}

	total := 0
	send := func() {
		for i := 1; i <= n; i++ {
			mws[i].command("send " + strconv.Itoa(perSend))
		}
		total += n * perSend
	}
	// Messages flow; Middleware 3's host goes off the network and comes
	// back while they do.
	cut := hosts["mw3"].ns
	send()
	must("-n", cut, "link", "set", "eth0", "down")
	t.Logf("Middleware 3's host cut off")
	for range rounds - 1 {
		send()
	}
	// The majority goes on without it: at least the others' messages.
	waitReady(t, events, []int{1, 2, 4, 5}, (n-1)*perSend*rounds, 60*time.Second)
	if got := countReady(events[3]); got >= (n-1)*perSend*rounds {
		t.Fatalf("Middleware 3 delivered %d messages while cut off: the cut did not cut", got)
	}
	must("-n", cut, "link", "set", "eth0", "up")
	t.Logf("Middleware 3's host back")
	send()
	waitReady(t, events, []int{1, 2, 3, 4, 5}, total, 90*time.Second)

	procs.stop()
	incs, warnings, err := check.ParseFiles(events[1:])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Logf("events logs: %s", w)
	}
	rep, err := check.Check(incs, check.Options{Agreement: true})
	if err != nil {
		t.Fatalf("order checker: %v", err)
	}
	t.Logf("checker: %s", rep.Verdict)
}

// waitReady polls the events logs (other processes write them; there is
// no signal to wait on) until each of mws has total ready lines.
func waitReady(t *testing.T, events []string, mws []int, total int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var counts []string
		done := true
		for _, i := range mws {
			c := countReady(events[i])
			counts = append(counts, fmt.Sprintf("%d: %d", i, c))
			done = done && c >= total
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, ready messages per middleware (want %d): %s", within, total, strings.Join(counts, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countReady(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	c := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"event":"ready"`) {
			c++
		}
	}
	return c
}

// proc is one lab program running in a namespace.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *testbuf.Buffer
	done  chan struct{}
}

func (p *proc) command(line string) {
	io.WriteString(p.stdin, line+"\n")
}

// procSet owns the programs: stop ends them (SIGTERM, then SIGKILL after
// a grace) and waits for them.
type procSet struct {
	t     *testing.T
	ipCmd string
	mu    sync.Mutex
	procs []*proc
}

func (s *procSet) start(name, ns, path string, args ...string) *proc {
	s.t.Helper()
	cmd := exec.Command(s.ipCmd, append([]string{"netns", "exec", ns, path}, args...)...)
	p := &proc{name: name, cmd: cmd, out: &testbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("%s: %v", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p
}

func (s *procSet) stop() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	// ip netns exec execs the program, so the pid is the program's.
	for _, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			s.t.Errorf("%s did not stop within 10s of SIGTERM", p.name)
		}
		p.stdin.Close()
		if out := p.out.String(); out != "" {
			s.t.Logf("%s:\n%s", p.name, out)
		}
	}
}
