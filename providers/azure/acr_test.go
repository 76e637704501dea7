package azure

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

const acrHostName = "myregistry.azurecr.io"

// acrCredential runs the acr provider for host with the exchange pointed at
// the loopback ACR.
func acrCredential(t *testing.T, g *guard, host, exchangeBase string) (auth.Credential, error) {
	t.Helper()
	if NewRegistryFactory().Name != "acr" {
		t.Fatal("factory name")
	}
	f := registryFactory(func(string) string { return exchangeBase })
	src, err := f.New(context.Background(), host, auth.Settings{HTTPClient: g.client(), UserAgent: "flux-mirror/test"})
	if err != nil {
		return auth.Credential{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return src.Credential(ctx)
}

func TestACRExchange(t *testing.T) {
	isolate(t)
	e := newEntraServer(t)
	useClientSecret(t, e)
	a := newACRServer(t)
	g := newGuard(e.Server, a.Server)
	c, err := acrCredential(t, g, acrHostName, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "00000000-0000-0000-0000-000000000000" || !c.ExpiresAt.Equal(a.exp) {
		t.Errorf("credential = %s expiring %v, want %v", c, c.ExpiresAt, a.exp)
	}
	claims, err := auth.UnverifiedClaims(c.Secret)
	if err != nil || claims["aud"] != acrHostName || claims["grant_type"] != "refresh_token" {
		t.Errorf("refresh token claims = %v, %v", claims, err)
	}
	if !strings.Contains(e.forms[0].Get("scope"), "https://containerregistry.azure.net/.default") {
		t.Errorf("Entra scope = %q", e.forms[0].Get("scope"))
	}
	f := a.forms[0]
	if f.Get("grant_type") != "access_token" || f.Get("service") != acrHostName || f.Get("tenant") != tenantID || f.Get("access_token") == "" {
		t.Errorf("exchange form = %v", f)
	}
}

func TestACRExchangeWithWorkloadIdentity(t *testing.T) {
	isolate(t)
	e := newEntraServer(t)
	useWorkloadIdentity(t, e)
	a := newACRServer(t)
	c, err := acrCredential(t, newGuard(e.Server, a.Server), acrHostName, a.URL)
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret == "" || e.forms[0].Get("client_assertion") != federatedToken {
		t.Errorf("credential %s from token request %v", c, e.forms[0])
	}
}

func TestParseRegistryHost(t *testing.T) {
	tests := []struct {
		host, scope string
		cloud       cloud.Configuration
		err         bool
	}{
		{host: "myregistry.azurecr.io", scope: "https://containerregistry.azure.net/.default"},
		{host: "MyRegistry.AzureCR.io", scope: "https://containerregistry.azure.net/.default"},
		{host: "my-registry-abc123.azurecr.io", scope: "https://containerregistry.azure.net/.default"},
		{host: "gov.azurecr.us", scope: "https://containerregistry.azure.us/.default", cloud: cloud.AzureGovernment},
		{host: "china.azurecr.cn", scope: "https://containerregistry.azure.cn/.default", cloud: cloud.AzureChina},
		{host: "myregistry.azurecr.io:443", err: true},
		{host: "myregistry.azurecr.io.evil.example", err: true},
		{host: "azurecr.io", err: true},
		{host: "ghcr.io", err: true},
		{host: "-x.azurecr.io", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			reg, err := ParseRegistryHost(tt.host)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), "acr provider: ") {
					t.Fatalf("error %v, want one naming the provider", err)
				}
				return
			}
			if err != nil || reg.Scope != tt.scope || reg.Cloud.ActiveDirectoryAuthorityHost != tt.cloud.ActiveDirectoryAuthorityHost {
				t.Fatalf("got %+v, %v", reg, err)
			}
		})
	}
}

func TestACRErrors(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		setup   func(t *testing.T, e *entraServer, a *acrServer)
		down    bool
		want    []string
		wantErr error
	}{
		{
			name:  "not an ACR host",
			host:  "registry.example.com",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {},
			want:  []string{`acr provider: "registry.example.com" is not an Azure Container Registry login server`},
		},
		{
			name:  "missing environment",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {},
			want:  []string{"acr provider: no Azure identity is available for scope https://containerregistry.azure.net/.default"},
		},
		{
			name: "Entra refuses",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {
				useClientSecret(t, e)
				e.respond = func(w http.ResponseWriter) {
					entraError(w, http.StatusForbidden, "access_denied", "AADSTS50105: not assigned")
				}
			},
			want:    []string{"acr provider: Microsoft Entra ID refused the token request for scope https://containerregistry.azure.net/.default", "403 Forbidden: access_denied"},
			wantErr: core.ErrDenied,
		},
		{
			name: "exchange unauthorized",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {
				useClientSecret(t, e)
				a.respond = func(w http.ResponseWriter) {
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit https://aka.ms/acr/authorization"}]}`)
				}
			},
			want:    []string{"acr provider: exchange the Entra token for an ACR refresh token: the registry refused the exchange (does the identity hold AcrPull", "POST https://127.0.0.1:", "/oauth2/exchange: 401", "401 Unauthorized: UNAUTHORIZED: authentication required"},
			wantErr: core.ErrUnauthorized,
		},
		{
			name: "exchange malformed",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {
				useClientSecret(t, e)
				a.respond = func(w http.ResponseWriter) { fmt.Fprint(w, `{"access_token":"x"}`) }
			},
			want: []string{"/oauth2/exchange has no refresh_token"},
		},
		{
			name: "refresh token not a JWT",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {
				useClientSecret(t, e)
				a.respond = func(w http.ResponseWriter) { fmt.Fprint(w, `{"refresh_token":"opaque-refresh-secret"}`) }
			},
			want: []string{"returned a malformed refresh token: not a JWT"},
		},
		{
			name: "exchange redirects",
			setup: func(t *testing.T, e *entraServer, a *acrServer) {
				useClientSecret(t, e)
				a.respond = func(w http.ResponseWriter) {
					w.Header().Set("Location", "https://127.0.0.1:1/steal")
					w.WriteHeader(http.StatusTemporaryRedirect)
				}
			},
			want: []string{"307 Temporary Redirect"},
		},
		{
			name:  "exchange down",
			setup: func(t *testing.T, e *entraServer, a *acrServer) { useClientSecret(t, e) },
			down:  true,
			want:  []string{"acr provider: exchange the Entra token for an ACR refresh token: POST https://127.0.0.1:", "/oauth2/exchange: dial tcp", "connection refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			e := newEntraServer(t)
			a := newACRServer(t)
			tt.setup(t, e, a)
			host := tt.host
			if host == "" {
				host = acrHostName
			}
			base := a.URL
			if tt.down {
				base = closedURL(t)
			}
			g := newGuard(e.Server, a.Server)
			_, err := acrCredential(t, g, host, base)
			t.Logf("error: %v", err)
			checkError(t, err, tt.want, tt.wantErr, clientSecret, "opaque-refresh-secret", "eyJ")
			if len(a.forms) > 1 {
				t.Errorf("the exchange was sent %d times", len(a.forms))
			}
		})
	}
}
