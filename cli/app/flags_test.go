package app

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNumericFlagRanges runs every numeric flag's out-of-range values through
// the real kong parser, in both spellings: "--flag=-1" and "--flag -1" (which
// kong alone would read as a short flag "-1").
func TestNumericFlagRanges(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry("127.0.0.1:1/a", "127.0.0.1:1/b", "      limit: 1\n")))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "concurrency 0", args: []string{"sync", cfg, "--concurrency", "0"}, want: "--concurrency must be greater than 0, got 0"},
		{name: "concurrency -1 spaced", args: []string{"sync", cfg, "--concurrency", "-1"}, want: "--concurrency must be greater than 0, got -1"},
		{name: "concurrency=-1", args: []string{"sync", cfg, "--concurrency=-1"}, want: "--concurrency must be greater than 0, got -1"},
		{name: "max-per-host 0", args: []string{"sync", cfg, "--max-per-host", "0"}, want: "--max-per-host must be greater than 0, got 0"},
		{name: "retries -1 spaced", args: []string{"sync", cfg, "--retries", "-1"}, want: "--retries must be 0 or more, got -1"},
		{name: "retries=-1", args: []string{"sync", cfg, "--retries=-1"}, want: "--retries must be 0 or more, got -1"},
		{name: "drift-exit-code -1 spaced", args: []string{"sync", cfg, "--drift-exit-code", "-1"}, want: "--drift-exit-code must be between 0 and 255, got -1"},
		{name: "drift-exit-code=256", args: []string{"sync", cfg, "--drift-exit-code=256"}, want: "--drift-exit-code must be between 0 and 255, got 256"},
		{name: "timeout 0", args: []string{"sync", cfg, "--timeout", "0"}, want: "--timeout must be greater than 0, got 0s"},
		{name: "timeout=0s", args: []string{"sync", cfg, "--timeout=0s"}, want: "--timeout must be greater than 0, got 0s"},
		{name: "timeout -1s spaced", args: []string{"sync", cfg, "--timeout", "-1s"}, want: "--timeout must be greater than 0, got -1s"},
		{name: "timeout=-1s", args: []string{"sync", cfg, "--timeout=-1s"}, want: "--timeout must be greater than 0, got -1s"},
		{name: "timeout before the command", args: []string{"--timeout", "-1m", "validate", cfg}, want: "--timeout must be greater than 0, got -1m0s"},
		{name: "timeout of login", args: []string{"login", "-f", cfg, "--timeout=0"}, want: "--timeout must be greater than 0, got 0s"},
		{name: "timeout of secret", args: []string{"secret", "creds", "-f", cfg, "--timeout", "-5s"}, want: "--timeout must be greater than 0, got -5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{}, tt.args...)
			if res.code != 1 || !strings.HasPrefix(res.stderr, "✗ ") || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, want 1 and %q; stderr:\n%s", res.code, tt.want, res.stderr)
			}
			if strings.Contains(res.stderr, "short flag") {
				t.Errorf("a negative value was parsed as a short flag:\n%s", res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("nothing may run: stdout %q", res.stdout)
			}
		})
	}
}

// TestNumericFlagsInRange checks that valid values, negative-looking ones
// after "--" included, still parse.
func TestNumericFlagsInRange(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry("127.0.0.1:1/a", "127.0.0.1:1/b", "      limit: 1\n")))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{name: "timeout 1s", args: []string{"--timeout", "1s", "validate", cfg}, want: "is valid"},
		{name: "timeout=2m", args: []string{"validate", cfg, "--timeout=2m"}, want: "is valid"},
		// After "--" a "-1" is a positional argument (here a missing file).
		{name: "after --", args: []string{"validate", "--", "-1"}, code: 1, want: "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{}, tt.args...)
			if res.code != tt.code || !strings.Contains(res.stdout+res.stderr, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s%s", res.code, tt.code, tt.want, res.stdout, res.stderr)
			}
		})
	}
}

