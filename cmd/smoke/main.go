// Command smoke is the real-window smoke test (run by ./run.sh test where
// Xvfb is installed): it starts the whole lab through run.sh under Xvfb,
// waits for the windows "Middleware 1".."Middleware n" and "Network",
// clicks Send in each window, waits until every window has delivered
// every message, takes a screenshot and checks it is not blank, stops the
// lab with Ctrl-C and checks that no process is left and that the events
// logs pass the order checker.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"totalorder/middleware/check"
)

func main() {
	script := flag.String("script", "./run.sh", "the launcher")
	n := flag.Int("n", 5, "middlewares")
	clicks := flag.Int("clicks", 3, "Send clicks per window")
	shot := flag.String("shot", "logs/smoke.png", "where the screenshot goes")
	maxSleep := flag.String("max-sleep", "1s", "the network program's maxSleepTime (larger: Received lists differ more)")
	flag.Parse()
	if err := run(*script, *n, *clicks, *shot, *maxSleep); err != nil {
		fmt.Fprintln(os.Stderr, "smoke: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("smoke: OK")
}

func run(script string, n, clicks int, shot, maxSleep string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	display, xvfb, err := startXvfb(ctx)
	if err != nil {
		return err
	}
	defer func() { xvfb.Process.Kill(); xvfb.Wait() }()
	env := append(os.Environ(), "DISPLAY="+display, "LANG=C", "LC_ALL=")

	var out bytes.Buffer
	labCmd := exec.Command(script, "-max-sleep", maxSleep, "-n", strconv.Itoa(n))
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
		if !stopped {
			syscall.Kill(-labCmd.Process.Pid, syscall.SIGKILL)
			<-labDone
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
			// The Send button is the first in the toolbar, top left.
			if err := xdo(env, "mousemove", "--window", wins[fmt.Sprintf("Middleware %d", i)], "45", "22", "click", "1"); err != nil {
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
	case <-labDone:
		stopped = true
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

func startXvfb(ctx context.Context) (string, *exec.Cmd, error) {
	for d := 99; d < 140; d++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", d)); err == nil {
			continue
		}
		display := ":" + strconv.Itoa(d)
		cmd := exec.CommandContext(ctx, "Xvfb", display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp")
		if err := cmd.Start(); err != nil {
			return "", nil, fmt.Errorf("Xvfb: %v", err)
		}
		for k := 0; k < 100; k++ {
			if exec.Command("xdpyinfo", "-display", display).Run() == nil {
				return display, cmd, nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	return "", nil, errors.New("could not start Xvfb on any display :99..:139")
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
			return "", fmt.Errorf("the lab exited (%v) before window %q appeared:\n%s", err, name, out.String())
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
