package registry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/retry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// hostState is what a Client knows about one registry host: its transport,
// the outcome of the /v2/ ping, tokens per scope set, and whether it
// serves the referrers API.
type hostState struct {
	c          *Client
	name       string // as written in repositories
	reg        name.Registry
	addr       string // reg.RegistryStr(): the host the requests go to
	cfg        Host
	configured bool
	base       http.RoundTripper
	err        error // a configuration problem reported on every request

	pingMu    sync.Mutex
	challenge *transport.Challenge

	keychainMu   sync.Mutex
	keychainAuth authn.Authenticator

	tokenMu sync.Mutex
	tokens  map[string]*cachedToken

	referrersMu sync.Mutex
	referrers   *bool
}

// cachedToken is a registry token exchanged for a set of scopes.
type cachedToken struct {
	scopes  []string
	rt      http.RoundTripper
	expires time.Time
}

// roundTripper returns the transport that authenticates requests to the
// host for the scopes, and the URL scheme to use.
func (h *hostState) roundTripper(ctx context.Context, scopes []string) (http.RoundTripper, string, error) {
	if h.configured && h.cfg.Credentials != nil {
		cred, err := h.cfg.Credentials.Credential(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("resolve the credential of registry host %s: %w", h.name, err)
		}
		if cred.Bearer() {
			rt := &bearerHeader{host: h.addr, token: cred.Secret, inner: h.base}
			scheme, err := h.scheme(ctx, rt)
			return rt, scheme, err
		}
		return h.challengeTransport(ctx, authn.FromConfig(authn.AuthConfig{Username: cred.Username, Password: cred.Secret}), scopes)
	}
	a, err := h.keychain(ctx)
	if err != nil {
		return nil, "", err
	}
	return h.challengeTransport(ctx, a, scopes)
}

// keychain resolves the host's credentials from the keychain once.
func (h *hostState) keychain(ctx context.Context) (authn.Authenticator, error) {
	h.keychainMu.Lock()
	defer h.keychainMu.Unlock()
	if h.keychainAuth != nil {
		return h.keychainAuth, nil
	}
	a, err := authn.Resolve(ctx, h.c.keychain, h.reg)
	if err != nil {
		// A credential helper that fails (a locked keychain, a missing
		// helper binary) fails the same way on the next attempt.
		return nil, retry.Permanent(fmt.Errorf("resolve credentials of registry host %s from the Docker config (check its credHelpers/credsStore, or list the host under hosts[]): %w", h.name, err))
	}
	h.keychainAuth = a
	return a, nil
}

// scheme returns the URL scheme for a host that needs no challenge: https,
// unless go-containerregistry's rules (localhost, loopback, Insecure)
// allow plain HTTP, in which case one ping decides.
func (h *hostState) scheme(ctx context.Context, rt http.RoundTripper) (string, error) {
	if h.reg.Scheme() == "https" {
		return "https", nil
	}
	pr, err := h.ping(ctx, rt)
	if err != nil {
		return "", err
	}
	return schemeOf(pr), nil
}

func schemeOf(pr *transport.Challenge) string {
	if pr.Insecure {
		return "http"
	}
	return "https"
}

// ping sends GET /v2/ once per host and remembers the challenge.
func (h *hostState) ping(ctx context.Context, rt http.RoundTripper) (*transport.Challenge, error) {
	h.pingMu.Lock()
	defer h.pingMu.Unlock()
	if h.challenge != nil {
		return h.challenge, nil
	}
	pr, err := transport.Ping(ctx, h.reg, rt)
	if err != nil {
		return nil, fmt.Errorf("ping registry %s: %w", h.name, pingError(err))
	}
	h.challenge = pr
	return pr, nil
}

