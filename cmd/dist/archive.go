package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"
)

// file is one entry of an archive: a slash-separated name, its mode bits
// (0o755 or 0o644) and its bytes.
type file struct {
	name    string
	mode    int64
	content []byte
}

// entries sorts files by name and adds the folders they need, each once,
// before its contents: the same list every time.
func entries(files []file) []file {
	dirs := map[string]bool{}
	var all []file
	for _, f := range files {
		for d := path.Dir(f.name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			all = append(all, file{name: d + "/", mode: 0o755})
		}
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	return all
}

// writeTarGz packs files as a gzipped tar whose bytes depend on nothing
// but the files and date: sorted entries, owner and group 0 with no
// names, every time date, no name or time in the gzip header.
func writeTarGz(files []file, date time.Time) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	for _, f := range entries(files) {
		h := &tar.Header{
			Name:    f.name,
			Mode:    f.mode,
			ModTime: date,
		}
		if f.name[len(f.name)-1] == '/' {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeZip packs files as a zip, as writeTarGz does: sorted entries, every
// time date (in UTC), Unix modes kept for unzip on Linux.
func writeZip(files []file, date time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, f := range entries(files) {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: date.UTC()}
		if f.name[len(f.name)-1] == '/' {
			h.Method = zip.Store
			h.SetMode(fs.ModeDir | 0o755)
		} else {
			h.SetMode(fs.FileMode(f.mode))
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.content); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
