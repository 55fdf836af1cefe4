// Command dist makes the lab's downloads: for Windows amd64 a .zip and for
// Linux amd64 a .tar.gz, each with the prebuilt programs, the launcher
// (run.bat or run.sh), a short README.txt and the licence notices of what
// the programs contain (THIRD_PARTY_LICENSES.txt), and beside them a
// SHA256SUMS file. ./run.sh dist runs it from the module's root.
//
//	dist [-out dist] [-commit HEAD] [-release V] [-verify]
//
// The downloads hold one commit (HEAD, or -commit) exactly, as git archive
// gives it: changes not committed are not in them. They are reproducible: the programs are
// built from that copy with -trimpath, -buildvcs=false and an empty build
// id, and the archives list their entries sorted, owned by 0:0, dated
// SOURCE_DATE_EPOCH (default: the commit's time). -verify builds
// everything a second time, from a second copy at another path, and fails
// unless both give the same bytes.
//
// The Windows programs carry the lab's icon (assets/icon.ico, made from
// assets/icon.svg with ImageMagick: convert -background none -density 384
// assets/icon.svg -define icon:auto-resize=256,64,48,32,16 assets/icon.ico)
// and version information: a resource compiled by mingw-w64's windres into
// a .syso beside each main package of the copy, which go build links.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"totalorder/internal/version"
)

// program is one program of the lab as the downloads carry it.
type program struct {
	name, pkg   string
	description string // the Windows file description
	gui         bool   // needs cgo (Fyne's window driver)
	linux       bool   // in the Linux archive too (run.sh does launch's job itself)
}

var programs = []program{
	{"netsim", "./cmd/netsim", "Total-order multicast lab: the network program", true, true},
	{"middleware", "./cmd/middleware", "Total-order multicast lab: a middleware", true, true},
	{"timeline", "./cmd/timeline", "Total-order multicast lab: the timeline", true, true},
	{"checkorder", "./cmd/checkorder", "Total-order multicast lab: the order checker", false, true},
	{"demo", "./cmd/demo", "Total-order multicast lab: the demo without windows", false, true},
	{"compare", "./cmd/compare", "Total-order multicast lab: the protocols compared", false, true},
	{"launch", "./cmd/launch", "Total-order multicast lab: the launcher", false, false},
}

// headless are built a second time without the windows (-tags nogui, no
// cgo) into bin/headless/: the demo and compare run them, so they need
// no X11 or OpenGL libraries.
var headless = []string{"netsim", "middleware"}

// target is one download.
type target struct{ goos, goarch string }

func (t target) String() string { return t.goos + "-" + t.goarch }
func (t target) exe() string {
	if t.goos == "windows" {
		return ".exe"
	}
	return ""
}

var targets = []target{{"linux", "amd64"}, {"windows", "amd64"}}

