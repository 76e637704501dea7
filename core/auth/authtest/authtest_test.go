package authtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/auth/authtest"
)

const clientSecret = "example-client-secret"

// exampleSource asks a token endpoint for a token per call, the way the
// provider modules do, so that the suite and the Gate are checked here
// with the standard library alone.
type exampleSource struct{ endpoint string }

func (s exampleSource) Token(ctx context.Context, audience string) (auth.Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"?audience="+url.QueryEscape(audience), nil)
	if err != nil {
		return auth.Token{}, fmt.Errorf("example provider: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return auth.Token{}, fmt.Errorf("example provider: request a token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return auth.Token{}, fmt.Errorf("example provider: the token endpoint answered %d", resp.StatusCode)
	}
	_, exp, _ := strings.Cut(string(body), ";exp=")
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return auth.Token{}, fmt.Errorf("example provider: malformed token")
	}
	return auth.Token{Value: string(body), ExpiresAt: time.Unix(sec, 0)}, nil
}

func TestTokenProviderContract(t *testing.T) {
	authtest.TokenProviderContract(t, func(t *testing.T) authtest.Harness {
		gate := &authtest.Gate{}
		srv := httptest.NewServer(gate.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+clientSecret {
				http.Error(w, "unknown client", http.StatusUnauthorized)
				return
			}
			fmt.Fprintf(w, "aud=%s;exp=%d", r.URL.Query().Get("audience"), time.Now().Add(time.Hour).Unix())
		})))
		t.Cleanup(srv.Close)
		return authtest.Harness{
			Provider: auth.TokenProvider{Name: "example", New: func(context.Context, auth.Settings) (auth.TokenSource, error) {
				return exampleSource{endpoint: srv.URL}, nil
			}},
			Name:     "example",
			Audience: "registry.example.com",
			Check: func(tok auth.Token, aud string) error {
				if !strings.HasPrefix(tok.Value, "aud="+aud+";") {
					return fmt.Errorf("token %q is not for %s", tok.Value, aud)
				}
				return nil
			},
			Secrets: []string{clientSecret},
			Fail:    func() { gate.Fail(http.StatusForbidden) },
			Hang:    func() <-chan struct{} { return gate.Hang(t) },
		}
	})
}
