package configfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

const header = "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n"

const minimal = header + `artifacts:
  - source: ghcr.io/fluxcd/flux-cli
    destination: quay.io/example/flux-cli
    selector:
      semver: ">=2.7.0 <3.0.0"
`

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noEnv(string) (string, bool) { return "", false }

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "conf", "flux-mirror.yaml"), minimal+`hosts:
  - host: quay.io
    username: robot
    credential:
      value: ${QUAY_TOKEN}
  - host: registry.example.com
    credential:
      fromPath: ./secrets/../secrets/token
  - host: tls.example.com
    tls:
      serverAuth: {fromPath: certs/ca.crt}
      clientAuth:
        certificate: {fromPath: certs/client.crt}
        key: {fromPath: certs/client.key}
`)
	env := func(k string) (string, bool) {
		if k == "QUAY_TOKEN" {
			return "s3cret", true
		}
		return "", false
	}
	// A relative path is resolved against WorkDir.
	c, err := Load(filepath.Join("conf", "flux-mirror.yaml"), Options{LookupEnv: env, WorkDir: dir})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	confDir := filepath.Join(dir, "conf")
	if got := c.Hosts[0].Credential.Value; got != "s3cret" {
		t.Errorf("substituted value: %q", got)
	}
	for got, want := range map[string]string{
		c.Hosts[1].Credential.FromPath:                 filepath.Join(confDir, "secrets", "token"),
		c.Hosts[2].TLS.ServerAuth.FromPath:             filepath.Join(confDir, "certs", "ca.crt"),
		c.Hosts[2].TLS.ClientAuth.Certificate.FromPath: filepath.Join(confDir, "certs", "client.crt"),
		c.Hosts[2].TLS.ClientAuth.Key.FromPath:         filepath.Join(confDir, "certs", "client.key"),
	} {
		if got != want {
			t.Errorf("resolved path: got %q, want %q", got, want)
		}
	}
	if c.Artifacts[0].Selector.EffectiveLimit() != 1 || c.Artifacts[0].Selector.Limit != nil {
		t.Errorf("defaults must not be written into the config: %+v", c.Artifacts[0].Selector)
	}
}

