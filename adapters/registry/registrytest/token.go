package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	tokenPath    = "/token"
	tokenService = "registrytest"
	tokenIssuer  = "registrytest-issuer"
	tokenKeyID   = "registrytest-key"
)

// resourceActions is one entry of a token's "access" claim, in the format of
// the distribution token specification.
type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// tokenServer issues ES256 JWTs for a fixed user, in the format CNCF
// distribution's token access controller verifies (trusted through a JWKS
// file), and remembers them so that a registry without token support can be
// guarded by a middleware.
type tokenServer struct {
	user, pass string
	ttl        time.Duration
	key        *ecdsa.PrivateKey
	signer     jose.Signer
	jwksPath   string
	jwks       []byte

	mu     sync.Mutex
	issued map[string]issuedToken
	count  int
}

type issuedToken struct {
	expires time.Time
	access  []resourceActions
}

func newTokenServer(t testing.TB, user, pass string, ttl time.Duration) *tokenServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("registrytest: token key: %v", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: tokenKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		t.Fatalf("registrytest: token signer: %v", err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: tokenKeyID, Algorithm: string(jose.ES256), Use: "sig",
	}}})
	if err != nil {
		t.Fatalf("registrytest: marshal jwks: %v", err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatalf("registrytest: write jwks: %v", err)
	}
	return &tokenServer{
		user: user, pass: pass, ttl: ttl, key: key, signer: signer, jwksPath: path, jwks: jwks,
		issued: map[string]issuedToken{},
	}
}

// ServeHTTP implements GET /token?service=&scope=... with HTTP Basic
// authentication of the configured user.
func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(ts.user)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(ts.pass)) != 1 {
		writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "token server: invalid username or password")
		return
	}
	var access []resourceActions
	for _, v := range r.URL.Query()["scope"] {
		for _, s := range strings.Fields(v) {
			if ra, ok := parseScope(s); ok {
				access = append(access, ra)
			}
		}
	}
	now := time.Now()
	exp := now.Add(ts.ttl)
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := map[string]any{
		"iss":    tokenIssuer,
		"sub":    user,
		"aud":    tokenService,
		"exp":    exp.Unix(),
		"nbf":    now.Add(-time.Minute).Unix(),
		"iat":    now.Unix(),
		"jti":    hex.EncodeToString(jti),
		"access": access,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	sig, err := ts.signer.Sign(payload)
	if err != nil {
		writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	tok, err := sig.CompactSerialize()
	if err != nil {
		writeRegistryError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	ts.mu.Lock()
	ts.issued[tok] = issuedToken{expires: exp, access: access}
	ts.count++
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token":        tok,
		"access_token": tok,
		"expires_in":   int(ts.ttl / time.Second),
		"issued_at":    now.UTC().Format(time.RFC3339),
	})
}

// issuedCount returns how many tokens were issued.
func (ts *tokenServer) issuedCount() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.count
}

// allowed reports whether tok is a live token granting action on repo.
func (ts *tokenServer) allowed(tok, repo, action string) bool {
	ts.mu.Lock()
	it, ok := ts.issued[tok]
	ts.mu.Unlock()
	if !ok || time.Now().After(it.expires) {
		return false
	}
	if repo == "" {
		return true
	}
	for _, ra := range it.access {
		if ra.Type != "repository" || ra.Name != repo {
			continue
		}
		for _, a := range ra.Actions {
			if a == action || a == "*" {
				return true
			}
		}
	}
	return false
}

// parseScope parses "repository:name:pull,push"; the name may contain colons.
func parseScope(s string) (resourceActions, bool) {
	typ, rest, ok := strings.Cut(s, ":")
	if !ok {
		return resourceActions{}, false
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return resourceActions{}, false
	}
	return resourceActions{Type: typ, Name: rest[:i], Actions: strings.Split(rest[i+1:], ",")}, true
}

// tokenGuard protects a registry without token support (ggcr pkg/registry)
// the way distribution's token access controller does: a Bearer challenge
// naming the realm, service and scope, and a check of the token's access.
func (ts *tokenServer) guard(realm string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == tokenPath {
			next.ServeHTTP(w, r)
			return
		}
		repo := repoFromPath(r.URL.Path)
		action := "pull"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			action = "push"
		}
		prefix, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if strings.EqualFold(prefix, "bearer") && ts.allowed(tok, repo, action) {
			next.ServeHTTP(w, r)
			return
		}
		challenge(w, realm, repo, action)
	})
}

// challenge answers 401 with the Bearer challenge of distribution's token
// access controller.
func challenge(w http.ResponseWriter, realm, repo, action string) {
	ch := fmt.Sprintf("Bearer realm=%q,service=%q", realm, tokenService)
	if repo != "" {
		ch += fmt.Sprintf(",scope=%q", "repository:"+repo+":"+action)
	}
	w.Header().Set("WWW-Authenticate", ch)
	writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// expireAll makes every token issued so far expired.
func (ts *tokenServer) expireAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for tok, it := range ts.issued {
		it.expires = past
		ts.issued[tok] = it
	}
}

// expired reports whether tok was issued here and has expired.
func (ts *tokenServer) expired(tok string) bool {
	ts.mu.Lock()
	it, ok := ts.issued[tok]
	ts.mu.Unlock()
	return ok && time.Now().After(it.expires)
}

// refuseExpired answers requests bearing an expired token (see
// Server.ExpireTokens) with the challenge a registry sends once a token's
// exp has passed, before the registry (which checks exp itself, against
// the wall clock) sees them.
func (ts *tokenServer) refuseExpired(realm string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if r.URL.Path == tokenPath || !strings.EqualFold(prefix, "bearer") || !ts.expired(tok) {
			next.ServeHTTP(w, r)
			return
		}
		action := "pull"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			action = "push"
		}
		challenge(w, realm, repoFromPath(r.URL.Path), action)
	})
}

// basicGuard protects a registry without authentication support with HTTP
// Basic authentication of one user.
func basicGuard(user, pass string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(pass)) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
		writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	})
}

// repoFromPath extracts the repository name of a /v2/<name>/<route>/...
// path, or "" for the base endpoint and unknown paths.
func repoFromPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return ""
	}
	best := -1
	for _, kw := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(rest, kw); i > best {
			best = i
		}
	}
	if best <= 0 {
		return ""
	}
	return rest[:best]
}

// writeRegistryError writes an error in the distribution-spec JSON format.
func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}
