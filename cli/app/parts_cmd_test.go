package app

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// slim is a build with the GitHub providers only: no secret, no verify.
func slim(c *Config) {
	c.Secret, c.Verify = nil, nil
	c.Built = []string{"fm_github"}
	c.Omitted = append(c.Omitted, Omitted{Name: "secret", Tag: "fm_secret"}, Omitted{Name: "verify", Tag: "fm_verify"})
}

// TestLeftOutParts runs commands that need an optional part, or a provider
// no build knows, in a binary without it: each fails before any work with
// what to do about it.
func TestLeftOutParts(t *testing.T) {
	dir := t.TempDir()
	verifyCfg := writeFile(t, dir, "verify.yaml", hostsHeader()+"artifacts:\n  - source: ghcr.io/org/app\n    destination: quay.io/org/app\n    selector: {semver: \"*\"}\n    verify:\n      provider: cosign\n      matchOIDCIdentity:\n        - issuer: https://token.actions.githubusercontent.com\n          subject: ^https://github\\.com/org/.*$\n")
	hosts := writeFile(t, dir, "hosts.yaml", hostsHeader()+"hosts:\n  - host: registry.example.com\n    credential:\n      value: tok\n")
	unknown := writeFile(t, dir, "gitlab.yaml", hostsHeader()+"hosts:\n  - host: registry.gitlab.com\n    credential:\n      provider: gitlab\n  - host: quay.io\n    provider: quay\n")
	tests := []struct {
		name string
		cfg  func(*Config)
		args []string
		want []string
	}{
		{
			name: "verify in a build without it",
			cfg:  slim,
			args: []string{"validate", verifyCfg},
			want: []string{`artifacts[0].verify: signature verification (the verify part) is not compiled into this flux-mirror binary`, "go build -tags fm_custom,fm_github,fm_verify "},
		},
		{
			name: "sync with verify in a build without it",
			cfg:  slim,
			args: []string{"sync", verifyCfg},
			want: []string{`artifacts[0].verify: signature verification (the verify part) is not compiled`, "go build -tags fm_custom,fm_github,fm_verify "},
		},
		{
			name: "secret in a build without it",
			cfg:  slim,
			args: []string{"secret", "creds", "-f", hosts, "--export", "-n", "flux-system"},
			want: []string{"the secret command (the secret part) is not compiled into this flux-mirror binary", "go build -tags fm_custom,fm_github,fm_secret "},
		},
		{
			name: "unknown providers name this build's and the left-out ones",
			args: []string{"validate", "--hosts-only", unknown},
			want: []string{
				`hosts[0] "registry.gitlab.com": credential.provider: "gitlab" is not a provider of this flux-mirror binary; it has forgejo, github, and left out aws`,
				`hosts[1] "quay.io": provider: "quay" is not a provider of this flux-mirror binary; it has no providers, and left out ecr`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{cfg: tt.cfg}, tt.args...)
			if res.code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
		})
	}
}

// TestVersionParts checks that version lists the parts compiled in and the
// ones left out, next to the providers.
func TestVersionParts(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*Config)
		wantText []string
		wantJSON []string
	}{
		{
			name:     "full",
			wantText: []string{"providers: forgejo, github\n", "parts: secret, verify\n", "omitted: aws, ecr\n"},
			wantJSON: []string{`"parts": [`, `"secret"`, `"verify"`},
		},
		{
			name:     "slim",
			cfg:      slim,
			wantText: []string{"parts: \n", "omitted: aws, ecr, secret, verify\n"},
			wantJSON: []string{`"parts": []`, `"omittedParts": [`},
		},
		{
			name: "extra provider from a custom main",
			cfg: func(c *Config) {
				c.Providers = append(c.Providers, auth.TokenProvider{Name: "gitlab"})
			},
			wantText: []string{"providers: forgejo, github, gitlab\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{cfg: tt.cfg}, "version")
			for _, w := range tt.wantText {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("version lacks %q:\n%s", w, res.stdout)
				}
			}
			res = run(t, runOpts{cfg: tt.cfg}, "version", "-o", "json")
			for _, w := range tt.wantJSON {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("version -o json lacks %q:\n%s", w, res.stdout)
				}
			}
		})
	}
}
