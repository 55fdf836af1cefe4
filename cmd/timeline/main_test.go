package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The exports of the known small run (package timeline's testdata): the
// PNG has the size asked for, the SVG and the ShiViz log are written.
func TestExports(t *testing.T) {
	dir := t.TempDir()
	pngPath, svgPath := filepath.Join(dir, "t.png"), filepath.Join(dir, "t.svg")
	var stdout, stderr bytes.Buffer
	// Flags after the logs work too.
	code := run([]string{"../../timeline/testdata/run1", "-png", pngPath, "-svg", svgPath, "-width", "800", "-height", "400", "-scale", "1.5", "-control",
		"-highlight", "Msg #1 from Middleware 2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 600 {
		t.Errorf("PNG %v, want 1200×600 (800×400 at scale 1.5)", b)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil || !strings.Contains(string(svg), "Middleware 3") || !strings.Contains(string(svg), "recovered") {
		t.Errorf("SVG: %v\n%.300s", err, svg)
	}
	if !strings.Contains(stdout.String(), "wrote "+pngPath+" (2 of 2 messages)") {
		t.Errorf("stdout %q", stdout.String())
	}
}

func TestShiVizOnly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run.log")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-shiviz", out, "../../timeline/testdata/run1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(data), `(?<host>\S*) (?<clock>{.*})\n(?<event>.*)`+"\n\n") {
		t.Errorf("ShiViz log starts %.80q", data)
	}
}

func TestMissingLogs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-png", "x.png", filepath.Join(t.TempDir(), "nothing")}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d for missing logs, want 2", code)
	}
	empty := t.TempDir()
	if code := run([]string{"-png", filepath.Join(empty, "x.png"), empty}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no messages") {
		t.Errorf("exit %d for an empty folder: %s", code, stderr.String())
	}
}
