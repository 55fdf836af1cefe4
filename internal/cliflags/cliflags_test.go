package cliflags

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

func TestFlagsAnywhere(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	q := fs.Bool("q", false, "")
	out := fs.String("o", "", "")
	pos, err := Parse(fs, []string{"a", "-q", "b", "-o", "x.png", "c"})
	if err != nil || !*q || *out != "x.png" || !slices.Equal(pos, []string{"a", "b", "c"}) {
		t.Fatalf("got %v %v q=%v o=%q", pos, err, *q, *out)
	}
}

func TestErrors(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := Parse(fs, []string{"a", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if _, err := Parse(fs, []string{"a", "-nope"}); err == nil || errors.Is(err, flag.ErrHelp) {
		t.Errorf("unknown flag: %v", err)
	}
}