func TestJoinNegativeValues(t *testing.T) {
	var c cli
	e := &env{Config: Config{}, name: "flux-mirror"}
	k, err := newParser(&c, e)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, want []string
	}{
		{in: []string{"sync", "--retries", "-1"}, want: []string{"sync", "--retries=-1"}},
		{in: []string{"--timeout", "-1s", "sync"}, want: []string{"--timeout=-1s", "sync"}},
		{in: []string{"sync", "--retries", "2"}, want: []string{"sync", "--retries", "2"}},
		// A boolean flag takes no value: "-1" stays a (bad) argument.
		{in: []string{"sync", "--dry-run", "-1"}, want: []string{"sync", "--dry-run", "-1"}},
		// "-o" is a short flag; only long names are joined.
		{in: []string{"sync", "-o", "-1"}, want: []string{"sync", "-o", "-1"}},
		{in: []string{"sync", "--", "--retries", "-1"}, want: []string{"sync", "--", "--retries", "-1"}},
		{in: []string{"keygen", "--output-dir", "-1"}, want: []string{"keygen", "--output-dir=-1"}},
		{in: []string{"sync", "--retries"}, want: []string{"sync", "--retries"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, " "), func(t *testing.T) {
			got := joinNegativeValues(k.Model.Node, tt.in)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNoArgumentsPrintsHelp(t *testing.T) {
	res := run(t, runOpts{})
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	for _, want := range []string{"Usage: flux-mirror <command>", "sync", "validate", "keygen", "--version"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	want := run(t, runOpts{}, "version")
	if want.code != 0 {
		t.Fatalf("version: exit %d", want.code)
	}
	for _, args := range [][]string{{"--version"}, {"--version", "sync"}, {"sync", "--version"}} {
		res := run(t, runOpts{}, args...)
		if res.code != 0 || res.stdout != want.stdout || res.stderr != "" {
			t.Errorf("%q: exit %d, stdout %q (want %q), stderr %q", args, res.code, res.stdout, want.stdout, res.stderr)
		}
	}
}

// TestPluginUsageName checks the name in usage lines: "flux mirror" when the
// binary runs from Flux's plugin directory (flux execs it by that absolute
// path), "flux-mirror" otherwise.
func TestPluginUsageName(t *testing.T) {
	home := t.TempDir()
	plugins := t.TempDir()
	tests := []struct {
		name    string
		program string
		env     map[string]string
		want    string
	}{
		{name: "default plugin dir", program: filepath.Join(home, ".fluxcd", "plugins", "flux-mirror"), env: map[string]string{"HOME": home}, want: "flux mirror"},
		{name: "FLUXCD_PLUGINS", program: filepath.Join(plugins, "flux-mirror"), env: map[string]string{"HOME": home, "FLUXCD_PLUGINS": plugins}, want: "flux mirror"},
		{name: "FLUXCD_PLUGINS overrides the default", program: filepath.Join(home, ".fluxcd", "plugins", "flux-mirror"), env: map[string]string{"HOME": home, "FLUXCD_PLUGINS": plugins}, want: "flux-mirror"},
		{name: "on PATH", program: "flux-mirror", env: map[string]string{"HOME": home}, want: "flux-mirror"},
		{name: "elsewhere", program: filepath.Join(home, "bin", "flux-mirror"), env: map[string]string{"HOME": home}, want: "flux-mirror"},
		{name: "no home", program: "/usr/local/bin/flux-mirror", want: "flux-mirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withProgram := func(c *Config) { c.Program = tt.program }
			res := run(t, runOpts{env: tt.env, cfg: withProgram}, "sync", "--help")
			if res.code != 0 || !strings.HasPrefix(res.stdout, "Usage: "+tt.want+" sync [<config>]") {
				t.Errorf("exit %d, want usage of %q:\n%s", res.code, tt.want, res.stdout)
			}
			res = run(t, runOpts{env: tt.env, cfg: withProgram}, "sync", "--retries=-1")
			if !strings.Contains(res.stderr, "run '"+tt.want+" sync --help' for usage") {
				t.Errorf("the usage hint does not name %q:\n%s", tt.want, res.stderr)
			}
		})
	}
}
