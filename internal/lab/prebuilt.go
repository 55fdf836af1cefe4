package lab

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Prebuilt is the folder of prebuilt headless programs that a download
// carries beside the running program (bin/headless/, holding netsim and
// middleware built without the windows), and whether there is one. With
// it, the demo and compare need no Go; without it, they Build.
func Prebuilt() (string, bool) {
	self, err := os.Executable()
	if err != nil { // e.g. no /proc in a chroot: the path it was started by
		if !strings.ContainsRune(os.Args[0], os.PathSeparator) && !strings.ContainsRune(os.Args[0], '/') {
			return "", false
		}
		self = os.Args[0]
	}
	dir := filepath.Join(filepath.Dir(self), "headless")
	ext := ""
	if runtime.GOOS == "windows" {
		ext = ".exe"
	}
	for _, name := range []string{"netsim", "middleware"} {
		if fi, err := os.Stat(filepath.Join(dir, name+ext)); err != nil || !fi.Mode().IsRegular() {
			return "", false
		}
	}
	return dir, true
}
