package gcp

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/auth/authtest"
)

// TestTokenProviderContract runs the token provider contract against a
// loopback GCE metadata server whose identity endpoint signs a Google-style
// ID token for the audience asked; the relying party verifies it with the
// test's Google key.
func TestTokenProviderContract(t *testing.T) {
	authtest.TokenProviderContract(t, func(t *testing.T) authtest.Harness {
		e := isolate(t)
		gate := &authtest.Gate{}
		srv := httptest.NewServer(gate.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Metadata-Flavor", "Google")
			aud := r.URL.Query().Get("audience")
			if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Path != "/computeMetadata/v1/"+identityPath || aud == "" {
				http.Error(w, "not served by this metadata server", http.StatusNotFound)
				return
			}
			fmt.Fprint(w, idToken(aud, "1234567890", time.Now().Add(time.Hour)))
		})))
		t.Cleanup(srv.Close)
		t.Setenv(EnvMetadataHost, strings.TrimPrefix(srv.URL, "http://"))
		return authtest.Harness{
			Provider: tokenFactory(e),
			Name:     TokenProviderName,
			Settings: auth.Settings{UserAgent: "flux-mirror/test"},
			Audience: audience,
			Check: func(tok auth.Token, aud string) error {
				claims, err := verifyJWT(tok.Value, &googleKey.PublicKey)
				if err != nil {
					return err
				}
				if claims["aud"] != aud {
					return fmt.Errorf("aud %v, want %s", claims["aud"], aud)
				}
				return nil
			},
			Secrets: []string{accessToken},
			Fail:    func() { gate.Fail(http.StatusForbidden) },
			Hang:    func() <-chan struct{} { return gate.Hang(t) },
		}
	})
}
