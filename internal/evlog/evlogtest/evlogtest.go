// Package evlogtest holds the test doubles the events log's tests share
// (the writer's own, and the middleware's over it).
package evlogtest

import (
	"bytes"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"
)

// FullDisk is a file that can run out of space: while Full it fails its
// next Failures writes outright, then writes at most Room bytes and fails
// with ENOSPC.
type FullDisk struct {
	Data        []byte
	Full        bool
	Room        int
	TruncateErr error
	Failures    int
}

func (d *FullDisk) Write(p []byte) (int, error) {
	if d.Full && d.Failures > 0 {
		d.Failures--
		d.Full = d.Failures > 0
		return 0, &os.PathError{Op: "write", Path: "events.jsonl", Err: syscall.ENOSPC}
	}
	if !d.Full {
		d.Data = append(d.Data, p...)
		return len(p), nil
	}
	k := min(d.Room, len(p))
	d.Data = append(d.Data, p[:k]...)
	d.Room -= k
	return k, &os.PathError{Op: "write", Path: "events.jsonl", Err: syscall.ENOSPC}
}

func (d *FullDisk) Truncate(size int64) error {
	if d.TruncateErr != nil {
		return d.TruncateErr
	}
	d.Data = d.Data[:size]
	return nil
}

func (d *FullDisk) Stat() (os.FileInfo, error) { return Size(int64(len(d.Data))), nil }
func (d *FullDisk) Close() error               { return nil }

// Size is the information of a file of n bytes, for other doubles' Stat.
func Size(n int64) os.FileInfo { return sizeInfo{n} }

type sizeInfo struct{ size int64 }

func (s sizeInfo) Name() string       { return "events.jsonl" }
func (s sizeInfo) Size() int64        { return s.size }
func (s sizeInfo) Mode() os.FileMode  { return 0o644 }
func (s sizeInfo) ModTime() time.Time { return time.Time{} }
func (s sizeInfo) IsDir() bool        { return false }
func (s sizeInfo) Sys() any           { return nil }

// Lines parses every line of data; it fails on any that is not whole.
func Lines(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("the file ends in half a line: %q", data[max(0, len(data)-60):])
	}
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("not a whole JSON line: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// LinesAfter parses the lines after the first before whole ones, once the
// disk has room again. When the writer could not truncate the half line a
// full disk left (truncateFails), that fragment is line before+1, on a line
// of its own (never glued to the next, never an empty line), and is
// skipped; every other line must be whole.
func LinesAfter(t *testing.T, data []byte, before int, truncateFails bool) []map[string]any {
	t.Helper()
	if !truncateFails {
		return Lines(t, data)[before:]
	}
	if bytes.Contains(data, []byte("\n\n")) {
		t.Fatalf("an empty line where the fragment was cut: %q", data)
	}
	parts := bytes.SplitN(data, []byte("\n"), before+2)
	if len(parts) < before+2 {
		t.Fatalf("%d lines, want the %d whole ones, the fragment and more: %q", len(parts), before, data)
	}
	if json.Valid(parts[before]) {
		t.Fatalf("expected the fragment as line %d, got %q", before+1, parts[before])
	}
	return Lines(t, parts[before+1])
}
