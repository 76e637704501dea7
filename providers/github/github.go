// Package github mints OIDC ID tokens from the GitHub Actions (and Forgejo
// Actions) token endpoint, for flux-mirror's credential.provider values
// "github" and "forgejo".
//
// A job with `permissions: id-token: write` gets two environment variables:
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. A GET of the
// URL with an added audience query parameter, authorized with the request
// token, returns {"value": "<JWT>"}. Forgejo's runner implements the same
// protocol; the two are kept as separate providers so that they can diverge.
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// The environment variables of the Actions OIDC protocol.
const (
	EnvRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// maxResponse bounds the token endpoint's answer.
const maxResponse = 1 << 20

// NewFactory returns the factory of the "github" token provider.
func NewFactory() auth.TokenProvider { return factory("github", os.LookupEnv) }

// NewForgejoFactory returns the factory of the "forgejo" token provider.
func NewForgejoFactory() auth.TokenProvider { return factory("forgejo", os.LookupEnv) }

func factory(name string, lookup func(string) (string, bool)) auth.TokenProvider {
	return auth.TokenProvider{
		Name: name,
		New: func(_ context.Context, s auth.Settings) (auth.TokenSource, error) {
			client := s.HTTPClient
			if client == nil {
				client = http.DefaultClient
			}
			return &source{name: name, lookup: lookup, client: client, userAgent: s.UserAgent}, nil
		},
	}
}

// source requests a token per call; hostauth caches it until near expiry.
type source struct {
	name      string
	lookup    func(string) (string, bool)
	client    *http.Client
	userAgent string
}

var _ auth.TokenSource = (*source)(nil)

// Token requests an ID token for audience from the Actions OIDC endpoint.
func (s *source) Token(ctx context.Context, audience string) (auth.Token, error) {
	reqURL, _ := s.lookup(EnvRequestURL)
	reqToken, _ := s.lookup(EnvRequestToken)
	if reqURL == "" || reqToken == "" {
		return auth.Token{}, fmt.Errorf("%s provider: %s and %s must be set: run inside %s Actions with the job permission `id-token: write`",
			s.name, EnvRequestURL, EnvRequestToken, s.platform())
	}
	u, err := url.Parse(reqURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return auth.Token{}, fmt.Errorf("%s provider: %s is not an http(s) URL", s.name, EnvRequestURL)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return auth.Token{}, fmt.Errorf("%s provider: %w", s.name, err)
	}
	req.Header.Set("Authorization", "bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	if s.userAgent != "" {
		req.Header.Set("User-Agent", s.userAgent)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return auth.Token{}, fmt.Errorf("%s provider: request an ID token from %s: %w", s.name, redact(u), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return auth.Token{}, fmt.Errorf("%s provider: read the token response: %w", s.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		herr := &core.HTTPError{Method: http.MethodGet, URL: redact(u), StatusCode: resp.StatusCode}
		return auth.Token{}, fmt.Errorf("%s provider: the Actions OIDC endpoint refused the request (does the job have `permissions: id-token: write`?): %w", s.name, herr)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return auth.Token{}, fmt.Errorf("%s provider: the Actions OIDC endpoint returned no token (expected JSON {\"value\": \"<jwt>\"})", s.name)
	}
	exp, err := auth.JWTExpiry(out.Value)
	if err != nil {
		return auth.Token{}, fmt.Errorf("%s provider: the Actions OIDC endpoint returned a malformed token: %w", s.name, err)
	}
	return auth.Token{Value: out.Value, ExpiresAt: exp}, nil
}

func (s *source) platform() string {
	if s.name == "forgejo" {
		return "Forgejo"
	}
	return "GitHub"
}

// redact drops the query, which carries no secret here but may carry
// runner-specific parameters, and any userinfo.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}
