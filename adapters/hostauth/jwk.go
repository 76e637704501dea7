package hostauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// DefaultJWTLifetime is the lifetime of a signed JWT when credential.exp is
// not set.
const DefaultJWTLifetime = 60 * time.Second

// CacheThreshold is the shortest signed-JWT lifetime that is cached: such a
// token is re-minted at half its lifetime, a shorter one on every call.
const CacheThreshold = 2 * time.Minute

// signingKey is a private JWK ready to sign JWTs.
type signingKey struct {
	kid    string
	alg    jose.SignatureAlgorithm
	signer jose.Signer
}

// parseSigningKey reads a private JWK, bare or as a single-key JWK set. Its
// errors describe the problem without echoing any of the input.
func parseSigningKey(data []byte) (*signingKey, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("is empty; expected a private JWK or a JWK set with one key")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonProblem(err)
	}
	raw := json.RawMessage(data)
	if keys, ok := top["keys"]; ok {
		var set []json.RawMessage
		if err := json.Unmarshal(keys, &set); err != nil {
			return nil, errors.New(`is a JWK set whose "keys" member is not an array`)
		}
		switch len(set) {
		case 0:
			return nil, errors.New("is a JWK set without keys; it must hold exactly one private key")
		case 1:
			raw = set[0]
		default:
			return nil, fmt.Errorf("is a JWK set with %d keys; it must hold exactly one private key", len(set))
		}
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.As(err, &te):
			return nil, errors.New("is not a valid JWK: a member has the wrong JSON type")
		case errors.Is(err, jose.ErrUnsupportedKeyType):
			return nil, errors.New("is not a supported JWK: use an OKP (Ed25519), EC (P-256, P-384, P-521) or RSA private key")
		}
		return nil, fmt.Errorf("is not a valid JWK: %w", err)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf(`has "use": %q; a signing key needs "sig"`, k.Use)
	}
	alg, err := signingAlgorithm(&k)
	if err != nil {
		return nil, err
	}
	if !k.Valid() {
		return nil, errors.New("is an incomplete JWK: a key parameter is missing or empty")
	}
	kid := k.KeyID
	if kid == "" {
		pub := k.Public()
		tp, err := pub.Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("has no kid and its thumbprint cannot be computed: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k.Key, KeyID: kid, Algorithm: string(alg)}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("cannot sign with this key: %w", err)
	}
	if err := probe(signer, k.Public()); err != nil {
		return nil, err
	}
	return &signingKey{kid: kid, alg: alg, signer: signer}, nil
}

// probe signs a test payload and verifies it with the key's public half,
// which catches a private part that does not belong to the public one.
func probe(signer jose.Signer, pub jose.JSONWebKey) error {
	payload := []byte("flux-mirror key probe")
	sig, err := signer.Sign(payload)
	if err != nil {
		return fmt.Errorf("cannot sign with this key: %w", err)
	}
	got, err := sig.Verify(pub)
	if err != nil || !bytes.Equal(got, payload) {
		return errors.New("is inconsistent: its private and public parameters do not belong together")
	}
	return nil
}

// jsonProblem describes a JSON decoding error without quoting the input.
func jsonProblem(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("is not valid JSON (syntax error at byte %d); expected a private JWK or a JWK set with one key", se.Offset)
	}
	return errors.New(`must be a JSON object: a private JWK, or a JWK set {"keys":[…]} with one key`)
}

// signingAlgorithm picks the JWS algorithm of a private key: its "alg"
// member when set (and compatible), otherwise the default of its type.
func signingAlgorithm(k *jose.JSONWebKey) (jose.SignatureAlgorithm, error) {
	var def jose.SignatureAlgorithm
	var allowed []jose.SignatureAlgorithm
	switch key := k.Key.(type) {
	case ed25519.PrivateKey:
		def, allowed = jose.EdDSA, []jose.SignatureAlgorithm{jose.EdDSA}
	case *ecdsa.PrivateKey:
		switch key.Curve {
		case elliptic.P256():
			def = jose.ES256
		case elliptic.P384():
			def = jose.ES384
		case elliptic.P521():
			def = jose.ES512
		default:
			return "", errors.New("is an EC key on an unsupported curve; use P-256, P-384 or P-521")
		}
		allowed = []jose.SignatureAlgorithm{def}
	case *rsa.PrivateKey:
		if key.N.BitLen() < 2048 {
			return "", fmt.Errorf("is a %d-bit RSA key; use at least 2048 bits", key.N.BitLen())
		}
		def = jose.RS256
		allowed = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		return "", errors.New(`holds a public key only; signing needs the private key (with its "d" member), e.g. privkey.json from flux mirror keygen rather than pubkey.json`)
	case []byte:
		return "", errors.New("is a symmetric (oct) key; use an asymmetric private key: OKP (Ed25519), EC or RSA")
	default:
		return "", errors.New("is not a supported JWK: use an OKP (Ed25519), EC (P-256, P-384, P-521) or RSA private key")
	}
	if k.Algorithm == "" {
		return def, nil
	}
	for _, a := range allowed {
		if string(a) == k.Algorithm {
			return a, nil
		}
	}
	return "", fmt.Errorf(`has "alg": %q, which does not fit its key type (use %s)`, k.Algorithm, def)
}

