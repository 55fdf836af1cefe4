package main

// The downloads, tried where nothing but the download is: the Linux
// archive in a fresh minimal Debian (debootstrap, chroot; no Go, no C
// compiler, no X11) and the Windows archive under Wine (no Go). They run
// when asked, as they need root, a network mirror or Wine, and the
// archives that ./run.sh dist wrote:
//
//	LAB_DIST_DIR=dist LAB_CHROOT_TEST=1 go test -run TestLinuxDownload -v ./cmd/dist   (as root;
//	    LAB_DEBOOTSTRAP_TARBALL=F keeps the Debian packages in F for the next run)
//	LAB_DIST_DIR=dist WINEPREFIX=... go test -run TestWindowsDownload -v ./cmd/dist
//
// Otherwise they skip and say why.

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// archive is the one download in LAB_DIST_DIR whose name ends with suffix.
func archive(t *testing.T, suffix string) string {
	t.Helper()
	dir := os.Getenv("LAB_DIST_DIR")
	if dir == "" {
		t.Skip("LAB_DIST_DIR is not set: set it to the folder ./run.sh dist wrote (dist) to try the downloads")
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "totalorder-lab-*"+suffix))
	if len(matches) != 1 {
		t.Fatalf("want one %s in %s, found %v (./run.sh dist makes it)", suffix, dir, matches)
	}
	abs, err := filepath.Abs(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestLinuxDownloadInAFreshDebian unpacks the Linux archive in a fresh
// minbase Debian bookworm and runs ./run.sh demo there: it must pass with
// no Go, no C compiler and no X11 libraries on the system.
func TestLinuxDownloadInAFreshDebian(t *testing.T) {
	tgz := archive(t, "-linux-amd64.tar.gz")
	if os.Getenv("LAB_CHROOT_TEST") == "" {
		t.Skip("LAB_CHROOT_TEST is not set: this test debootstraps a Debian (minutes, a mirror, root)")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: debootstrap and chroot need root")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap is not installed (apt-get install debootstrap)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	root := t.TempDir()
	t.Cleanup(func() { unmountUnder(t, root) }) // before TempDir removes it
	mirror := os.Getenv("LAB_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	// LAB_DEBOOTSTRAP_TARBALL keeps the downloaded packages for the next
	// run (debootstrap --make-tarball, then --unpack-tarball).
	start := time.Now()
	args := []string{"--variant=minbase"}
	if tb := os.Getenv("LAB_DEBOOTSTRAP_TARBALL"); tb != "" {
		if _, err := os.Stat(tb); err != nil {
			if out, err := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--make-tarball="+tb, "bookworm", t.TempDir(), mirror).CombinedOutput(); err != nil {
				t.Fatalf("debootstrap --make-tarball: %v\n%s", err, tail(out))
			}
		}
		args = append(args, "--unpack-tarball="+tb)
	}
	if out, err := exec.CommandContext(ctx, "debootstrap", append(args, "bookworm", root, mirror)...).CombinedOutput(); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(out))
	}
	t.Logf("debootstrap --variant=minbase bookworm: %v", time.Since(start).Round(time.Second))
	inChroot := func(script string) (string, error) {
		cmd := exec.CommandContext(ctx, "chroot", root, "/bin/bash", "-c", script)
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := inChroot("command -v go gcc cc || ls /usr/lib/x86_64-linux-gnu/libGL.so.1 /usr/lib/x86_64-linux-gnu/libX11.so.6"); err == nil {
		t.Fatalf("the fresh Debian is not bare: %s", out)
	}
	// Unpacked in a folder of its own, named relative to the chroot's /
	// (where the chrooted shell starts).
	lab := filepath.Join(root, "lab")
	if err := os.Mkdir(lab, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "tar", "-xzf", tgz, "-C", lab).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	start = time.Now()
	out, err := inChroot("cd lab/totalorder-lab-*-linux-amd64 && bin/headless/netsim -version && ./run.sh demo")
	t.Logf("./run.sh demo in the chroot (%v):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("./run.sh demo failed in a fresh Debian: %v", err)
	}
	if !strings.Contains(out, "draw them: ./run.sh timeline demo-logs") {
		t.Error("the demo did not end with its pointer to ./run.sh timeline")
	}
}

// unmountUnder unmounts whatever is still mounted under root (debootstrap
// or a chroot may leave /proc), so that removing root removes only it.
func unmountUnder(t *testing.T, root string) {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], root+"/") {
			if out, err := exec.Command("umount", "-l", f[1]).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v %s", f[1], err, out)
			}
		}
	}
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// TestWindowsDownloadUnderWine unzips the Windows archive and runs
// run.bat demo under Wine, with no Go anywhere on its PATH.
func TestWindowsDownloadUnderWine(t *testing.T) {
	zipPath := archive(t, "-windows-amd64.zip")
	wine, err := exec.LookPath("wine")
	if err != nil {
		t.Skip("wine is not installed (on Debian: see the Wine notes shared with the team, setup.sh PREFIX)")
	}
	if os.Getenv("WINEPREFIX") == "" {
		t.Skip("WINEPREFIX is not set: prepare a prefix (Go programs need the bcryptprimitives.dll stand-in under Wine 8) and set it")
	}
	dir := t.TempDir()
	if err := unzip(zipPath, dir); err != nil {
		t.Fatal(err)
	}
	tops, _ := filepath.Glob(filepath.Join(dir, "totalorder-lab-*-windows-amd64"))
	if len(tops) != 1 {
		t.Fatalf("the zip holds no totalorder-lab-*-windows-amd64 folder")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wine, "cmd", "/c", "run.bat", "demo")
	cmd.Dir = tops[0]
	// No Go for Wine to find: the Unix PATH holds only the system's
	// programs (Wine's own PATH is Windows', which has none either).
	cmd.Env = append(withoutEnv(os.Environ(), "PATH"), "PATH=/usr/bin:/bin", "RUN_BAT_NO_PAUSE=1", "WINEDEBUG=-all")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("wine cmd /c run.bat demo (%v):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("run.bat demo failed under Wine: %v", err)
	}
	if !bytes.Contains(out, []byte("draw them: run.bat timeline demo-logs")) {
		t.Error("the demo's last line does not point to run.bat timeline")
	}
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func unzip(path, dir string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		to := filepath.Join(dir, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(to, dir+string(os.PathSeparator)) {
			continue
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			continue
		}
		r, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, f.Mode().Perm()|0o200); err != nil {
			return err
		}
	}
	return nil
}
