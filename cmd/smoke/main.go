//go:build !windows

// Command smoke is the real-window smoke test (run by ./run.sh test where
// Xvfb is installed): it starts the whole lab through run.sh under Xvfb,
// waits for the windows "Middleware 1".."Middleware n" and "Network",
// clicks Send in each window, waits until every window has delivered
// every message, takes a screenshot and checks it is not blank, stops the
// lab with Ctrl-C and checks that no process is left and that the events
// logs pass the order checker. It runs the lab on free ports (-port,
// -control-base) so that a lab already running is not in the way, and
// stops its Xvfb gracefully, so no display is left behind.
//
// Unix only (Xvfb, xdotool, process groups): on Windows it says so and
// exits 0.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"totalorder/internal/version"
	"totalorder/internal/xvfb"
	"totalorder/middleware/check"
)

func main() {
	script := flag.String("script", "./run.sh", "the launcher")
	n := flag.Int("n", 5, "middlewares")
	clicks := flag.Int("clicks", 3, "Send clicks per window")
	shot := flag.String("shot", "logs/smoke.png", "where the screenshot goes")
	maxSleep := flag.String("max-sleep", "1s", "the network program's maxSleepTime (larger: Received lists differ more)")
	port := flag.Int("port", 0, "the network program's port (0: free ports found here)")
	controlBase := flag.Int("control-base", 0, "control ports are this plus 1..n (0: free ports found here)")
	version.Flag(nil, "smoke")
	flag.Parse()
	if *port == 0 || *controlBase == 0 {
		p, c, err := freePorts(*n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
			os.Exit(1)
		}
		if *port == 0 {
			*port = p
		}
		if *controlBase == 0 {
			*controlBase = c
		}
	}
	if _, err := exec.LookPath("pgrep"); err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL: pgrep is missing, so leftover processes cannot be checked (apt-get install procps)")
		os.Exit(1)
	}
	if err := run(*script, *n, *clicks, *shot, *maxSleep, *port, *controlBase); err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("smoke: OK")
}

