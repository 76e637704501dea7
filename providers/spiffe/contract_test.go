package spiffe

import (
	"testing"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/auth/authtest"
	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

// TestTokenProviderContract runs the token provider contract against a
// loopback SPIFFE Workload API; the relying party verifies the JWT-SVID
// against the trust domain's JWT bundle.
func TestTokenProviderContract(t *testing.T) {
	t.Parallel()
	authtest.TokenProviderContract(t, func(t *testing.T) authtest.Harness {
		w := spiffetest.New(t, "example.org")
		return authtest.Harness{
			Provider: NewTokenFactory(env(map[string]string{EnvSocket: w.Socket()})),
			Name:     TokenProviderName,
			Audience: audience,
			Check: func(tok auth.Token, aud string) error {
				_, err := jwtsvid.ParseAndValidate(tok.Value, w.JWTBundle(), []string{aud})
				return err
			},
			Fail: func() { w.FailWith(status.Error(codes.PermissionDenied, "no identity issued")) },
			Hang: w.Hold,
		}
	})
}
