package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

const garHost = "europe-west1-docker.pkg.dev"

func garCredential(t *testing.T, e env, host string) (auth.Credential, error) {
	t.Helper()
	f := registryFactory(e)
	if f.Name != "gar" || NewRegistryFactory().Name != "gar" {
		t.Fatalf("factory name = %q", f.Name)
	}
	src, err := f.New(context.Background(), host, auth.Settings{})
	if err != nil {
		return auth.Credential{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return src.Credential(ctx)
}

func TestGARFromMetadataServer(t *testing.T) {
	e := isolate(t)
	m := newMetadataServer(t)
	before := time.Now()
	c, err := garCredential(t, e, garHost)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "oauth2accesstoken" || c.Secret != accessToken {
		t.Errorf("credential = %s / %q", c, c.Secret)
	}
	if lo, hi := before.Add(3599*time.Second), time.Now().Add(3599*time.Second); c.ExpiresAt.Before(lo) || c.ExpiresAt.After(hi) {
		t.Errorf("ExpiresAt = %v, want now+3599s", c.ExpiresAt)
	}
	if len(m.queries) != 1 || m.queries[0].Get("scopes") != cloudPlatform {
		t.Errorf("metadata queries = %v", m.queries)
	}
}

func TestGARFromServiceAccountKey(t *testing.T) {
	e := isolate(t)
	g := newGoogleServer(t)
	t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
	c, err := garCredential(t, e, "us-docker.pkg.dev")
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != Username || c.Secret != accessToken || c.ExpiresAt.IsZero() {
		t.Errorf("credential = %s / %q expires %v", c, c.Secret, c.ExpiresAt)
	}
	if g.assertion["scope"] != cloudPlatform {
		t.Errorf("assertion scope = %v", g.assertion["scope"])
	}
}

func TestGARFromWorkloadIdentityFederation(t *testing.T) {
	e := isolate(t)
	g := newGoogleServer(t)
	t.Setenv(EnvCredentials, g.externalAccountFile(t, true))
	c, err := garCredential(t, e, "gcr.io")
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != accessToken || !c.ExpiresAt.Equal(g.exp) {
		t.Errorf("credential %q expires %v, want the impersonated token expiring %v", c.Secret, c.ExpiresAt, g.exp)
	}
	want := []string{"/v1/token", "/v1/projects/-/serviceAccounts/" + saEmail + ":generateAccessToken"}
	if fmt.Sprint(g.requests) != fmt.Sprint(want) {
		t.Errorf("requests = %v, want %v", g.requests, want)
	}
}

func TestGARErrors(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		setup   func(t *testing.T, g *googleServer)
		want    []string
		wantErr error
	}{
		{
			name:  "not a Google registry",
			host:  "registry.example.com",
			setup: func(t *testing.T, g *googleServer) {},
			want:  []string{`gar provider: "registry.example.com" is not a Google Artifact Registry or Container Registry host`},
		},
		{
			name:  "lookalike host",
			host:  "europe-docker.pkg.dev.evil.example",
			setup: func(t *testing.T, g *googleServer) {},
			want:  []string{"is not a Google Artifact Registry"},
		},
		{
			name:  "missing environment",
			setup: func(t *testing.T, g *googleServer) {},
			want:  []string{"gar provider: no Google credentials found"},
		},
		{
			name:  "metadata server down",
			setup: func(t *testing.T, g *googleServer) { t.Setenv(EnvMetadataHost, closedAddr(t)) },
			want:  []string{"gar provider: request an access token from the metadata server"},
		},
		{
			name: "metadata server forbids",
			setup: func(t *testing.T, g *googleServer) {
				newMetadataServer(t).token = func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "Caller is not authorized", http.StatusForbidden)
				}
			},
			want:    []string{"/computeMetadata/v1/instance/service-accounts/default/token: 403 Forbidden"},
			wantErr: core.ErrDenied,
		},
		{
			name: "metadata server malformed",
			setup: func(t *testing.T, g *googleServer) {
				newMetadataServer(t).token = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"token_type":"Bearer"}`) }
			},
			want: []string{"gar provider: the metadata server returned a malformed token response"},
		},
		{
			name: "token endpoint forbids",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
				g.respond["/token"] = func(w http.ResponseWriter) { oauthError(w, http.StatusForbidden, "access_denied", "Account disabled") }
			},
			want:    []string{"gar provider: obtain an access token with the service_account credentials in", "403 Forbidden: access_denied"},
			wantErr: core.ErrDenied,
		},
		{
			name: "token endpoint down",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, g.serviceAccountKeyFile(t))
				g.Close()
			},
			want: []string{"gar provider: obtain an access token with the service_account credentials"},
		},
		{
			name: "unknown credentials type",
			setup: func(t *testing.T, g *googleServer) {
				t.Setenv(EnvCredentials, writeJSON(t, "x.json", map[string]string{"type": "mystery"}))
			},
			want: []string{`gar provider: the mystery credentials in`, "are not usable"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := isolate(t)
			g := newGoogleServer(t)
			tt.setup(t, g)
			host := tt.host
			if host == "" {
				host = garHost
			}
			_, err := garCredential(t, e, host)
			t.Logf("error: %v", err)
			checkError(t, err, tt.want, tt.wantErr, secrets(g)...)
		})
	}
}

func TestRegistryHosts(t *testing.T) {
	for host, want := range map[string]bool{
		"us-docker.pkg.dev": true, "europe-west1-docker.pkg.dev": true, "gcr.io": true, "eu.gcr.io": true,
		"US-DOCKER.PKG.DEV": true, "docker.pkg.dev": false, "us-docker.pkg.dev:443": false, "evilgcr.io": false,
		"gcr.io.evil.example": false, "us-maven.pkg.dev": false, "": false,
	} {
		if got := registryHost.MatchString(strings.ToLower(host)); got != want {
			t.Errorf("registry host %q: got %v, want %v", host, got, want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, readFile(t, from), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeRaw(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "raw.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func rawJSON(b []byte) json.RawMessage { return json.RawMessage(b) }
