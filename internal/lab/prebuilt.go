package lab

import (
	"context"
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

// Programs is the folder of the network program and the middleware to run:
// a download's prebuilt ones (Prebuilt), else a fresh build into a
// temporary folder, which done removes. building, if not nil, is called
// before a build, which takes a while.
func Programs(ctx context.Context, building func()) (dir string, done func(), err error) {
	if dir, ok := Prebuilt(); ok {
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "lab-bin")
	if err != nil {
		return "", nil, err
	}
	if building != nil {
		building()
	}
	if err := Build(ctx, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}