// release is what every build of one run shares.
type release struct {
	root    string    // the module's root
	version string    // e.g. 1.0.0
	commit  string    // abbreviated
	date    time.Time // SOURCE_DATE_EPOCH: every archive entry's time
	log     io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dist:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version.Flag(fs, "dist")
	out := fs.String("out", "dist", "`folder` for the archives and SHA256SUMS")
	ver := fs.String("release", "", "the release's version, e.g. 1.0.0 (default: the tag v* on the commit, else 0.0.0-<commit date>-<commit>)")
	rev := fs.String("commit", "HEAD", "the `commit` to build (git archive of it: changes not committed are never in a download)")
	verify := fs.Bool("verify", false, "build everything twice, from two copies of the source, and fail unless the archives are identical")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: dist [-out dist] [-commit HEAD] [-release V] [-verify]\n\nBuilds the Windows and Linux downloads of the lab (run it from the module's root: ./run.sh dist).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return fmt.Errorf("the downloads are built on Linux amd64 (the Linux programs need cgo for the host), not on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return errors.New("run it from the module's root (where go.mod is): ./run.sh dist")
	}
	for _, tool := range []string{"git", "x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-windres"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (Debian/Ubuntu: apt-get install git gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64)", tool)
		}
	}
	rel, err := newRelease(ctx, root, *rev, *ver)
	if err != nil {
		return err
	}
	rel.log = stdout
	fmt.Fprintf(stdout, "release %s: commit %s as committed (changes not committed are left out), dated %s\n", rel.version, rel.commit, rel.date.UTC().Format(time.RFC3339))
	first, err := rel.buildAll(ctx)
	if err != nil {
		return err
	}
	if *verify {
		fmt.Fprintln(stdout, "building everything again from a second copy of the source (-verify)…")
		second, err := rel.buildAll(ctx)
		if err != nil {
			return err
		}
		for name, b := range first {
			if !bytes.Equal(b, second[name]) {
				return fmt.Errorf("%s: the two builds differ (sha256 %s and %s): the download is not reproducible", name, sum(b), sum(second[name]))
			}
		}
		fmt.Fprintln(stdout, "reproducible: both builds gave identical archives")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	var names []string
	for name := range first {
		names = append(names, name)
	}
	sort.Strings(names)
	var sums strings.Builder
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(*out, name), first[name], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s  %s\n", sum(first[name]), name)
		fmt.Fprintf(stdout, "%s: %.1f MB, sha256 %s\n", filepath.Join(*out, name), float64(len(first[name]))/1e6, sum(first[name]))
	}
	return os.WriteFile(filepath.Join(*out, "SHA256SUMS"), []byte(sums.String()), 0o644)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// newRelease reads the version, the commit and the date from git (and
