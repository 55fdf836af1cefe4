//go:build !nogui

package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Fyne logs "Error parsing user locale" from a package init, before main
// can do anything, when LANG is C.UTF-8 (usual in containers). Package
// envfix must run first; this test starts its own binary (which links
// the window, hence Fyne) under such a locale and looks at what it said.
func TestNoLocaleErrorUnderCUTF8(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=", "LC_MESSAGES=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Contains(string(out), "locale") {
		t.Fatalf("the user would see:\n%s", out)
	}
}
