package github

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

const requestToken = "ghs_request-token-secret"

// jwtWithExp builds an (unsigned) JWT carrying exp, as the endpoint's
// tokens do; the provider only reads exp for caching.
func jwtWithExp(exp int64) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"iss":"https://token.actions.githubusercontent.com","aud":"registry.example.com","exp":%d}`, exp))) + ".c2ln"
}

// actionsServer speaks the Actions OIDC protocol: GET with the runtime's
// api-version query, an audience parameter and the request token.
func actionsServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(handler))
	t.Cleanup(srv.Close)
	return srv
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func newSource(t *testing.T, name string, vars map[string]string) auth.TokenSource {
	t.Helper()
	ts, err := factory(name, env(vars)).New(context.Background(), auth.Settings{UserAgent: "flux-mirror/test"})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestTokenSpeaksActionsProtocol(t *testing.T) {
	exp := time.Now().Add(5 * time.Minute).Truncate(time.Second)
	jwt := jwtWithExp(exp.Unix())
	srv := actionsServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", r.Method)
		}
		if got := r.Header.Get("Authorization"); got != "bearer "+requestToken {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		if got := r.URL.Query().Get("api-version"); got != "2.0" {
			t.Errorf("api-version = %q: the runtime's query must be kept", got)
		}
		if got := r.URL.Query().Get("audience"); got != "registry.example.com" {
			t.Errorf("audience = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "flux-mirror/test" {
			t.Errorf("User-Agent = %q", got)
		}
		fmt.Fprintf(w, `{"count":1800,"value":%q}`, jwt)
	})
	for _, name := range []string{"github", "forgejo"} {
		t.Run(name, func(t *testing.T) {
			ts := newSource(t, name, map[string]string{
				EnvRequestURL:   srv.URL + "/_apis/pipelines/workflows/1/idtoken?api-version=2.0",
				EnvRequestToken: requestToken,
			})
			tok, err := ts.Token(context.Background(), "registry.example.com")
			if err != nil {
				t.Fatal(err)
			}
			if tok.Value != jwt {
				t.Errorf("token = %q, want the endpoint's value", tok.Value)
			}
			if !tok.ExpiresAt.Equal(exp) {
				t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, exp)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	tests := []struct {
		name    string
		vars    map[string]string
		handler func(w http.ResponseWriter, r *http.Request)
		want    string
		wantErr error
	}{
		{
			name: "missing environment",
			vars: map[string]string{},
			want: "github provider: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN must be set",
		},
		{
			name: "forbidden",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "no id-token permission", http.StatusForbidden)
			},
			want:    "refused the request",
			wantErr: core.ErrDenied,
		},
		{
			name:    "malformed JSON",
			handler: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<html>`) },
			want:    "returned no token",
		},
		{
			name:    "not a JWT",
			handler: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"value":"opaque"}`) },
			want:    "malformed token: not a JWT",
		},
		{
			name: "endpoint down",
			vars: map[string]string{EnvRequestURL: downURL + "/idtoken?api-version=2.0", EnvRequestToken: requestToken},
			want: "github provider: request an ID token from " + downURL + "/idtoken",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := tt.vars
			if tt.handler != nil {
				srv := actionsServer(t, tt.handler)
				vars = map[string]string{EnvRequestURL: srv.URL + "/idtoken?api-version=2.0", EnvRequestToken: requestToken}
			}
			_, err := newSource(t, "github", vars).Token(context.Background(), "aud")
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), requestToken) {
				t.Errorf("error leaks the request token: %v", err)
			}
		})
	}
}
