package hostauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// jwkJSON encodes a key as a JWK, optionally wrapped in a set.
func jwkJSON(t *testing.T, key any, kid, alg string, set bool) string {
	t.Helper()
	k := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg}
	var b []byte
	var err error
	if set {
		b, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
	} else {
		b, err = json.Marshal(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// verifyJWT checks the signature with pub and returns the header and claims.
func verifyJWT(t *testing.T, token string, pub any) (jose.Header, jwt.Claims) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.PS256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	var c jwt.Claims
	if err := tok.Claims(pub, &c); err != nil {
		t.Fatalf("verify JWT: %v", err)
	}
	return tok.Headers[0], c
}

func readKeySet(t *testing.T, path string) jose.JSONWebKeySet {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

func TestJWKPathSignsWithKeygenKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	privPath, pubPath, err := GenerateKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub := readKeySet(t, pubPath)
	clk := newClock()
	src, err := NewSource(config.Host{
		Host:       "registry.example:5000",
		Credential: &config.Credential{JWKPath: privPath, Iss: "https://ci.example", Sub: "mirror"},
	}, Deps{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !c1.Bearer() {
		t.Errorf("credential without username must be a bearer token, got %v", c1)
	}
	h, claims := verifyJWT(t, c1.Secret, pub.Keys[0])
	if h.KeyID != pub.Keys[0].KeyID || h.KeyID == "" {
		t.Errorf("kid = %q, want %q", h.KeyID, pub.Keys[0].KeyID)
	}
	if h.Algorithm != "EdDSA" {
		t.Errorf("alg = %q, want EdDSA", h.Algorithm)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "JWT" {
		t.Errorf("typ = %q, want JWT", typ)
	}
	now := clk.Now()
	if claims.Issuer != "https://ci.example" || claims.Subject != "mirror" {
		t.Errorf("iss/sub = %q/%q", claims.Issuer, claims.Subject)
	}
	if len(claims.Audience) != 1 || claims.Audience[0] != "registry.example:5000" {
		t.Errorf("aud = %v, want the host", claims.Audience)
	}
	if !claims.IssuedAt.Time().Equal(now) || !claims.NotBefore.Time().Equal(now) {
		t.Errorf("iat/nbf = %v/%v, want %v", claims.IssuedAt.Time(), claims.NotBefore.Time(), now)
	}
	if got := claims.Expiry.Time().Sub(now); got != 60*time.Second {
		t.Errorf("lifetime = %v, want the 60s default", got)
	}
	if !c1.ExpiresAt.Equal(claims.Expiry.Time()) {
		t.Errorf("ExpiresAt = %v, want exp %v", c1.ExpiresAt, claims.Expiry.Time())
	}
	if err := claims.Validate(jwt.Expected{Issuer: "https://ci.example", AnyAudience: jwt.Audience{"registry.example:5000"}, Time: now}); err != nil {
		t.Errorf("claims do not validate: %v", err)
	}
	// A 60s token is minted per call: a fresh jti each time.
	c2, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, claims2 := verifyJWT(t, c2.Secret, pub.Keys[0])
	if claims.ID == "" || claims.ID == claims2.ID || c1.Secret == c2.Secret {
		t.Errorf("short-lived tokens must be minted per call with a random jti: %q, %q", claims.ID, claims2.ID)
	}
}

func TestJWKKeyTypes(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name    string
		key     crypto.Signer
		kid     string
		alg     string
		set     bool
		wantAlg string
	}{
		{"ed25519 bare", ed, "k1", "", false, "EdDSA"},
		{"ed25519 set", ed, "k1", "EdDSA", true, "EdDSA"},
		{"p256", p256, "ec1", "", true, "ES256"},
		{"p384", p384, "ec2", "", false, "ES384"},
		{"rsa default", rsaKey, "r1", "", true, "RS256"},
		{"rsa alg from key", rsaKey, "r2", "PS256", false, "PS256"},
		{"no kid uses the thumbprint", p256, "", "", false, "ES256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := NewSource(config.Host{
				Host:       "r.example",
				Username:   "robot",
				Credential: &config.Credential{JWKValue: jwkJSON(t, tt.key, tt.kid, tt.alg, tt.set), Iss: "i", Sub: "s", Aud: "custom-aud"},
			}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := src.Credential(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.Username != "robot" {
				t.Errorf("username = %q, want robot", c.Username)
			}
			h, claims := verifyJWT(t, c.Secret, tt.key.Public())
			if h.Algorithm != tt.wantAlg {
				t.Errorf("alg = %q, want %q", h.Algorithm, tt.wantAlg)
			}
			wantKid := tt.kid
			if wantKid == "" {
				pk := jose.JSONWebKey{Key: tt.key.Public()}
				tp, _ := pk.Thumbprint(crypto.SHA256)
				wantKid = base64.RawURLEncoding.EncodeToString(tp)
			}
			if h.KeyID != wantKid {
				t.Errorf("kid = %q, want %q", h.KeyID, wantKid)
			}
			if len(claims.Audience) != 1 || claims.Audience[0] != "custom-aud" {
				t.Errorf("aud = %v, want custom-aud", claims.Audience)
			}
		})
	}
}

func TestJWKCachesLongLivedTokensUntilHalfLife(t *testing.T) {
	t.Parallel()
	clk := newClock()
	ed, src := jwkSourceWithExp(t, clk, 10*time.Minute)
	first, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(10 * time.Minute); !first.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", first.ExpiresAt, want)
	}
	clk.Add(5*time.Minute - time.Second)
	again, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if again.Secret != first.Secret {
		t.Error("a 10m token must be reused before half its lifetime")
	}
	clk.Add(time.Second)
	fresh, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Secret == first.Secret {
		t.Error("a 10m token must be re-minted at half its lifetime")
	}
	_, claims := verifyJWT(t, fresh.Secret, ed.Public())
	if !claims.IssuedAt.Time().Equal(clk.Now()) {
		t.Errorf("re-minted iat = %v, want %v", claims.IssuedAt.Time(), clk.Now())
	}
}

func TestJWKShortLivedTokensAreNotCached(t *testing.T) {
	t.Parallel()
	_, src := jwkSourceWithExp(t, newClock(), CacheThreshold-time.Second)
	a, _ := src.Credential(t.Context())
	b, _ := src.Credential(t.Context())
	if a.Secret == "" || a.Secret == b.Secret {
		t.Error("a token shorter than the cache threshold must be minted per call")
	}
}

func TestJWKPathRotation(t *testing.T) {
	t.Parallel()
	for _, lifetime := range []time.Duration{time.Minute, time.Hour} {
		t.Run(lifetime.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, keyA, _ := ed25519.GenerateKey(rand.Reader)
			_, keyB, _ := ed25519.GenerateKey(rand.Reader)
			path := writeFile(t, dir, "key.json", jwkJSON(t, keyA, "a", "", true))
			src, err := NewSource(config.Host{
				Host:       "r.example",
				Credential: &config.Credential{JWKPath: path, Iss: "i", Sub: "s", Exp: &config.Duration{Duration: lifetime}},
			}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			c, err := src.Credential(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := verifyJWT(t, c.Secret, keyA.Public()); h.KeyID != "a" {
				t.Fatalf("kid = %q, want a", h.KeyID)
			}
			writeFile(t, dir, "key.json", jwkJSON(t, keyB, "b", "", true))
			later := time.Now().Add(time.Minute)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
			c, err = src.Credential(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := verifyJWT(t, c.Secret, keyB.Public()); h.KeyID != "b" {
				t.Fatalf("after rotation kid = %q, want b", h.KeyID)
			}
			// A file that turns bad fails the call, naming the field and
			// the path, without quoting the file.
			pubB := jwkJSON(t, keyB.Public(), "b", "", true)
			writeFile(t, dir, "key.json", pubB)
			if err := os.Chtimes(path, later.Add(time.Minute), later.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			_, err = src.Credential(t.Context())
			if err == nil {
				t.Fatal("a key file that turned public-only must fail the call")
			}
			for _, want := range []string{`host "r.example"`, "credential.jwkPath", path, "public key only"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if strings.Contains(err.Error(), pubB) {
				t.Errorf("error %q echoes the key file", err)
			}
		})
	}
}

func TestJWKBadInputs(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	_, ed2, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaSmall, _ := rsa.GenerateKey(rand.Reader, 1024)
	good := jwkJSON(t, ed, "k", "", false)
	var m map[string]any
	_ = json.Unmarshal([]byte(good), &m)
	secretD := m["d"].(string)

	withMember := func(k, v string) string {
		mm := map[string]any{}
		for kk, vv := range m {
			mm[kk] = vv
		}
		mm[k] = v
		b, _ := json.Marshal(mm)
		return string(b)
	}
	// The private half of one key glued to the public half of another.
	var m2 map[string]any
	_ = json.Unmarshal([]byte(jwkJSON(t, ed2, "k", "", false)), &m2)
	mixed := withMember("x", m2["x"].(string))
	two, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: ed, KeyID: "a"}, {Key: p256, KeyID: "b"}}})

	tests := []struct {
		name, jwk, want string
	}{
		{"empty", "  ", "is empty"},
		{"malformed JSON", `{"kty":"OKP","d":"` + secretD + `"`, "not valid JSON"},
		{"not an object", `["` + secretD + `"]`, "must be a JSON object"},
		{"public key only", jwkJSON(t, ed.Public(), "k", "", true), "public key only"},
		{"multi-key set", string(two), "2 keys"},
		{"empty set", `{"keys":[]}`, "without keys"},
		{"symmetric", `{"kty":"oct","k":"` + secretD + `"}`, "symmetric"},
		{"wrong alg", withMember("alg", "RS256"), `"alg": "RS256"`},
		{"encryption key", withMember("use", "enc"), `"use": "enc"`},
		{"truncated d", withMember("d", secretD[:20]), "not a valid JWK"},
		{"d of wrong type", strings.Replace(good, `"d":"`+secretD+`"`, `"d":12345`, 1), "not a valid JWK"},
		{"mismatched halves", mixed, "does not match"},
		{"small RSA", jwkJSON(t, rsaSmall, "r", "", false), "1024-bit"},
		{"unknown kty", `{"kty":"XYZ","d":"` + secretD + `"}`, "not a supported JWK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSources([]config.Host{{
				Host:       "r",
				Credential: &config.Credential{JWKValue: tt.jwk, Iss: "i", Sub: "s"},
			}}, Deps{})
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `hosts[0] "r": credential.jwkValue: `) {
				t.Errorf("error %q does not name the field", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			if strings.Contains(msg, secretD) || strings.Contains(msg, secretD[:20]) {
				t.Errorf("error %q leaks key material", msg)
			}
		})
	}
}

func TestJWKPathErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.json")
	_, err := NewSource(config.Host{Host: "r", Credential: &config.Credential{JWKPath: missing, Iss: "i", Sub: "s"}}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "credential.jwkPath") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing key file: error %v must name the field and the path", err)
	}
	_, err = NewSource(config.Host{Host: "r", Credential: &config.Credential{JWKPath: dir, Iss: "i", Sub: "s"}}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory as key file: error %v", err)
	}
}

func TestJWKClaimRequirements(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	k := jwkJSON(t, ed, "k", "", false)
	tests := []struct {
		name string
		c    config.Credential
		want string
	}{
		{"no iss", config.Credential{JWKValue: k, Sub: "s"}, "credential.iss: required"},
		{"no sub", config.Credential{JWKValue: k, Iss: "i"}, "credential.sub: required"},
		{"exp too short", config.Credential{JWKValue: k, Iss: "i", Sub: "s", Exp: &config.Duration{Duration: time.Millisecond}}, "credential.exp"},
		{"two sources", config.Credential{JWKValue: k, Value: "v", Iss: "i", Sub: "s"}, "exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSource(config.Host{Host: "r", Credential: &tt.c}, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzParseSigningKey(f *testing.F) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, k := range []any{ed, p256, ed.Public()} {
		b, _ := json.Marshal(jose.JSONWebKey{Key: k, KeyID: "k"})
		f.Add(b)
		s, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k}}})
		f.Add(s)
	}
	f.Add([]byte(`{"keys":{}}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","d":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseSigningKey(data)
		if err != nil {
			if len(data) >= 24 && strings.Contains(err.Error(), string(data)) {
				t.Fatalf("error echoes the input: %v", err)
			}
			return
		}
		if k.kid == "" || k.alg == "" {
			t.Fatalf("parsed key without kid or alg: %+v", k)
		}
		if _, err := jwt.Signed(k.signer).Claims(jwt.Claims{Subject: "s"}).Serialize(); err != nil {
			t.Fatalf("a parsed key cannot sign: %v", err)
		}
	})
}

var _ auth.Source = (*jwkSource)(nil)

func TestJWKConcurrentUse(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	src, err := NewSource(config.Host{Host: "r", Credential: &config.Credential{
		JWKValue: jwkJSON(t, ed, "k", "", false), Iss: "i", Sub: "s", Exp: &config.Duration{Duration: time.Hour},
	}}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan string, 16)
	for range 16 {
		go func() {
			c, err := src.Credential(ctx)
			if err != nil {
				done <- ""
				return
			}
			done <- c.Secret
		}()
	}
	first := <-done
	for range 15 {
		if got := <-done; got != first || got == "" {
			t.Fatal("concurrent callers of a cached JWT source must share one token")
		}
	}
}

// jwkSourceWithExp returns a signed-JWT source for a new Ed25519 key whose
// tokens live exp, on clock clk, and the key.
func jwkSourceWithExp(t *testing.T, clk *clock, exp time.Duration) (ed25519.PrivateKey, auth.Source) {
	t.Helper()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	src, err := NewSource(config.Host{
		Host: "r.example",
		Credential: &config.Credential{
			JWKValue: jwkJSON(t, ed, "k", "", true), Iss: "i", Sub: "s",
			Exp: &config.Duration{Duration: exp},
		},
	}, Deps{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return ed, src
}
