package jwtgateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/internal/testing/jwtgateway"
)

const (
	issuer = "https://ci.example"
	host   = "registry.example"
)

// keys generates a keygen key pair and returns the private path and the
// public set.
func keys(t *testing.T) (string, jose.JSONWebKeySet) {
	t.Helper()
	priv, pub, err := hostauth.GenerateKeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwtgateway.ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return priv, set
}

// token mints a credential through hostauth's jwkPath source.
func token(t *testing.T, privPath string, c config.Credential, now func() time.Time) string {
	t.Helper()
	c.JWKPath = privPath
	src, err := hostauth.NewSource(config.Host{Host: host, Credential: &c}, hostauth.Deps{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cred.Secret
}

// serve puts g in front of a handler that answers with the subject.
func serve(t *testing.T, g *jwtgateway.Gateway) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := jwtgateway.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, c.Subject)
	})))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, url, authorization string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestGatewayAdmitsHostauthJWTs(t *testing.T) {
	t.Parallel()
	priv, set := keys(t)
	g, err := jwtgateway.New(jwtgateway.Config{Keys: set, Issuer: issuer, Audience: host, Subject: "mirror"})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, g)
	tok := token(t, priv, config.Credential{Iss: issuer, Sub: "mirror"}, nil)
	code, _, body := do(t, srv.URL, "Bearer "+tok)
	if code != http.StatusOK || body != "mirror" {
		t.Fatalf("got %d %q, want 200 mirror", code, body)
	}
	if g.Accepted() != 1 || g.Rejected() != 0 {
		t.Errorf("accepted %d rejected %d", g.Accepted(), g.Rejected())
	}
}

