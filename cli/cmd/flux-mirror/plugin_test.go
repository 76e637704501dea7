package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageNameAsPlugin runs the binary the way flux runs a plugin (by its
// absolute path in the plugin directory, see fluxcd/flux2
// internal/plugin/exec_unix.go) and the way a shell runs it from PATH.
func TestUsageNameAsPlugin(t *testing.T) {
	home := t.TempDir()
	custom := t.TempDir()
	for _, dir := range []string{filepath.Join(home, ".fluxcd", "plugins"), custom, filepath.Join(home, "bin")} {
		installBinary(t, dir)
	}
	tests := []struct {
		name string
		path string // what is executed
		argv string // argv[0]
		env  []string
		want string
	}{
		{name: "default plugin dir", path: filepath.Join(home, ".fluxcd", "plugins", "flux-mirror"), env: []string{"HOME=" + home, "FLUXCD_PLUGINS="}, want: "flux mirror"},
		{name: "FLUXCD_PLUGINS", path: filepath.Join(custom, "flux-mirror"), env: []string{"HOME=" + home, "FLUXCD_PLUGINS=" + custom}, want: "flux mirror"},
		{name: "from PATH", path: filepath.Join(home, "bin", "flux-mirror"), argv: "flux-mirror", env: []string{"HOME=" + home}, want: "flux-mirror"},
		{name: "by path outside the plugin dir", path: filepath.Join(home, "bin", "flux-mirror"), env: []string{"HOME=" + home}, want: "flux-mirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range [][]string{{"--help"}, {}} {
				cmd := exec.Command(tt.path, args...)
				if tt.argv != "" {
					cmd.Args[0] = tt.argv
				}
				cmd.Env = append(os.Environ(), tt.env...)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%q: %v", args, err)
				}
				if want := "Usage: " + tt.want + " <command>"; !strings.HasPrefix(string(out), want) {
					t.Errorf("%q: usage does not start with %q:\n%s", args, want, out)
				}
			}
		})
	}
}

// TestVersionFlagBinary: --version prints what `version` prints, exit 0.
func TestVersionFlagBinary(t *testing.T) {
	bin := filepath.Join(binDir, "flux-mirror")
	want, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(bin, "--version").Output()
	if err != nil || string(got) != string(want) {
		t.Errorf("--version: %v\n%s\nwant\n%s", err, got, want)
	}
}

// installBinary copies the test binary into dir as flux-mirror.
func installBinary(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(binDir, "flux-mirror"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "flux-mirror"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}
