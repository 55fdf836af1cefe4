// Package launcher names the lab's launcher as the user types it on the
// platform the program runs on, for messages such as "draw them: ./run.sh
// timeline demo-logs" (run.bat on Windows).
package launcher

import (
	"runtime"
	"strings"
)

// Name is the launcher on this platform: "run.bat" on Windows, "./run.sh"
// elsewhere.
func Name() string { return name(runtime.GOOS) }

func name(goos string) string {
	if goos == "windows" {
		return "run.bat"
	}
	return "./run.sh"
}

// Command is the launcher with a subcommand and its arguments, e.g.
// Command("timeline", "demo-logs"): "./run.sh timeline demo-logs", or on
// Windows "run.bat timeline demo-logs". Paths are best given with
// filepath.Join, so that they read as the platform writes them.
func Command(args ...string) string {
	return strings.Join(append([]string{Name()}, args...), " ")
}