// forge signs claims with key (kid) without going through hostauth.
func forge(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGatewayRejects(t *testing.T) {
	t.Parallel()
	priv, set := keys(t)
	kid := set.Keys[0].KeyID
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	valid := token(t, priv, config.Credential{Iss: issuer, Sub: "mirror"}, nil)
	parts := strings.Split(valid, ".")
	claims := func(mod func(*jwt.Claims)) jwt.Claims {
		c := jwt.Claims{Issuer: issuer, Subject: "mirror", Audience: jwt.Audience{host}, Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now)}
		mod(&c)
		return c
	}
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + kid + `"}`))

	g, err := jwtgateway.New(jwtgateway.Config{Keys: set, Issuer: issuer, Audience: host, Leeway: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, g)
	tests := []struct {
		name, authorization, reason string
	}{
		{"no header", "", "a bearer JWT is required"},
		{"basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+valid)), "a bearer JWT is required"},
		{"garbage", "Bearer not.a.jwt", "malformed JWT"},
		{"wrong issuer", "Bearer " + token(t, priv, config.Credential{Iss: "https://evil.example", Sub: "mirror"}, nil), "invalid claims"},
		{"wrong audience", "Bearer " + token(t, priv, config.Credential{Iss: issuer, Sub: "mirror", Aud: "other.example"}, nil), "invalid claims"},
		{"expired", "Bearer " + token(t, priv, config.Credential{Iss: issuer, Sub: "mirror"}, func() time.Time { return now.Add(-time.Hour) }), "invalid claims"},
		{"not yet valid", "Bearer " + token(t, priv, config.Credential{Iss: issuer, Sub: "mirror"}, func() time.Time { return now.Add(time.Hour) }), "invalid claims"},
		{"other key, same kid", "Bearer " + forge(t, otherKey, kid, jose.EdDSA, claims(func(*jwt.Claims) {})), "bad signature"},
		{"unknown kid", "Bearer " + forge(t, otherKey, "nope", jose.EdDSA, claims(func(*jwt.Claims) {})), `no key with kid "nope"`},
		{"wrong algorithm", "Bearer " + forge(t, ec, kid, jose.ES256, claims(func(*jwt.Claims) {})), `alg "ES256"`},
		{"alg none", "Bearer " + noneHeader + "." + parts[1] + ".", "malformed JWT"},
		{"tampered payload", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+issuer+`","sub":"root","aud":"`+host+`","exp":9999999999}`)) + "." + parts[2], "bad signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := do(t, srv.URL, tt.authorization)
			if code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
			}
			var e struct {
				Errors []struct{ Code, Message string } `json:"errors"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Code != "UNAUTHORIZED" {
				t.Fatalf("body %q is not an OCI error", body)
			}
			if !strings.Contains(e.Errors[0].Message, tt.reason) {
				t.Errorf("reason %q does not contain %q", e.Errors[0].Message, tt.reason)
			}
		})
	}
	// A token without exp is refused too.
	if _, err := g.Verify(forge(t, privKey(t, priv), kid, jose.EdDSA, claims(func(c *jwt.Claims) { c.Expiry = nil }))); err == nil || !strings.Contains(err.Error(), "no exp") {
		t.Errorf("token without exp: %v", err)
	}
	if g.Accepted() != 0 || g.Rejected() != int64(len(tests)) {
		t.Errorf("accepted %d rejected %d, want 0 and %d", g.Accepted(), g.Rejected(), len(tests))
	}
}

// privKey reads the private key of a keygen set.
func privKey(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys[0].Key
}

func TestGatewaySubjectAndClock(t *testing.T) {
	t.Parallel()
	priv, set := keys(t)
	now := time.Now()
	tok := token(t, priv, config.Credential{Iss: issuer, Sub: "mirror"}, func() time.Time { return now })
	for _, tt := range []struct {
		name string
		cfg  jwtgateway.Config
		ok   bool
	}{
		{"right subject", jwtgateway.Config{Subject: "mirror"}, true},
		{"wrong subject", jwtgateway.Config{Subject: "other"}, false},
		{"within lifetime", jwtgateway.Config{Now: func() time.Time { return now.Add(59 * time.Second) }}, true},
		{"after exp", jwtgateway.Config{Now: func() time.Time { return now.Add(61 * time.Second) }}, false},
		{"after exp within leeway", jwtgateway.Config{Now: func() time.Time { return now.Add(61 * time.Second) }, Leeway: 5 * time.Second}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Keys, tt.cfg.Issuer, tt.cfg.Audience = set, issuer, host
			g, err := jwtgateway.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = g.Verify(tok)
			if (err == nil) != tt.ok {
				t.Errorf("Verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, set := keys(t)
	sym := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte("0123456789abcdef"), KeyID: "s"}}}
	dup := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{set.Keys[0], set.Keys[0]}}
	for name, cfg := range map[string]jwtgateway.Config{
		"no keys":      {Issuer: issuer, Audience: host},
		"no issuer":    {Keys: set, Audience: host},
		"no audience":  {Keys: set, Issuer: issuer},
		"symmetric":    {Keys: sym, Issuer: issuer, Audience: host},
		"duplicate ID": {Keys: dup, Issuer: issuer, Audience: host},
	} {
		if _, err := jwtgateway.New(cfg); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := jwtgateway.ParseKeySet([]byte("{")); err == nil {
		t.Error("ParseKeySet accepted broken JSON")
	}
}

func FuzzVerify(f *testing.F) {
	priv, pub, err := hostauth.GenerateKeyPair(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	b, _ := os.ReadFile(pub)
	set, _ := jwtgateway.ParseKeySet(b)
	g, err := jwtgateway.New(jwtgateway.Config{Keys: set, Issuer: issuer, Audience: host})
	if err != nil {
		f.Fatal(err)
	}
	src, _ := hostauth.NewSource(config.Host{Host: host, Credential: &config.Credential{JWKPath: priv, Iss: issuer, Sub: "s"}}, hostauth.Deps{})
	c, _ := src.Credential(context.Background())
	f.Add(c.Secret)
	f.Add("a.b.c")
	f.Add("")
	_, want, _ := strings.Cut(c.Secret, ".")
	want, _, _ = strings.Cut(want, ".")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := g.Verify(tok)
		if err != nil {
			return
		}
		// Only the issued token (or an encoding variant of it) may pass.
		if _, payload, _ := strings.Cut(tok, "."); !strings.HasPrefix(payload, want[:len(want)-1]) || claims.Subject != "s" {
			t.Fatalf("accepted a token it did not issue: %q", tok)
		}
	})
}
