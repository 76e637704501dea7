package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeygenOutputDir(t *testing.T) {
	tests := []struct {
		name string
		args func(dir string) []string
		dir  func(base string) string
	}{
		{name: "-o existing", dir: func(b string) string { return b }, args: func(d string) []string { return []string{"keygen", "-o", d} }},
		{name: "-o missing", dir: func(b string) string { return filepath.Join(b, "keys") }, args: func(d string) []string { return []string{"keygen", "-o", d} }},
		{name: "--output missing parents", dir: func(b string) string { return filepath.Join(b, "a", "b", "keys") }, args: func(d string) []string { return []string{"keygen", "--output", d} }},
		{name: "--output-dir missing", dir: func(b string) string { return filepath.Join(b, "keys") }, args: func(d string) []string { return []string{"keygen", "--output-dir", d} }},
		{name: "--output-dir=", dir: func(b string) string { return filepath.Join(b, "keys") }, args: func(d string) []string { return []string{"keygen", "--output-dir=" + d} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t.TempDir())
			res := run(t, runOpts{}, tt.args(dir)...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			if tt.name != "-o existing" {
				fi, err := os.Stat(dir)
				if err != nil || fi.Mode().Perm() != 0o755&^umask(t) {
					t.Errorf("created output directory: %v, mode %v (want 0755 less the umask)", err, fi.Mode().Perm())
				}
			}
			for name, mode := range map[string]os.FileMode{"privkey.json": 0o600, "pubkey.json": 0o644} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil || fi.Mode().Perm() != mode {
					t.Errorf("%s: %v, mode %v (want %v)", name, err, fi.Mode().Perm(), mode)
				}
				if !strings.Contains(res.stdout, "✔ wrote "+filepath.Join(dir, name)) {
					t.Errorf("stdout does not name %s:\n%s", name, res.stdout)
				}
			}
		})
	}
}

// TestKeygenFailureLeavesNoDirectory: when the output directory cannot be
// used, the directories keygen created are removed again.
func TestKeygenFailureLeavesNoDirectory(t *testing.T) {
	base := t.TempDir()
	tests := []struct {
		name, dir, want string
	}{
		{name: "a file as parent", dir: filepath.Join(writeFile(t, base, "file", "x"), "keys"), want: "not a directory"},
		{name: "a dangling symlink as parent", dir: filepath.Join(symlink(t, filepath.Join(base, "missing"), filepath.Join(base, "link")), "keys"), want: "✗ create the output directory "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{}, "keygen", "-o", tt.dir)
			if res.code != 1 || !strings.HasPrefix(res.stderr, "✗ ") || !strings.Contains(res.stderr, tt.dir) || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q, want %q", res.code, res.stderr, tt.want)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(base, "link")); err != nil {
		t.Errorf("keygen removed a symlink it did not create: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(base, "missing")); err == nil {
		t.Error("keygen created a directory through a dangling symlink and left it behind")
	}

	// An existing key makes the generation fail after the directory exists:
	// keygen never overwrites, and leaves the pre-existing directory alone.
	dir := filepath.Join(base, "existing")
	writeFile(t, dir, "privkey.json", "{}")
	if res := run(t, runOpts{}, "keygen", "-o", dir); res.code != 1 {
		t.Errorf("overwrote an existing key: exit %d", res.code)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("a directory keygen did not create was removed: %v", err)
	}
}

// umask returns the process's file mode creation mask.
func umask(t *testing.T) os.FileMode {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ fi.Mode().Perm()
}

// symlink creates link pointing at target and returns link.
func symlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}
