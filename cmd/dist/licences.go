package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// licenceName matches the files that carry a module's licence or notices.
var licenceName = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|unlicense)([._-].*)?$`)

// licences is THIRD_PARTY_LICENSES.txt: Go's licence (its runtime and
// standard library are in every program) and, for every module linked
// into a program under bin (as the programs' own build information lists
// them), every licence file the module holds, nested ones included (such
// as GLFW's, whose C code the window driver compiles in).
func (rel *release) licences(ctx context.Context, src, bin string, t target) ([]byte, error) {
	used := map[string]string{} // module path → version
	goVersion := ""
	err := filepath.WalkDir(bin, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := buildinfo.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		goVersion = info.GoVersion
		for _, m := range info.Deps {
			if m.Replace != nil {
				m = m.Replace
			}
			used[m.Path] = m.Version
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	dirs, err := moduleDirs(ctx, src)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "The lab's programs (%s) contain the following software, under these licences.\n", t)
	goLicence, err := goRootLicence(ctx)
	if err != nil {
		return nil, err
	}
	section(&b, "Go (runtime and standard library) "+goVersion, "LICENSE", goLicence)
	var paths []string
	for p := range used {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dir := dirs[p+"@"+used[p]]
		if dir == "" {
			return nil, fmt.Errorf("module %s@%s is linked but not in the module cache (go mod download)", p, used[p])
		}
		var found []string
		err := filepath.WalkDir(dir, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && q != dir && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && licenceName.MatchString(d.Name()) {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("module %s@%s has no licence file", p, used[p])
		}
		sort.Strings(found)
		for _, q := range found {
			text, err := os.ReadFile(q)
			if err != nil {
				return nil, err
			}
			r, _ := filepath.Rel(dir, q)
			section(&b, p+" "+used[p], filepath.ToSlash(r), text)
		}
	}
	return b.Bytes(), nil
}

func section(b *bytes.Buffer, what, file string, text []byte) {
	fmt.Fprintf(b, "\n%s\n%s (%s)\n%s\n\n", strings.Repeat("=", 72), what, file, strings.Repeat("=", 72))
	b.Write(bytes.TrimSpace(bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))))
	b.WriteString("\n")
}

// moduleDirs maps path@version to the module cache folder of every module
// in the build list.
func moduleDirs(ctx context.Context, src string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}}@{{.Version}}\t{{.Dir}}", "all")
	cmd.Dir = src
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m all: %v %s", err, stderr.String())
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok && v != "" {
			dirs[k] = v
		}
	}
	return dirs, nil
}

// goRootLicence reads Go's licence from the go command's GOROOT, the Go
// that built the programs.
func goRootLicence(ctx context.Context) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %v", err)
	}
	return os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "LICENSE"))
}
