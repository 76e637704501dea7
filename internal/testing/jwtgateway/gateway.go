// Package jwtgateway is test support: an HTTP middleware that admits only
// requests carrying `Authorization: Bearer <JWT>` signed by a key of a given
// public JWK set, with the expected issuer and audience and an unexpired
// exp, the way an OIDC-validating registry does. End-to-end tests put it in
// front of an in-process registry to check the signed-JWT and token-provider
// credentials that flux-mirror sends.
//
// It verifies with go-jose and is meant for tests on 127.0.0.1, not as a
// production gateway: it keeps no replay cache and fetches no keys.
package jwtgateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Config configures a Gateway.
type Config struct {
	// Keys are the public keys that may sign tokens, e.g. the pubkey.json
	// written by flux mirror keygen. Required. Tokens must name a key by kid
	// unless the set holds exactly one key.
	Keys jose.JSONWebKeySet
	// Issuer is the required iss claim. Required.
	Issuer string
	// Audience must be one of the aud claim's values. Required.
	Audience string
	// Subject, if set, is the required sub claim.
	Subject string
	// Leeway is the clock skew tolerated on exp, nbf and iat; zero means none.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Claims are the verified claims of an admitted request.
type Claims = jwt.Claims

// Gateway verifies bearer JWTs. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	keys     map[string]jose.JSONWebKey
	accepted atomic.Int64
	rejected atomic.Int64
}

var algorithms = []jose.SignatureAlgorithm{
	jose.EdDSA, jose.ES256, jose.ES384, jose.ES512,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// New validates cfg and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	switch {
	case len(cfg.Keys.Keys) == 0:
		return nil, errors.New("jwtgateway: Keys holds no key")
	case cfg.Issuer == "":
		return nil, errors.New("jwtgateway: Issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("jwtgateway: Audience is required")
	}
	g := &Gateway{cfg: cfg, keys: make(map[string]jose.JSONWebKey, len(cfg.Keys.Keys))}
	for i, k := range cfg.Keys.Keys {
		pub := k.Public()
		if !pub.Valid() || !pub.IsPublic() {
			return nil, fmt.Errorf("jwtgateway: key %d (kid %q) is not an asymmetric key", i, k.KeyID)
		}
		if _, dup := g.keys[k.KeyID]; dup {
			return nil, fmt.Errorf("jwtgateway: kid %q appears twice", k.KeyID)
		}
		g.keys[k.KeyID] = pub
	}
	return g, nil
}

// ParseKeySet reads a JWK set, such as pubkey.json, keeping only the public
// halves of its keys.
func ParseKeySet(b []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("jwtgateway: parse JWK set: %w", err)
	}
	for i := range set.Keys {
		set.Keys[i] = set.Keys[i].Public()
	}
	return set, nil
}

func (g *Gateway) now() time.Time {
	if g.cfg.Now != nil {
		return g.cfg.Now()
	}
	return time.Now()
}

// Verify checks a compact JWT and returns its claims.
func (g *Gateway) Verify(token string) (*Claims, error) {
	tok, err := jwt.ParseSigned(token, algorithms)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("the JWT must have exactly one signature")
	}
	h := tok.Headers[0]
	key, ok := g.keys[h.KeyID]
	if !ok && h.KeyID == "" && len(g.keys) == 1 {
		for _, k := range g.keys {
			key, ok = k, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("no key with kid %q", h.KeyID)
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("the JWT's alg %q differs from the key's %q", h.Algorithm, key.Algorithm)
	}
	var c Claims
	if err := tok.Claims(key, &c); err != nil {
		return nil, fmt.Errorf("bad signature: %w", err)
	}
	if c.Expiry == nil {
		return nil, errors.New("the JWT has no exp claim")
	}
	exp := jwt.Expected{Issuer: g.cfg.Issuer, AnyAudience: jwt.Audience{g.cfg.Audience}, Time: g.now()}
	if g.cfg.Subject != "" {
		exp.Subject = g.cfg.Subject
	}
	if err := c.ValidateWithLeeway(exp, g.cfg.Leeway); err != nil {
		return nil, fmt.Errorf("invalid claims: %w", err)
	}
	return &c, nil
}

type claimsKey struct{}

// ClaimsFrom returns the verified claims of a request admitted by a Gateway.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// Wrap returns next behind the gateway. A rejected request gets 401 with a
// `WWW-Authenticate: Bearer error="invalid_token"` challenge and an OCI
// distribution error body; an admitted one reaches next with its claims in
// the context (see ClaimsFrom).
func (g *Gateway) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			g.reject(w, "a bearer JWT is required")
			return
		}
		c, err := g.Verify(strings.TrimSpace(token))
		if err != nil {
			g.reject(w, err.Error())
			return
		}
		g.accepted.Add(1)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
	})
}

func (g *Gateway) reject(w http.ResponseWriter, reason string) {
	g.rejected.Add(1)
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer error=%q, error_description=%q", "invalid_token", reason))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": reason}},
	})
}

// Accepted returns how many requests the gateway admitted.
func (g *Gateway) Accepted() int64 { return g.accepted.Load() }

// Rejected returns how many requests the gateway refused.
func (g *Gateway) Rejected() int64 { return g.rejected.Load() }
