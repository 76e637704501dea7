package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/adapters/kubesecret"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/providers/github"
)

// result is what one in-process run of flux-mirror produced.
type result struct {
	stdout, stderr string
	code           int
}

// runOpts tune one in-process run.
type runOpts struct {
	env   map[string]string
	stdin string
	cfg   func(*Config)
}

// run executes flux-mirror in-process with args and an environment that
// holds only what the test gives it (plus an empty Docker config), so no
// test depends on the machine's environment.
func run(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"DOCKER_CONFIG": t.TempDir(), "HELM_REPOSITORY_CONFIG": filepath.Join(t.TempDir(), "repositories.yaml")}
	for k, v := range o.env {
		env[k] = v
	}
	for k, v := range env {
		// The registry and Helm adapters read these from the process
		// environment, as the tools they imitate do.
		if k == "DOCKER_CONFIG" || k == "HELM_REPOSITORY_CONFIG" {
			t.Setenv(k, v)
		}
	}
	cfg := Config{
		Args:      args,
		Stdin:     strings.NewReader(o.stdin),
		Stdout:    &stdout,
		Stderr:    &stderr,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Providers: []auth.Factory{github.NewFactory(), github.NewForgejoFactory()},
		Secret:    kubesecret.Writer{},
		Verify:    cosignVerifier,
		Built:     []string{"fm_github", "fm_secret", "fm_verify"},
		Omitted:   []Omitted{{Name: "aws", Kind: auth.KindToken, Tag: "fm_aws"}, {Name: "ecr", Kind: auth.KindRegistry, Tag: "fm_aws"}},
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	code := Main(context.Background(), cfg)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// writeFile writes content to name under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGrammar(t *testing.T) {
	var c cli
	if _, err := kong.New(&c); err != nil {
		t.Fatalf("the kong grammar is invalid: %v", err)
	}
}

func TestVersion(t *testing.T) {
	res := run(t, runOpts{}, "version", "-o", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{`"version": "dev"`, `"goVersion": "go1.`, `"forgejo"`, `"github"`, `"omittedProviders"`, `"ecr"`} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("version -o json lacks %s:\n%s", want, res.stdout)
		}
	}
	res = run(t, runOpts{}, "version")
	if !strings.HasPrefix(res.stdout, "flux-mirror dev\n") || !strings.Contains(res.stdout, "providers: forgejo, github") {
		t.Errorf("version text:\n%s", res.stdout)
	}
	res = run(t, runOpts{}, "version", "-o", "xml")
	if res.code != 1 || !strings.Contains(res.stderr, "✗ ") || !strings.Contains(res.stderr, "xml") {
		t.Errorf("an unknown output format must fail with ✗: exit %d, %q", res.code, res.stderr)
	}
}

func TestUnknownCommandPrintsMark(t *testing.T) {
	res := run(t, runOpts{}, "mirrorr")
	if res.code != 1 || !strings.HasPrefix(res.stderr, "✗ ") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		res := run(t, runOpts{}, "completion", shell)
		if res.code != 0 || !strings.Contains(res.stdout, "__complete") {
			t.Errorf("completion %s: exit %d, script does not call __complete", shell, res.code)
		}
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		name      string
		words     []string
		want      []string
		wantNot   []string
		directive string
	}{
		{name: "commands", words: []string{""}, want: []string{"sync\t", "validate\t", "version\t", "completion\t"}, wantNot: []string{"__complete"}, directive: ":4"},
		{name: "command prefix", words: []string{"ve"}, want: []string{"version\t"}, wantNot: []string{"sync"}, directive: ":4"},
		{name: "sync flags", words: []string{"sync", "--dr"}, want: []string{"--dry-run\t", "--drift-exit-code\t"}, directive: ":4"},
		{name: "global flags under a command", words: []string{"sync", "--no-e"}, want: []string{"--no-envsubst\t"}, directive: ":4"},
		{name: "enum value", words: []string{"sync", "-o", ""}, want: []string{"text", "yaml", "json"}, directive: ":4"},
		{name: "enum value after =", words: []string{"version", "--output=j"}, want: []string{"--output=json"}, directive: ":4"},
		{name: "config file argument", words: []string{"sync", ""}, directive: ":0"},
		{name: "after a flag value", words: []string{"sync", "--concurrency", "8", ""}, directive: ":0"},
		{name: "completion shells", words: []string{"completion", "f"}, want: []string{"fish"}, directive: ":4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{}, append([]string{"__complete"}, tt.words...)...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
			if got := lines[len(lines)-1]; got != tt.directive {
				t.Errorf("directive %q, want %q (output %q)", got, tt.directive, res.stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("candidates lack %q:\n%s", w, res.stdout)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(res.stdout, w) {
					t.Errorf("candidates must not offer %q:\n%s", w, res.stdout)
				}
			}
		})
	}
}

