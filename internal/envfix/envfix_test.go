package envfix_test

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	_ "fyne.io/fyne/v2/lang" // reads the locale in its init: envfix's must run first

	_ "totalorder/internal/envfix"
)

const self = "totalorder/internal/envfix"

// TestNoFyneLocaleError runs this test binary (which links Fyne's lang
// and envfix, as the lab's programs do) under LANG=C.UTF-8 and looks at
// what it printed before any test ran. Without envfix, or with its init
// running after lang's, Fyne logs "Error parsing user locale".
func TestNoFyneLocaleError(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("Fyne reads the locale from the environment only on Linux and the BSDs")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Contains(string(out), "locale") {
		t.Fatalf("the user would see:\n%s", out)
	}
}

// TestInitOrder checks what the package comment's argument rests on: the
// package and everything it imports sort before unicode/utf8, which
// Fyne's lang imports (indirectly). It checks the packages as Linux
// builds them, on every system: the argument matters only where Fyne
// reads the locale from the environment (Linux and the BSDs), and on
// Windows syscall itself imports unicode/utf16 and unicode/utf8, which
// sort after this package (harmless there: Fyne does not read the
// environment's locale).
func TestInitOrder(t *testing.T) {
	deps := goListDeps(t, self)
	for _, d := range deps {
		if d != self && d != "unsafe" && d >= self {
			t.Errorf("%s imports %s, which sorts after it: its init may then run after Fyne's (see the package comment)", self, d)
		}
	}
	if !(self < "unicode/utf8") {
		t.Errorf("%s does not sort before unicode/utf8", self)
	}
	if !slices.Contains(goListDeps(t, "fyne.io/fyne/v2/lang"), "unicode/utf8") {
		t.Errorf("fyne.io/fyne/v2/lang no longer needs unicode/utf8: check the package comment's argument again")
	}
}

// goListDeps lists pkg and everything it imports, as built for Linux.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	cmd := exec.Command(goTool, "list", "-deps", pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("GOOS=linux go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}