func TestLoadStdin(t *testing.T) {
	t.Parallel()
	wd := t.TempDir()
	in := strings.NewReader(header + "hosts:\n  - host: r.example\n    credential: {jwkPath: key.json, iss: ci, sub: mirror}\n")
	c, err := Load("-", Options{Stdin: in, WorkDir: wd, Purpose: config.PurposeHosts, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("Load(-): %v", err)
	}
	if got, want := c.Hosts[0].Credential.JWKPath, filepath.Join(wd, "key.json"); got != want {
		t.Errorf("stdin paths resolve against the working directory: got %q, want %q", got, want)
	}

	_, err = Load("-", Options{Stdin: strings.NewReader(header + "hosts:\n  - host: r.example\n    credential: {fromPath: ../t}\n"), WorkDir: wd, Purpose: config.PurposeHosts})
	want := `stdin: hosts[0] "r.example": credential.fromPath: "../t" escapes the working directory ` + wd + `; keep referenced files under it`
	if err == nil || err.Error() != want {
		t.Errorf("Load(-) escaping:\n got: %v\nwant: %s", err, want)
	}
}

func TestLoadNoEnvSubst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := write(t, filepath.Join(dir, "c.yaml"), header+"hosts:\n  - host: r.example\n    credential:\n      value: ${NOT_SET}\n")
	c, err := Load(p, Options{NoEnvSubst: true, Purpose: config.PurposeHosts, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Hosts[0].Credential.Value; got != "${NOT_SET}" {
		t.Errorf("value: got %q, want it literal", got)
	}
	_, err = Load(p, Options{Purpose: config.PurposeHosts, LookupEnv: noEnv})
	if want := p + ": line 6: environment variable NOT_SET is not set"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load with substitution: got %v, want prefix %q", err, want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		purpose       config.Purpose
		want          string // the error after "<file>: ", line by line
	}{
		{
			name:    "yaml syntax error names the line",
			content: header + "artifacts:\n  - source: a\n   destination: b\n",
			want:    "invalid YAML: line 4: did not find expected '-' indicator",
		},
		{
			name:    "tab indentation",
			content: header + "artifacts:\n\t- source: x\n",
			want:    "invalid YAML: line 4: found character that cannot start any token",
		},
		{
			name:    "duplicate key",
			content: header + "kind: Config\n",
			want:    `invalid YAML: line 3: key "kind" already set in map`,
		},
		{
			name:    "two documents",
			content: minimal + "---\n" + minimal,
			want:    "the file holds 2 YAML documents; a config is a single document (remove the --- separators)",
		},
		{
			name:    "empty document first",
			content: "---\n---\n" + minimal,
			want:    "the config must be the first YAML document; remove the empty document before it",
		},
		{
			name:    "empty file",
			content: "",
			want:    "the config is empty; it needs apiVersion: mirror.plugin.fluxcd.io/v1beta1, kind: Config and artifacts, charts or hosts",
		},
		{
			name:    "only comments",
			content: "# nothing here\n\n",
			want:    "the config is empty; it needs apiVersion: mirror.plugin.fluxcd.io/v1beta1, kind: Config and artifacts, charts or hosts",
		},
		{
			name:    "a list",
			content: "- a\n- b\n",
			want:    "the document must be a mapping with apiVersion, kind and artifacts, charts or hosts, got a list",
		},
		{
			name:    "unknown field",
			content: minimal + "    selektor: {}\n",
			want:    `artifacts[0].selektor: unknown field (known: source, destination, selector, includeReferrers, verify, overwrite); did you mean "selector"?`,
		},
		{
			name:    "yaml 1.1 boolean for a string",
			content: header + "hosts:\n  - host: r.example\n    username: no\n    credential: {value: x}\n",
			purpose: config.PurposeHosts,
			want:    `hosts[0] "r.example": username: must be a string, got a boolean (quote the value in YAML, e.g. "1.10" or "yes")`,
		},
		{
			name:    "validation errors are all reported",
			content: header + "artifacts:\n  - source: ghcr.io/a/b\n    destination: quay.io/a/b\n    selector: {sortBy: date, limit: -1}\n",
			want: `artifacts[0].selector.sortBy: "date" must be one of semver, alphabetical, numerical` + "\n" +
				"artifacts[0].selector.limit: must be >= 0 (0 mirrors every matching tag), got -1",
		},
		{
			name:    "sync needs something to mirror",
			content: header + "hosts:\n  - host: r.example\n    provider: acr\n",
			want:    "nothing to mirror: at least one artifacts or charts entry is required",
		},
		{
			name:    "validation and path errors together",
			content: header + "hosts:\n  - host: r.example\n    provider: GCR\n  - host: s.example\n    credential: {fromPath: /etc/passwd}\n",
			purpose: config.PurposeHosts,
			want: `hosts[0] "r.example": provider: "GCR" is not a provider name: use lower-case letters, digits and '-', starting with a letter or digit (e.g. github, ecr)` + "\n" +
				`hosts[1] "s.example": credential.fromPath: "/etc/passwd" is outside the config directory DIR; keep referenced files under it and write the path relative to it`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := write(t, filepath.Join(dir, "flux-mirror.yaml"), tt.content)
			c, err := Load(p, Options{Purpose: tt.purpose, LookupEnv: noEnv})
			if err == nil {
				t.Fatalf("Load: no error, got %+v", c)
			}
			var lines []string
			for _, l := range strings.Split(strings.ReplaceAll(tt.want, "DIR", dir), "\n") {
				lines = append(lines, p+": "+l)
			}
			if want := strings.Join(lines, "\n"); err.Error() != want {
				t.Errorf("Load:\n got: %s\nwant: %s", err, want)
			}
			var le *Error
			if !errors.As(err, &le) || le.File != p {
				t.Errorf("not an *Error for %s: %#v", p, err)
			}
		})
	}
}

func TestLoadReadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, path string
		opts       Options
		want       string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), Options{}, filepath.Join(dir, "nope.yaml") + ": cannot read the config: no such file or directory"},
		{"directory", dir, Options{}, dir + ": cannot read the config: is a directory, not a config file"},
		{"no path", "", Options{}, "no config file given"},
		{"too large", "-", Options{Stdin: strings.NewReader(strings.Repeat("#", MaxSize+1))}, "stdin: cannot read the config: the config is larger than 4 MiB"},
		{"stdin read error", "-", Options{Stdin: errReader{}}, "stdin: cannot read the config: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.path, tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load:\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

func TestParse(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	c, err := Parse([]byte(header+"hosts:\n  - host: r.example\n    credential: {fromPath: tok}\n"), root, Options{Purpose: config.PurposeHosts, LookupEnv: noEnv})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Hosts[0].Credential.FromPath; got != filepath.Join(root, "tok") {
		t.Errorf("fromPath: %q", got)
	}
	_, err = Parse([]byte("kind: x"), root, Options{LookupEnv: noEnv})
	if err == nil || strings.HasPrefix(err.Error(), root) {
		t.Errorf("Parse errors carry no file name: %v", err)
	}
	if fes := config.FieldErrors(err); len(fes) != 3 || fes[0].Path != "apiVersion" || fes[1].Path != "kind" {
		t.Errorf("FieldErrors: %+v", fes)
	}
}
