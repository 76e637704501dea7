package app

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/providers/github"
)

// TestSecretNameCheckedBeforeMinting: an invalid Secret name is rejected
// before any credential is minted; no request reaches the loopback token
// server. The valid name shows that the same setup does mint.
func TestSecretNameCheckedBeforeMinting(t *testing.T) {
	tokenURL, _, _ := actionsOIDC(t, "repo:my-org/mirror:ref:refs/heads/main")
	target, err := url.Parse(tokenURL)
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	target.Host = strings.TrimPrefix(counting.URL, "http://")
	t.Setenv(github.EnvRequestURL, target.String())
	t.Setenv(github.EnvRequestToken, "runtime-request-token")
	cfg := writeFile(t, t.TempDir(), "hosts.yaml", hostsHeader()+"hosts:\n  - host: registry.example.com\n    credential:\n      provider: github\n")
	withGitHub := func(c *Config) { c.Providers = []auth.Factory{github.NewFactory()} }

	tests := []struct {
		name, secret string
		wantErr      string
	}{
		{name: "upper case", secret: "Mirror-Creds", wantErr: `secret name "Mirror-Creds" is not a valid Kubernetes name`},
		{name: "underscore", secret: "mirror_creds", wantErr: "is not a valid Kubernetes name"},
		{name: "trailing dash", secret: "creds-", wantErr: "is not a valid Kubernetes name"},
		{name: "trailing dot", secret: "creds.", wantErr: "is not a valid Kubernetes name"},
		{name: "empty label", secret: "a..b", wantErr: "is not a valid Kubernetes name"},
		{name: "slash", secret: "ns/creds", wantErr: "is not a valid Kubernetes name"},
		{name: "too long", secret: strings.Repeat("a", 254), wantErr: "Kubernetes allows at most 253"},
		{name: "valid", secret: "mirror-creds.v1"},
		{name: "valid at 253", secret: strings.Repeat("a", 253)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := requests.Load()
			res := run(t, runOpts{cfg: withGitHub}, "secret", tt.secret, "-f", cfg, "--export", "-n", "flux-system")
			minted := requests.Load() - before
			if tt.wantErr == "" {
				if res.code != 0 || !strings.Contains(res.stdout, "name: "+tt.secret) || minted == 0 {
					t.Fatalf("exit %d, %d token requests\nstdout: %s\nstderr: %s", res.code, minted, res.stdout, res.stderr)
				}
				return
			}
			if res.code != 1 || !strings.HasPrefix(res.stderr, "✗ ") || !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q, want %q", res.code, res.stderr, tt.wantErr)
			}
			if minted != 0 {
				t.Errorf("%d token requests before the name was rejected", minted)
			}
			if strings.Contains(res.stderr, "⚠") {
				t.Errorf("credential warnings before the name was rejected:\n%s", res.stderr)
			}
		})
	}
}