// SOURCE_DATE_EPOCH, which wins for the date).
func newRelease(ctx context.Context, root, rev, ver string) (*release, error) {
	rel := &release{root: root, version: ver}
	commit, err := git(ctx, root, "rev-parse", "--short=12", "--verify", rev+"^{commit}")
	if err != nil {
		return nil, err
	}
	rel.commit = commit
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		if epoch, err = git(ctx, root, "log", "-1", "--format=%ct", commit); err != nil {
			return nil, err
		}
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil || secs < 315532800 { // zip dates start in 1980
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970, 1980 or later", epoch)
	}
	rel.date = time.Unix(secs, 0).UTC()
	if rel.version == "" {
		if tag, err := git(ctx, root, "describe", "--tags", "--exact-match", "--match", "v[0-9]*", commit); err == nil {
			rel.version = strings.TrimPrefix(tag, "v")
		} else {
			rel.version = "0.0.0-" + rel.date.Format("20060102") + "-" + rel.commit[:7]
		}
	}
	for _, r := range rel.version {
		if !strings.ContainsRune("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+", r) {
			return nil, fmt.Errorf("-release %q: use letters, digits, '.', '-' and '+' only", rel.version)
		}
	}
	return rel, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// buildAll copies the source, builds every target from the copy and
// returns the archives by file name.
func (rel *release) buildAll(ctx context.Context) (map[string][]byte, error) {
	src, err := os.MkdirTemp("", "lab-dist-src")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(src)
	if err := copySource(ctx, rel.root, rel.commit, src); err != nil {
		return nil, err
	}
	archives := map[string][]byte{}
	for _, t := range targets {
		name, b, err := rel.build(ctx, src, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		archives[name] = b
	}
	return archives, nil
}

// copySource writes the files of commit into dst: the download is exactly
// that commit (changes not committed are not in it).
func copySource(ctx context.Context, root, commit, dst string) error {
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	tr := tar.NewReader(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			cmd.Wait()
			return fmt.Errorf("git archive %s: %v %s", commit, err, stderr.String())
		}
		to := filepath.Join(dst, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(to, dst+string(os.PathSeparator)) {
			continue // not inside dst: git never writes such names
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(to, 0o755)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(h.Mode).Perm()|0o200); err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
		if err != nil {
			cmd.Wait()
			return err
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %v %s", commit, err, stderr.String())
	}
	return nil
}

// build builds t's programs from src and packs its archive.
func (rel *release) build(ctx context.Context, src string, t target) (string, []byte, error) {
	stage, err := os.MkdirTemp("", "lab-dist-"+t.String())
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(stage)
	bin := filepath.Join(stage, "bin")
	var gui, pure []string
	var names []string
	for _, p := range programs {
		if t.goos == "linux" && !p.linux {
			continue
		}
		names = append(names, p.name)
		if p.gui {
			gui = append(gui, p.pkg)
		} else {
			pure = append(pure, p.pkg)
		}
	}
	if t.goos == "windows" {
		if err := rel.windowsResources(ctx, src); err != nil {
			return "", nil, err
		}
	}
	cc := ""
	if t.goos == "windows" {
		cc = "x86_64-w64-mingw32-gcc"
	}
	fmt.Fprintf(rel.log, "%s: building %s (the first build compiles Fyne's window driver in C, for minutes)…\n", t, strings.Join(names, ", "))
	// no_emoji: the windows never draw Fyne's emoji font; each holds about
	// 14 MB less without it (docs/memory.md).
	if err := rel.goBuild(ctx, src, t, true, cc, []string{"no_emoji"}, bin, gui); err != nil {
		return "", nil, err
	}
	if err := rel.goBuild(ctx, src, t, false, "", nil, bin, pure); err != nil {
		return "", nil, err
	}
	var hl []string
	for _, h := range headless {
		hl = append(hl, "./cmd/"+h)
	}
	if err := rel.goBuild(ctx, src, t, false, "", []string{"nogui"}, filepath.Join(bin, "headless"), hl); err != nil {
		return "", nil, err
	}

	top := "totalorder-lab-" + rel.version + "-" + t.String()
	var files []file
	add := func(name string, mode int64, content []byte) {
		files = append(files, file{name: top + "/" + name, mode: mode, content: content})
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(bin, n+t.exe()))
		if err != nil {
			return "", nil, err
		}
		add("bin/"+n+t.exe(), 0o755, b)
	}
	for _, n := range headless {
		b, err := os.ReadFile(filepath.Join(bin, "headless", n+t.exe()))
		if err != nil {
			return "", nil, err
		}
		add("bin/headless/"+n+t.exe(), 0o755, b)
	}
	launcher := "run.sh"
	if t.goos == "windows" {
		launcher = "run.bat"
	}
	b, err := os.ReadFile(filepath.Join(src, launcher))
	if err != nil {
		return "", nil, err
	}
	add(launcher, 0o755, b)
	readme, err := rel.readme(t)
	if err != nil {
		return "", nil, err
	}
	add("README.txt", 0o644, readme)
	notices, err := rel.licences(ctx, src, bin, t)
	if err != nil {
		return "", nil, err
	}
	add("THIRD_PARTY_LICENSES.txt", 0o644, notices)
	if t.goos == "windows" {
		for i := range files { // Notepad and cmd read CRLF
			if strings.HasSuffix(files[i].name, ".txt") || strings.HasSuffix(files[i].name, ".bat") {
				files[i].content = crlf(files[i].content)
			}
		}
		z, err := writeZip(files, rel.date)
		return top + ".zip", z, err
	}
	tgz, err := writeTarGz(files, rel.date)
	return top + ".tar.gz", tgz, err
}

// crlf turns LF line ends into CRLF (and leaves CRLF as it is).
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// goBuild builds pkgs for t into dir, reproducibly: no paths of this
// machine, no VCS stamp, no build id, the version set.
func (rel *release) goBuild(ctx context.Context, src string, t target, cgo bool, cc string, tags []string, dir string, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	ldflags := fmt.Sprintf("-s -w -buildid= -X totalorder/internal/version.Version=%s -X totalorder/internal/version.Commit=%s", rel.version, rel.commit)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=" + ldflags}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	args = append(args, "-o", dir+string(os.PathSeparator))
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src
	cgoEnabled := "0"
	if cgo {
		cgoEnabled = "1"
	}
	cmd.Env = append(os.Environ(), "GOOS="+t.goos, "GOARCH="+t.goarch, "CGO_ENABLED="+cgoEnabled, "GOFLAGS=-mod=readonly")
	if cc != "" {
		cmd.Env = append(cmd.Env, "CC="+cc)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}