// repoRoot is the repository root, where examples/ lives.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// exampleEnv sets every variable the examples reference.
var exampleEnv = map[string]string{
	"GITHUB_REPOSITORY_OWNER": "my-org", "GH_TOKEN": "ghp_x", "FLUX_MIRROR_JWK": `{"kty":"OKP"}`,
	"REGISTRY_PASSWORD": "pw", "DOCKERHUB_USERNAME": "me", "DOCKERHUB_TOKEN": "t", "QUAY_TOKEN": "q",
}

func TestValidateExamples(t *testing.T) {
	root := repoRoot(t)
	valid, _ := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	invalid, _ := filepath.Glob(filepath.Join(root, "examples", "invalid", "*.yaml"))
	if len(valid) == 0 || len(invalid) == 0 {
		t.Fatalf("no examples found under %s/examples", root)
	}
	all := func(c *Config) {
		c.Omitted = nil
		c.Providers = append(allProviders(), TLSProvider{Name: "x509-svid", New: func(context.Context) (hostauth.SPIFFESource, io.Closer, error) {
			return nil, nil, errors.New("validate must not dial the Workload API")
		}})
	}
	for _, f := range valid {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// validate reads the files the example names, as sync does.
			f, env := withExampleFiles(t, f, exampleEnv)
			args := []string{"validate", f}
			if strings.HasPrefix(filepath.Base(f), "login-") {
				// hosts-only configs, as login and secret read them
				args = append(args, "--hosts-only")
			}
			res := run(t, runOpts{env: env, cfg: all}, args...)
			if res.code != 0 || !strings.HasPrefix(res.stdout, "✔ ") {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
		})
	}
	for _, f := range invalid {
		t.Run("invalid/"+filepath.Base(f), func(t *testing.T) {
			want := wantComment(t, f)
			res := run(t, runOpts{env: exampleEnv, cfg: all}, "validate", f)
			if res.code != 1 {
				t.Fatalf("exit %d, want 1; stdout %s", res.code, res.stdout)
			}
			if !strings.Contains(res.stderr, want) || !strings.HasPrefix(res.stderr, "✗ ") {
				t.Errorf("stderr does not name %q:\n%s", want, res.stderr)
			}
		})
	}
}

// wantComment reads the "# want: <substring>" first line of an invalid example.
func wantComment(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	want, ok := strings.CutPrefix(first, "# want: ")
	if !ok {
		t.Fatalf("%s: first line must be '# want: <error substring>'", path)
	}
	return strings.TrimSpace(want)
}

// allProviders stand in for the token and registry providers of a full
// build in validate tests: validate never calls them.
func allProviders() []auth.Factory {
	var out []auth.Factory
	for _, n := range []string{"github", "forgejo", "gcp", "azure", "aws", "jwt-svid"} {
		out = append(out, auth.TokenProvider{Name: n})
	}
	for _, n := range []string{"ecr", "acr", "gar"} {
		out = append(out, auth.RegistryProvider{Name: n})
	}
	return out
}

func TestProviderNotCompiled(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.yaml", `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: 123456789012.dkr.ecr.us-east-1.amazonaws.com
    provider: ecr
`)
	res := run(t, runOpts{}, "validate", "--hosts-only", p)
	if res.code != 1 {
		t.Fatalf("exit %d", res.code)
	}
	for _, want := range []string{`hosts[0] "123456789012.dkr.ecr.us-east-1.amazonaws.com": provider: "ecr" is not compiled into this flux-mirror binary`, "go build -tags fm_custom,fm_github,fm_secret,fm_verify,fm_aws"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
}

func TestValidateNoConfig(t *testing.T) {
	res := run(t, runOpts{}, "validate")
	if res.code != 1 || !strings.Contains(res.stderr, "FLUX_MIRROR_CONFIG") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestValidateHostsOnly(t *testing.T) {
	p := writeFile(t, t.TempDir(), "hosts.yaml", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n  - host: r.example.com\n    maxChunkSize: 1024\n")
	if res := run(t, runOpts{}, "validate", p); res.code != 1 || !strings.Contains(res.stderr, "artifacts or charts") {
		t.Errorf("a hosts-only config is not a sync config: exit %d %s", res.code, res.stderr)
	}
	if res := run(t, runOpts{}, "validate", "--hosts-only", p); res.code != 0 || res.stdout != "✔ "+p+" is valid (0 artifacts, 0 charts, 1 host) as mirror.plugin.fluxcd.io/v1beta1\n" {
		t.Errorf("--hosts-only: exit %d %q %s", res.code, res.stdout, res.stderr)
	}
}