// jwkSource signs a JWT per call, or caches long-lived ones.
type jwkSource struct {
	host, username string
	field          string // "credential.jwkPath" or "credential.jwkValue"
	path           string // set for jwkPath
	files          confinedFiles
	iss, sub, aud  string
	audiences      []string // when set, the aud claim instead of aud
	lifetime       time.Duration
	now            func() time.Time
	log            *slog.Logger
	cache          *refresher // nil: mint on every call

	mu   sync.Mutex
	key  *signingKey
	stat os.FileInfo
}

func newJWKSource(host, username, field, path string, value []byte, iss, sub, aud string, lifetime time.Duration, deps Deps) (*jwkSource, error) {
	s := &jwkSource{
		host: host, username: username, field: field, path: path,
		iss: iss, sub: sub, aud: aud, lifetime: lifetime,
		now: deps.clock(), log: deps.logger(), files: deps.files(),
	}
	if path != "" {
		if _, err := s.reload(); err != nil {
			return nil, err
		}
	} else {
		k, err := parseSigningKey(value)
		if err != nil {
			return nil, fmt.Errorf("%s: the key %w", field, err)
		}
		s.key = k
	}
	if lifetime >= CacheThreshold {
		s.cache = newRefresher(func(context.Context) (auth.Credential, time.Time, error) {
			c, iat, err := s.sign()
			return c, iat.Add(s.lifetime / 2), err
		}, s.now, s.log)
	}
	return s, nil
}

// reload re-reads the key file when it changed since the last read and
// reports whether it did. The file is opened inside the confinement root
// and checked through the open descriptor, so what is compared is what is
// read.
func (s *jwkSource) reload() (bool, error) {
	f, err := s.files.open(s.path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.field, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("%s: read %s: %w", s.field, s.path, pathCause(err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stat != nil && os.SameFile(s.stat, fi) && s.stat.Size() == fi.Size() && s.stat.ModTime().Equal(fi.ModTime()) {
		return false, nil
	}
	b, fi, err := readOpen(f, s.path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.field, err)
	}
	k, err := parseSigningKey(b)
	if err != nil {
		return false, fmt.Errorf("%s: key file %s %w", s.field, s.path, err)
	}
	changed := s.key != nil
	s.key, s.stat = k, fi
	if changed {
		s.log.Info("signing key file changed; using the new key", "host", s.host, "path", s.path, "kid", k.kid)
	}
	return changed, nil
}

func (s *jwkSource) Credential(ctx context.Context) (auth.Credential, error) {
	if err := ctx.Err(); err != nil {
		return auth.Credential{}, err
	}
	if s.path != "" {
		changed, err := s.reload()
		if err != nil {
			return auth.Credential{}, hostErr(s.host, err)
		}
		if changed && s.cache != nil {
			s.cache.reset()
		}
	}
	if s.cache != nil {
		return s.cache.get(ctx)
	}
	c, _, err := s.sign()
	return c, err
}

// sign mints one JWT and returns it with its issued-at time.
func (s *jwkSource) sign() (auth.Credential, time.Time, error) {
	s.mu.Lock()
	key := s.key
	s.mu.Unlock()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return auth.Credential{}, time.Time{}, hostErr(s.host, fmt.Errorf("%s: random jti: %w", s.field, err))
	}
	iat := time.Unix(s.now().Unix(), 0)
	exp := iat.Add(s.lifetime)
	claims := jwt.Claims{
		Issuer:    s.iss,
		Subject:   s.sub,
		Audience:  s.audience(),
		IssuedAt:  jwt.NewNumericDate(iat),
		NotBefore: jwt.NewNumericDate(iat),
		Expiry:    jwt.NewNumericDate(exp),
		ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
	}
	tok, err := jwt.Signed(key.signer).Claims(claims).Serialize()
	if err != nil {
		return auth.Credential{}, time.Time{}, hostErr(s.host, fmt.Errorf("%s: sign JWT: %w", s.field, err))
	}
	s.log.Debug("signed JWT", "host", s.host, "kid", key.kid, "alg", key.alg, "expiresAt", exp)
	return auth.Credential{Username: s.username, Secret: tok, ExpiresAt: time.Unix(claims.Expiry.Time().Unix(), 0)}, iat, nil
}

// audience is the aud claim: the audiences of a v1beta2 list, else aud.
func (s *jwkSource) audience() jwt.Audience {
	if len(s.audiences) > 0 {
		return jwt.Audience(s.audiences)
	}
	return jwt.Audience{s.aud}
}
