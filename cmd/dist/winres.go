package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// windowsResources writes, beside every program's main package in src, a
// rsrc_windows_amd64.syso with the lab's icon and the program's version
// information (what Explorer shows under Properties > Details), compiled
// by mingw-w64's windres; go build links it into the .exe.
func (rel *release) windowsResources(ctx context.Context, src string) error {
	icon := filepath.Join(src, "assets", "icon.ico")
	if _, err := os.Stat(icon); err != nil {
		return fmt.Errorf("the icon: %v", err)
	}
	for _, p := range programs {
		dir := filepath.Join(src, filepath.FromSlash(p.pkg))
		rc := filepath.Join(dir, "rsrc.rc")
		if err := os.WriteFile(rc, []byte(rel.resourceScript(p, icon)), 0o644); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "x86_64-w64-mingw32-windres", "--input-format=rc", "--output-format=coff",
			"-i", rc, "-o", filepath.Join(dir, "rsrc_windows_amd64.syso"))
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(rel.date.Unix(), 10))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("windres for %s: %v\n%s", p.name, err, out.String())
		}
		if err := os.Remove(rc); err != nil {
			return err
		}
	}
	return nil
}

// resourceScript is the .rc source: the icon and a VERSIONINFO.
func (rel *release) resourceScript(p program, icon string) string {
	n := numericVersion(rel.version)
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	var b strings.Builder
	fmt.Fprintf(&b, "1 ICON %s\n", q(filepath.ToSlash(icon)))
	fmt.Fprintf(&b, "1 VERSIONINFO\nFILEVERSION %s\nPRODUCTVERSION %s\nFILEOS 0x40004\nFILETYPE 0x1\n", n, n)
	b.WriteString("BEGIN\n BLOCK \"StringFileInfo\"\n BEGIN\n  BLOCK \"040904B0\"\n  BEGIN\n")
	for _, kv := range [][2]string{
		{"CompanyName", "Total-order multicast lab"},
		{"FileDescription", p.description},
		{"FileVersion", rel.version},
		{"InternalName", p.name},
		{"OriginalFilename", p.name + ".exe"},
		{"ProductName", "Total-order multicast lab"},
		{"ProductVersion", rel.version + " (commit " + rel.commit + ")"},
	} {
		fmt.Fprintf(&b, "   VALUE %s, %s\n", q(kv[0]), q(kv[1]))
	}
	b.WriteString("  END\n END\n BLOCK \"VarFileInfo\"\n BEGIN\n  VALUE \"Translation\", 0x409, 1200\n END\nEND\n")
	return b.String()
}

// numericVersion is "1,2,3,0" for "1.2.3" (or "1.2.3-rc1"): the four
// numbers a VERSIONINFO wants; what is not a number counts as 0.
func numericVersion(v string) string {
	v, _, _ = strings.Cut(v, "-")
	v, _, _ = strings.Cut(v, "+")
	parts := strings.Split(v, ".")
	nums := make([]string, 4)
	for i := range nums {
		nums[i] = "0"
		if i < len(parts) {
			if k, err := strconv.ParseUint(parts[i], 10, 16); err == nil {
				nums[i] = strconv.FormatUint(k, 10)
			}
		}
	}
	return strings.Join(nums, ",")
}