func run(script string, n, clicks int, shot, maxSleep string, port, controlBase int) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	x, err := xvfb.Start(1920, 1080)
	if err != nil {
		return err
	}
	defer func() {
		if e := x.Stop(); e != nil && err == nil {
			err = e
		}
	}()
	display := x.Display
	// Fyne's preferences of its own, so that a lab running at the same
	// time (same app IDs) does not write them under this one.
	config, err := os.MkdirTemp("", "smoke-config-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(config)
	env := append(os.Environ(), "DISPLAY="+display, "LANG=C", "LC_ALL=", "XDG_CONFIG_HOME="+config)

	var out bytes.Buffer
	labCmd := exec.Command(script, "-max-sleep", maxSleep, "-n", strconv.Itoa(n),
		"-port", strconv.Itoa(port), "-control-base", strconv.Itoa(controlBase))
	labCmd.Env = env
	labCmd.Stdout, labCmd.Stderr = &out, &out
	labCmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := labCmd.Start(); err != nil {
		return err
	}
	labDone := make(chan error, 1)
	go func() { labDone <- labCmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped { // a failure: stop the lab as Ctrl-C would; kill only if that does not work
			syscall.Kill(-labCmd.Process.Pid, syscall.SIGINT)
			select {
			case <-labDone:
			case <-time.After(20 * time.Second):
				syscall.Kill(-labCmd.Process.Pid, syscall.SIGKILL)
				<-labDone
			}
		}
	}()

	fmt.Println("smoke: waiting for the windows…")
	wins := make(map[string]string)
	names := []string{"Network"}
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("Middleware %d", i))
	}
	for _, name := range names {
		id, err := waitWindow(ctx, env, name, labDone, &out)
		if err != nil {
			return err
		}
		wins[name] = id
	}
	// No window manager under Xvfb: tile the windows so none hides another.
	for k, name := range names {
		x, y := (k%3)*640, (k/3)*540
		xdo(env, "windowmove", wins[name], strconv.Itoa(x), strconv.Itoa(y))
		xdo(env, "windowsize", wins[name], "640", "500")
	}
	time.Sleep(time.Second) // let the windows settle after moving (no event to wait for under Xvfb)
	fmt.Println("smoke: clicking Send…")
	for c := 0; c < clicks; c++ {
		for i := 1; i <= n; i++ {
			// The Send button is the first in the toolbar, under the heading.
			if err := xdo(env, "mousemove", "--window", wins[fmt.Sprintf("Middleware %d", i)], "40", "75", "click", "1"); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond) // a quick hand: messages cross in the network
		}
	}
	want := n * clicks
	deadline := time.Now().Add(60 * time.Second)
	for {
		min := -1
		for i := 1; i <= n; i++ {
			c := countEvents(fmt.Sprintf("logs/middleware-%d.jsonl", i), "ready")
			if min < 0 || c < min {
				min = c
			}
		}
		if min >= want {
			break
		}
		if time.Now().After(deadline) {
			sent := 0
			for i := 1; i <= n; i++ {
				sent += countEvents(fmt.Sprintf("logs/middleware-%d.jsonl", i), "sent")
			}
			return fmt.Errorf("after %d clicks per window, %d sent in all and the slowest window has only %d of %d ready\n%s", clicks, sent, min, want, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // one more repaint of every window before the picture
	os.MkdirAll(filepath.Dir(shot), 0o755)
	if b, err := exec.Command("import", "-display", display, "-window", "root", shot).CombinedOutput(); err != nil {
		return fmt.Errorf("screenshot: %v: %s", err, b)
	}
	if err := notBlank(shot); err != nil {
		return err
	}
	fmt.Println("smoke: screenshot", shot)
	if err := timelineShot(ctx, env, display, script, shot); err != nil {
		return err
	}

	fmt.Println("smoke: stopping the lab with Ctrl-C…")
	syscall.Kill(-labCmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-labDone:
		stopped = true
		if err != nil {
			return fmt.Errorf("the lab stopped with %v after Ctrl-C (want status 0)\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		return fmt.Errorf("the lab did not stop within 20 s of Ctrl-C\n%s", out.String())
	}
	// run.sh and everything it started share its process group.
	if left, _ := exec.Command("pgrep", "-g", strconv.Itoa(labCmd.Process.Pid)).Output(); len(bytes.TrimSpace(left)) > 0 {
		return fmt.Errorf("processes left behind after Ctrl-C: %s", strings.Join(strings.Fields(string(left)), " "))
	}
	if strings.Contains(out.String(), "Error parsing user locale") {
		return fmt.Errorf("Fyne's locale error reached the user:\n%s", out.String())
	}
	// Quiet terminals: one line per program started, the instruction
	// line, nothing else (no warnings at a clean stop). A build that takes
	// a while says so, with progress lines: a loaded machine may see them.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "started ") && !strings.HasPrefix(line, "lab running:") &&
			!strings.HasPrefix(line, "building into bin/") && !strings.HasPrefix(strings.TrimSpace(line), "… ") {
			return fmt.Errorf("the lab printed more than its start lines:\n%s", out.String())
		}
	}
	var paths []string
	for i := 1; i <= n; i++ {
		paths = append(paths, fmt.Sprintf("logs/middleware-%d.jsonl", i))
	}
	incs, _, err := check.ParseFiles(paths)
	if err != nil {
		return err
	}
	rep, err := check.Check(incs, check.Options{Agreement: true})
	if err != nil {
		return err
	}
	fmt.Println("smoke:", rep.Verdict)
	return nil
}

// timelineShot opens the Timeline over the lab's logs (its live mode, as
// the Network window's button does), waits for its window and takes a
// picture of it next to shot (smoke-timeline.png).
func timelineShot(ctx context.Context, env []string, display, script, shot string) error {
	bin := filepath.Join(filepath.Dir(script), "bin", "timeline")
	var out bytes.Buffer
	cmd := exec.Command(bin, "-live", "logs")
	cmd.Env, cmd.Stdout, cmd.Stderr = append(env, "TIMELINE_STATS=1"), &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("timeline: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-done }()
	id, err := waitWindow(ctx, env, "Timeline", done, &out)
	if err != nil {
		return err
	}
	xdo(env, "windowmove", id, "0", "0")
	xdo(env, "windowsize", id, "1600", "640")
	time.Sleep(2 * time.Second) // a few live frames (no event to wait for under Xvfb)
	path := strings.TrimSuffix(shot, filepath.Ext(shot)) + "-timeline.png"
	if b, err := exec.Command("import", "-display", display, "-window", id, path).CombinedOutput(); err != nil {
		return fmt.Errorf("timeline screenshot: %v: %s", err, b)
	}
	if err := notBlank(path); err != nil {
		return err
	}
	fmt.Println("smoke: timeline screenshot", path, strings.TrimSpace(lastLine(out.String())))
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func xdo(env []string, args ...string) error {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("xdotool %s: %v: %s", strings.Join(args, " "), err, b)
	}
	return nil
}

func waitWindow(ctx context.Context, env []string, name string, labDone chan error, out *bytes.Buffer) (string, error) {
	for {
		cmd := exec.Command("xdotool", "search", "--name", "^"+name+"$")
		cmd.Env = env
		if b, err := cmd.Output(); err == nil {
			if ids := strings.Fields(string(b)); len(ids) > 0 {
				return ids[len(ids)-1], nil
			}
		}
		select {
		case err := <-labDone:
			labDone <- err
			how := "with status 0"
			if err != nil {
				how = "with " + err.Error()
			}
			return "", fmt.Errorf("the lab stopped (%s) before window %q appeared:\n%s", how, name, out.String())
		case <-ctx.Done():
			return "", fmt.Errorf("window %q did not appear: %w\n%s", name, ctx.Err(), out.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func countEvents(path, kind string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(`"event":"`+kind+`"`))
}

// notBlank fails for a picture with almost no variety of colour.
func notBlank(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return fmt.Errorf("screenshot %s: %v", path, err)
	}
	colors := make(map[[3]uint32]bool)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colors) < 20 {
		return fmt.Errorf("screenshot %s looks blank: only %d colours", path, len(colors))
	}
	return nil
}

// freePorts finds a network port p with p..p+n free and a control base c
// with c+1..c+n free, by binding them for a moment; another program could
// take one before the lab does, which the lab then reports.
func freePorts(n int) (port, controlBase int, err error) {
	free := func(from, count int) bool {
		var held []net.Listener
		defer func() {
			for _, l := range held {
				l.Close()
			}
		}()
		for p := from; p < from+count; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				return false
			}
			held = append(held, l)
		}
		return true
	}
	for p := 18081; p+n < 30000; p += 100 {
		if port == 0 && free(p, n+1) {
			port = p
			continue
		}
		if port != 0 && free(p+1, n) {
			return port, p, nil
		}
	}
	return 0, 0, errors.New("no free ports for the lab between 18081 and 30000")
}
