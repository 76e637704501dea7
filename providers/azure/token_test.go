package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

const audience = "api://flux-registry"

func mint(t *testing.T, g *guard, aud string) (auth.Token, error) {
	t.Helper()
	f := NewTokenFactory()
	if f.Name != "azure" {
		t.Fatalf("factory name = %q", f.Name)
	}
	ts, err := f.New(context.Background(), auth.Settings{HTTPClient: g.client(), UserAgent: "flux-mirror/test"})
	if err != nil {
		return auth.Token{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return ts.Token(ctx, aud)
}

func checkToken(t *testing.T, tok auth.Token) {
	t.Helper()
	checkTokenFor(t, tok, audience)
}

// checkTokenFor checks that tok is an Entra token for aud that lives about
// an hour.
func checkTokenFor(t *testing.T, tok auth.Token, aud string) {
	t.Helper()
	claims, err := auth.UnverifiedClaims(tok.Value)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if claims["aud"] != aud || claims["tid"] != tenantID {
		t.Errorf("token claims = %v", claims)
	}
	if life := time.Until(tok.ExpiresAt); life < 55*time.Minute || life > time.Hour {
		t.Errorf("ExpiresAt in %v, want about an hour", life)
	}
}

func TestTokenWithClientSecret(t *testing.T) {
	isolate(t)
	e := newEntraServer(t)
	useClientSecret(t, e)
	g := newGuard(e.Server)
	tok, err := mint(t, g, audience)
	if err != nil {
		t.Fatal(err)
	}
	checkToken(t, tok)
	if len(e.forms) != 1 || !strings.Contains(e.forms[0].Get("scope"), audience+"/.default") {
		t.Errorf("token requests = %v", e.forms)
	}
	if len(g.blocked) != 0 {
		t.Errorf("the SDK tried to reach %v (instance discovery must be off for a custom authority)", g.blocked)
	}
}

func TestTokenWithWorkloadIdentity(t *testing.T) {
	isolate(t)
	e := newEntraServer(t)
	useWorkloadIdentity(t, e)
	g := newGuard(e.Server)
	tok, err := mint(t, g, audience+"/")
	if err != nil {
		t.Fatal(err)
	}
	checkToken(t, tok)
	if f := e.forms[0]; f.Get("client_assertion") != federatedToken || f.Get("client_secret") != "" {
		t.Errorf("token request = %v, want the federated assertion", f)
	}
}

// TestTokenWithManagedIdentity uses the App Service managed identity
// protocol (IDENTITY_ENDPOINT/IDENTITY_HEADER), which can run on loopback.
var managedIdentityRuns atomic.Int32

func TestTokenWithManagedIdentity(t *testing.T) {
	isolate(t)
	var resources []string
	mi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != identityHeader || r.URL.Query().Get("api-version") != "2019-08-01" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		resources = append(resources, r.URL.Query().Get("resource"))
		json.NewEncoder(w).Encode(map[string]string{
			"access_token": entraToken(r.URL.Query().Get("resource")), "token_type": "Bearer",
			"expires_on": fmt.Sprint(time.Now().Add(time.Hour).Unix()), "resource": r.URL.Query().Get("resource"),
			"client_id": clientID,
		})
	}))
	t.Cleanup(mi.Close)
	t.Setenv("IDENTITY_ENDPOINT", mi.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", identityHeader)
	// MSAL keeps managed identity tokens in a process-wide cache, so each
	// run of this test (go test -count) asks for another audience.
	aud := fmt.Sprintf("%s-mi-%d", audience, managedIdentityRuns.Add(1))
	g := newGuard()
	tok, err := mint(t, g, aud)
	if err != nil {
		t.Fatal(err)
	}
	checkTokenFor(t, tok, aud)
	if len(resources) != 1 || resources[0] != aud {
		t.Errorf("managed identity resources = %v", resources)
	}
}

func TestScope(t *testing.T) {
	for in, want := range map[string]string{
		"api://app":                 "api://app/.default",
		"api://app/":                "api://app/.default",
		"api://app/.default":        "api://app/.default",
		clientID:                    clientID + "/.default",
		"https://registry.example/": "https://registry.example/.default",
	} {
		if got := Scope(in); got != want {
			t.Errorf("Scope(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, e *entraServer)
		aud     string
		want    []string
		wantErr error
	}{
		{
			name:  "missing environment",
			setup: func(t *testing.T, e *entraServer) {},
			want:  []string{"azure provider: no Azure identity is available for scope api://flux-registry/.default: set AZURE_TENANT_ID", "EnvironmentCredential"},
		},
		{
			name:  "empty audience",
			setup: useClientSecret,
			aud:   "-",
			want:  []string{"azure provider: the audience is empty"},
		},
		{
			name: "authority down",
			setup: func(t *testing.T, e *entraServer) {
				useClientSecret(t, e)
				t.Setenv(EnvAuthorityHost, closedURL(t)+"/")
			},
			want: []string{"azure provider: get a Microsoft Entra token for scope api://flux-registry/.default", "connection refused"},
		},
		{
			name: "invalid client secret",
			setup: func(t *testing.T, e *entraServer) {
				useClientSecret(t, e)
				t.Setenv("AZURE_CLIENT_SECRET", "wrong-secret-also-secret")
			},
			want:    []string{"azure provider: Microsoft Entra ID refused the token request for scope api://flux-registry/.default: POST https://127.0.0.1:", "/oauth2/v2.0/token: 401 Unauthorized: invalid_client: AADSTS7000215: Invalid client secret provided."},
			wantErr: core.ErrUnauthorized,
		},
		{
			name: "forbidden",
			setup: func(t *testing.T, e *entraServer) {
				useWorkloadIdentity(t, e)
				e.respond = func(w http.ResponseWriter) {
					entraError(w, http.StatusForbidden, "access_denied", "AADSTS70021: No matching federated identity record found")
				}
			},
			want:    []string{"403 Forbidden: access_denied: AADSTS70021: No matching federated identity record found"},
			wantErr: core.ErrDenied,
		},
		{
			name: "malformed token response",
			setup: func(t *testing.T, e *entraServer) {
				useClientSecret(t, e)
				e.respond = func(w http.ResponseWriter) { fmt.Fprint(w, `{"token_type":"Bearer","expires_in":3599}`) }
			},
			want: []string{"azure provider:"},
		},
		{
			name: "federated token file missing",
			setup: func(t *testing.T, e *entraServer) {
				useWorkloadIdentity(t, e)
				t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent/azure-identity-token")
			},
			want: []string{"azure provider:", "/nonexistent/azure-identity-token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			e := newEntraServer(t)
			tt.setup(t, e)
			aud := audience
			if tt.aud == "-" {
				aud = ""
			}
			g := newGuard(e.Server)
			_, err := mint(t, g, aud)
			t.Logf("error: %v", err)
			checkError(t, err, tt.want, tt.wantErr, clientSecret, "wrong-secret-also-secret", federatedToken, "federated-secret", identityHeader)
			for _, h := range g.blocked {
				if h != "169.254.169.254" && h != "169.254.169.254:80" {
					t.Errorf("the SDK tried to reach %s", h)
				}
			}
		})
	}
}
