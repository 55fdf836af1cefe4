package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"slices"
	"testing"
	"time"
)

var testFiles = []file{
	{name: "lab/run.sh", mode: 0o755, content: []byte("#!/bin/sh\n")},
	{name: "lab/bin/netsim", mode: 0o755, content: []byte("program")},
	{name: "lab/README.txt", mode: 0o644, content: []byte("read me\n")},
}

// The same files give the same bytes, in whatever order they come, and
// the archive holds them sorted after their folders, with the date and
// modes given and no owner.
func TestArchivesAreReproducible(t *testing.T) {
	date := time.Unix(1700000000, 0)
	reversed := []file{testFiles[2], testFiles[1], testFiles[0]}
	want := []string{"lab/", "lab/README.txt", "lab/bin/", "lab/bin/netsim", "lab/run.sh"}

	a, err := writeTarGz(testFiles, date)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := writeTarGz(reversed, date)
	if !bytes.Equal(a, b) {
		t.Error("tar.gz: the same files in another order give other bytes")
	}
	gz, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if !gz.ModTime.IsZero() || gz.Name != "" {
		t.Errorf("gzip header has time %v, name %q; want none", gz.ModTime, gz.Name)
	}
	tr := tar.NewReader(gz)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
		if !h.ModTime.Equal(date) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: time %v uid %d gid %d %q %q; want %v and 0 0 with no names", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname, date)
		}
		if h.Name == "lab/run.sh" && h.Mode != 0o755 || h.Name == "lab/README.txt" && h.Mode != 0o644 {
			t.Errorf("%s: mode %o", h.Name, h.Mode)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("tar entries %q, want %q", got, want)
	}

	z1, err := writeZip(testFiles, date)
	if err != nil {
		t.Fatal(err)
	}
	z2, _ := writeZip(reversed, date)
	if !bytes.Equal(z1, z2) {
		t.Error("zip: the same files in another order give other bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(z1), int64(len(z1)))
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, f := range zr.File {
		got = append(got, f.Name)
		if !f.Modified.Equal(date) {
			t.Errorf("%s: time %v, want %v", f.Name, f.Modified, date)
		}
		if f.Name == "lab/run.sh" && f.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v", f.Name, f.Mode())
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("zip entries %q, want %q", got, want)
	}
	if later, _ := writeZip(testFiles, date.Add(time.Second)); bytes.Equal(later, z1) {
		t.Error("zip: another date gives the same bytes: the date is not in it")
	}
}

func TestNumericVersion(t *testing.T) {
	for v, want := range map[string]string{
		"1.2.3":                  "1,2,3,0",
		"1.0.0-rc1":              "1,0,0,0",
		"0.0.0-20261206-3d2c42d": "0,0,0,0",
		"2.1":                    "2,1,0,0",
		"99999.1.1":              "0,1,1,0",
		"1.2.3+build.5":          "1,2,3,0",
	} {
		if got := numericVersion(v); got != want {
			t.Errorf("numericVersion(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestCRLF(t *testing.T) {
	if got := string(crlf([]byte("a\nb\r\nc"))); got != "a\r\nb\r\nc" {
		t.Errorf("crlf = %q", got)
	}
}
