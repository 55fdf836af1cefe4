// Command smoke is the real-window smoke test; it needs Xvfb and xdotool
// and runs on Linux (see main.go). On Windows it says so and exits 0.
package main

import "fmt"

func main() {
	fmt.Println("smoke: skipped on Windows: the real-window smoke test needs Xvfb and xdotool (Linux)")
}
