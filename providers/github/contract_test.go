package github

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/auth/authtest"
)

// TestTokenProviderContract runs the token provider contract for both
// names against a loopback Actions OIDC endpoint that mints a JWT for the
// audience asked.
func TestTokenProviderContract(t *testing.T) {
	for _, name := range []string{"github", "forgejo"} {
		t.Run(name, func(t *testing.T) {
			authtest.TokenProviderContract(t, func(t *testing.T) authtest.Harness {
				gate := &authtest.Gate{}
				srv := httptest.NewServer(gate.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("Authorization") != "bearer "+requestToken {
						http.Error(w, "bad request token", http.StatusUnauthorized)
						return
					}
					fmt.Fprintf(w, `{"value":%q}`, jwtFor(r.URL.Query().Get("audience"), time.Now().Add(5*time.Minute)))
				})))
				t.Cleanup(srv.Close)
				return authtest.Harness{
					Provider: factory(name, env(map[string]string{
						EnvRequestURL:   srv.URL + "/idtoken?api-version=2.0",
						EnvRequestToken: requestToken,
					})),
					Name:     name,
					Audience: "registry.example.com",
					Check:    checkAudience,
					Secrets:  []string{requestToken},
					Fail:     func() { gate.Fail(http.StatusForbidden) },
					Hang:     func() <-chan struct{} { return gate.Hang(t) },
				}
			})
		})
	}
}

// jwtFor builds an (unsigned) JWT for aud expiring at exp.
func jwtFor(aud string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"iss": "https://token.actions.githubusercontent.com", "aud": aud, "exp": exp.Unix()})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + ".c2ln"
}

// checkAudience is the relying party's audience check of a token from
// jwtFor.
func checkAudience(tok auth.Token, aud string) error {
	parts := strings.Split(tok.Value, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var c struct {
		Aud string `json:"aud"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	if c.Aud != aud {
		return fmt.Errorf("aud %q, want %q", c.Aud, aud)
	}
	return nil
}