// challengeTransport authenticates with a through the registry's
// challenge: Basic on every request, or a bearer token exchanged at the
// realm for the scopes and cached for its lifetime.
func (h *hostState) challengeTransport(ctx context.Context, a authn.Authenticator, scopes []string) (http.RoundTripper, string, error) {
	pr, err := h.ping(ctx, h.base)
	if err != nil {
		return nil, "", err
	}
	scheme := schemeOf(pr)
	if !strings.EqualFold(pr.Scheme, "bearer") {
		rt, err := transport.FromToken(h.reg, a, h.base, pr, nil)
		return rt, scheme, err
	}

	h.tokenMu.Lock()
	defer h.tokenMu.Unlock()
	now := h.c.now()
	for key, t := range h.tokens {
		if now.After(t.expires) {
			delete(h.tokens, key)
			continue
		}
		if covers(t.scopes, scopes) {
			return t.rt, scheme, nil
		}
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil {
		return nil, "", fmt.Errorf("resolve credentials of registry host %s: %w", h.name, err)
	}
	if cfg.RegistryToken != "" {
		return &bearerHeader{host: h.addr, token: cfg.RegistryToken, inner: h.base}, scheme, nil
	}
	if pr.Parameters["realm"] == "" {
		// A registry that validates self-contained bearer tokens (OIDC, signed
		// JWTs) offers no token endpoint: without a bearer credential it is
		// simply unauthorized, which no retry changes.
		return nil, "", &core.HTTPError{
			Method:     http.MethodGet,
			URL:        scheme + "://" + h.name + "/v2/",
			StatusCode: http.StatusUnauthorized,
			Message: fmt.Sprintf("the registry wants a bearer token and has no token endpoint (%s); configure a bearer credential for %s under hosts[] (credential without username)",
				challengeDescription(pr), h.name),
		}
	}
	tok, err := transport.Exchange(ctx, h.reg, a, h.base, scopes, pr)
	if err != nil {
		return nil, "", fmt.Errorf("get a token for %s from %s: %w", strings.Join(scopes, " "), h.name, translate(http.MethodGet, nil, err))
	}
	rt, err := transport.FromToken(h.reg, a, h.base, pr, tok)
	if err != nil {
		return nil, "", err
	}
	ttl := time.Duration(tok.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = 60 * time.Second // the token specification's default
	}
	ttl -= min(ttl/10, 30*time.Second)
	h.tokens[strings.Join(scopes, " ")] = &cachedToken{scopes: scopes, rt: rt, expires: now.Add(ttl)}
	return rt, scheme, nil
}

// covers reports whether a token for have grants every scope of want.
func covers(have, want []string) bool {
	granted := map[string]bool{}
	for _, s := range have {
		res, actions, ok := cutScope(s)
		if !ok {
			continue
		}
		for _, a := range strings.Split(actions, ",") {
			granted[res+"|"+a] = true
		}
	}
	for _, s := range want {
		res, actions, ok := cutScope(s)
		if !ok {
			return false
		}
		for _, a := range strings.Split(actions, ",") {
			if !granted[res+"|"+a] {
				return false
			}
		}
	}
	return true
}

// cutScope splits "repository:name:actions" into its resource and actions.
func cutScope(s string) (resource, actions string, ok bool) {
	i := strings.LastIndex(s, ":")
	if i <= 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// pingError translates a ping failure. When go-containerregistry tried
// both https and plain http (loopback hosts, Insecure), the failure of each
// attempt is kept: the https one (e.g. an unknown certificate authority)
// is usually the cause.
func pingError(err error) error {
	hint := tlsHint(err)
	var te *transport.Error
	if errors.As(err, &te) && err.Error() != te.Error() {
		// Keep the chain: TLS verification errors inside stay final
		// for the retry policy.
		err = fmt.Errorf("%w", err)
	} else {
		err = translate(http.MethodGet, nil, err)
	}
	switch {
	case hint == "":
		return err
	case strings.Contains(hint, "client certificate"):
		// The server refused the client certificate: an authentication
		// failure, which retrying does not fix.
		return &hintError{err: err, hint: hint, is: core.ErrUnauthorized}
	default:
		return &hintError{err: err, hint: hint}
	}
}

// hintError appends a configuration hint to an error, optionally
// classifying it as a core sentinel too.
type hintError struct {
	err  error
	hint string
	is   error
}

func (e *hintError) Error() string { return strings.TrimSpace(e.err.Error()) + e.hint }

func (e *hintError) Unwrap() []error {
	if e.is != nil {
		return []error{e.err, e.is}
	}
	return []error{e.err}
}

// tlsHint suggests the configuration behind common TLS failures.
func tlsHint(err error) string {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	msg := err.Error()
	switch {
	case errors.As(err, &ua) || strings.Contains(msg, "certificate signed by unknown authority"):
		return " (the registry's certificate is not trusted: set hosts[].tls.serverAuth to its CA bundle)"
	case errors.As(err, &hn):
		return " (the registry's certificate does not name this host)"
	case strings.Contains(msg, "tls: certificate required") || strings.Contains(msg, "tls: bad certificate"):
		return " (the registry requires a client certificate it trusts: set hosts[].tls.clientAuth)"
	case strings.Contains(msg, "tls: expired certificate") || strings.Contains(msg, "tls: unknown certificate authority"):
		return " (the registry rejected the client certificate: check hosts[].tls.clientAuth)"
	}
	return ""
}

// httpsOnly refuses plain-HTTP requests to a host configured with TLS, so
// that a TLS failure is reported as such instead of falling back to HTTP.
type httpsOnly struct {
	host  string
	inner http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && req.URL.Host == t.host {
		return nil, fmt.Errorf("plain HTTP to %s refused: the host has a TLS configuration", t.host)
	}
	return t.inner.RoundTrip(req)
}

// challengeDescription is the registry's own account of a bearer challenge.
func challengeDescription(pr *transport.Challenge) string {
	if d := pr.Parameters["error_description"]; d != "" {
		return d
	}
	if e := pr.Parameters["error"]; e != "" {
		return e
	}
	return "no realm in WWW-Authenticate"
}
