package exampleprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/providers/github"
)

const jobToken = "job-token-1"

// tokenEndpoint is a loopback GitLab-like ID token endpoint: it mints
// "id-token-for-<audience>" for the job token.
func tokenEndpoint(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+jobToken {
			http.Error(w, "bad job token", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "id-token-for-" + r.URL.Query().Get("audience"), "expires_in": 300})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCustomProviderThroughTheCLI runs the real CLI in-process, as a
// custom main would, with one factory more than the stock providers: a
// config naming it validates and login mints through it, and the same
// config in a CLI without the factory is refused with the names it has.
func TestCustomProviderThroughTheCLI(t *testing.T) {
	srv := tokenEndpoint(t)
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts.yaml")
	if err := os.WriteFile(hosts, []byte(`apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: registry.gitlab.example
    credential:
      provider: gitlab
`), 0o600); err != nil {
		t.Fatal(err)
	}
	stock := []auth.Factory{github.NewFactory(), github.NewForgejoFactory()}
	withGitLab := append(append([]auth.Factory(nil), stock...), NewFactory(srv.URL, jobToken))
	dockerDir := t.TempDir()
	tests := []struct {
		name      string
		providers []auth.Factory
		args      []string
		wantCode  int
		wantOut   string
		wantErr   string
	}{
		{name: "version lists it", providers: withGitLab, args: []string{"version"}, wantOut: "providers: forgejo, github, gitlab\n"},
		{name: "validate accepts it", providers: withGitLab, args: []string{"validate", "--hosts-only", hosts}, wantOut: "is valid"},
		{name: "login mints through it", providers: withGitLab, args: []string{"login", "-f", hosts, "--plaintext", "--docker-config", dockerDir}, wantOut: "registry.gitlab.example"},
		{
			name: "a CLI without it refuses it", providers: stock, args: []string{"validate", "--hosts-only", hosts}, wantCode: 1,
			wantErr: `hosts[0] "registry.gitlab.example": credential.provider: "gitlab" is not a provider of this flux-mirror binary; it has forgejo, github`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := app.Main(context.Background(), app.Config{
				Args:      tt.args,
				Stdout:    &stdout,
				Stderr:    &stderr,
				LookupEnv: func(string) (string, bool) { return "", false },
				Providers: tt.providers,
			})
			if code != tt.wantCode || !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s (want …%s…)\nstderr: %s (want …%s…)", code, tt.wantCode, stdout.String(), tt.wantOut, stderr.String(), tt.wantErr)
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(dockerDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "id-token-for-registry.gitlab.example"; !strings.Contains(string(b), want) {
		t.Errorf("the Docker config does not hold the minted token %s:\n%s", want, b)
	}
}

// TestTokenFailures checks the provider's own errors: they name the
// endpoint's host and never the job token.
func TestTokenFailures(t *testing.T) {
	srv := tokenEndpoint(t)
	tests := []struct {
		name, endpoint, jobToken, want string
	}{
		{"wrong job token", srv.URL, "other", "answered 401 Unauthorized"},
		{"no endpoint", "", jobToken, "no token endpoint configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFactory(tt.endpoint, tt.jobToken)
			src, err := f.New(context.Background(), auth.Settings{})
			if err == nil {
				_, err = src.Token(context.Background(), "aud")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.jobToken) && tt.jobToken != "" {
				t.Fatalf("error %v, want …%s… without the job token", err, tt.want)
			}
		})
	}
}
