package azure

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/auth/authtest"
)

// TestTokenProviderContract runs the token provider contract with a client
// secret against a loopback Microsoft Entra authority that issues an
// access token for the scope of the audience asked.
func TestTokenProviderContract(t *testing.T) {
	authtest.TokenProviderContract(t, func(t *testing.T) authtest.Harness {
		isolate(t)
		gate := &authtest.Gate{}
		e := &entraServer{}
		e.Server = httptest.NewTLSServer(gate.Wrap(http.HandlerFunc(e.serve)))
		t.Cleanup(e.Close)
		useClientSecret(t, e)
		return authtest.Harness{
			Provider: NewTokenFactory(),
			Name:     TokenProviderName,
			Settings: auth.Settings{HTTPClient: newGuard(e.Server).client(), UserAgent: "flux-mirror/test"},
			Audience: "registry.example.com",
			Check: func(tok auth.Token, aud string) error {
				claims, err := auth.UnverifiedClaims(tok.Value)
				if err != nil {
					return err
				}
				if claims["aud"] != aud || claims["tid"] != tenantID {
					return fmt.Errorf("claims %v, want aud %s of tenant %s", claims, aud, tenantID)
				}
				return nil
			},
			Secrets: []string{clientSecret},
			Fail:    func() { gate.Fail(http.StatusUnauthorized) },
			Hang:    func() <-chan struct{} { return gate.Hang(t) },
		}
	})
}
