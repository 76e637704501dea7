// Package exampleprovider is a provider defined outside flux-mirror's core
// and CLI, for tests: a GitLab-like CI identity whose token endpoint mints
// an ID token for an audience. It proves that a custom main (or an
// in-process app.Main) adds a provider with one more factory in its list,
// with no change to core; CONTRIBUTING.md walks through a real one.
package exampleprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// Name is the credential.provider value of this provider.
const Name = "gitlab"

// maxResponse bounds the token endpoint's answer.
const maxResponse = 1 << 20

// NewFactory returns the factory of the "gitlab" token provider, which asks
// endpoint (GET ?audience=…, with jobToken as the bearer) for an ID token.
func NewFactory(endpoint, jobToken string) auth.TokenProvider {
	return auth.TokenProvider{
		Name: Name,
		New: func(_ context.Context, s auth.Settings) (auth.TokenSource, error) {
			if endpoint == "" {
				return nil, errors.New("gitlab: no token endpoint configured")
			}
			client := s.HTTPClient
			if client == nil {
				client = http.DefaultClient
			}
			return &source{endpoint: endpoint, jobToken: jobToken, client: client, userAgent: s.UserAgent}, nil
		},
	}
}

var _ auth.TokenSource = (*source)(nil)

// source requests a token per call; the CLI caches it until near expiry.
type source struct {
	endpoint, jobToken string
	client             *http.Client
	userAgent          string
}

// Token mints an ID token for audience.
func (s *source) Token(ctx context.Context, audience string) (auth.Token, error) {
	u, err := url.Parse(s.endpoint)
	if err != nil {
		return auth.Token{}, fmt.Errorf("gitlab: token endpoint: %w", err)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return auth.Token{}, fmt.Errorf("gitlab: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+s.jobToken)
	req.Header.Set("User-Agent", s.userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return auth.Token{}, fmt.Errorf("gitlab: request an ID token from %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return auth.Token{}, fmt.Errorf("gitlab: the token endpoint %s answered %s", u.Host, resp.Status)
	}
	var body struct {
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(&body); err != nil || body.Token == "" {
		return auth.Token{}, fmt.Errorf("gitlab: the token endpoint %s sent no token", u.Host)
	}
	var exp time.Time
	if body.ExpiresIn > 0 {
		exp = time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return auth.Token{Value: body.Token, ExpiresAt: exp}, nil
}
