package app

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/internal/testing/jwtgateway"
	"github.com/fluxcd/flux-mirror/providers/aws"
	"github.com/fluxcd/flux-mirror/providers/github"
	"github.com/fluxcd/flux-mirror/providers/spiffe"
	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

// gatewayedRegistry starts a destination registry behind a gateway that
// admits only bearer JWTs verifiable with keys, like an OIDC-validating
// registry.
func gatewayedRegistry(t *testing.T, keys jose.JSONWebKeySet, issuer, subject string) (*registrytest.Server, *jwtgateway.Gateway) {
	t.Helper()
	var gw atomic.Pointer[jwtgateway.Gateway]
	dst := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gw.Load().Wrap(next).ServeHTTP(w, r) })
	}))
	g, err := jwtgateway.New(jwtgateway.Config{Keys: keys, Issuer: issuer, Audience: dst.Host(), Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	gw.Store(g)
	return dst, g
}

const actionsIssuer = "https://token.actions.githubusercontent.com"

// actionsOIDC is a loopback GitHub Actions OIDC endpoint that signs ID
// tokens for the requested audience with its own key.
func actionsOIDC(t *testing.T, subject string) (url string, keys jose.JSONWebKeySet, minted *atomic.Int64) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: priv, KeyID: "actions-1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	minted = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer runtime-request-token" {
			http.Error(w, "bad request token", http.StatusUnauthorized)
			return
		}
		now := time.Now()
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{
			Issuer: actionsIssuer, Subject: subject, Audience: jwt.Audience{r.URL.Query().Get("audience")},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)),
		}).Serialize()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		minted.Add(1)
		fmt.Fprintf(w, `{"count":1,"value":%q}`, tok)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/idtoken?api-version=2.0", jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "actions-1", Algorithm: "EdDSA", Use: "sig"}}}, minted
}

func TestGitHubProviderEndToEnd(t *testing.T) {
	const subject = "repo:my-org/mirror:ref:refs/heads/main"
	url, keys, minted := actionsOIDC(t, subject)
	t.Setenv(github.EnvRequestURL, url)
	t.Setenv(github.EnvRequestToken, "runtime-request-token")
	dst, gw := gatewayedRegistry(t, keys, actionsIssuer, subject)
	src := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 3, 1024)
	src.PushRandomImage(t, src.Host()+"/app:1.1.0", 3, 1024)

	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      limit: 0\n"))+
		fmt.Sprintf("hosts:\n  - host: %s\n    credential:\n      provider: github\n", dst.Host()))
	withGitHub := func(c *Config) { c.Providers = []auth.Factory{github.NewFactory()} }

	rep, res := syncReport(t, runOpts{cfg: withGitHub}, cfg)
	if res.code != 0 || rep.Report.Summary.Copied != 2 {
		t.Fatalf("exit %d %+v\n%s", res.code, rep.Report.Summary, res.stdout)
	}
	if gw.Accepted() == 0 || gw.Rejected() != 0 {
		t.Errorf("gateway accepted %d, rejected %d", gw.Accepted(), gw.Rejected())
	}
	if got := minted.Load(); got != 1 {
		t.Errorf("the provider minted %d tokens for one run; a valid token must be cached", got)
	}

	// login stores the minted token as a bearer registrytoken.
	docker := t.TempDir()
	res = run(t, runOpts{cfg: withGitHub}, "login", "-f", cfg, "--docker-config", docker)
	if res.code != 0 || !strings.Contains(res.stdout, "✔ stored credential for "+dst.Host()) {
		t.Fatalf("login: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	token := dockerAuths(t, docker)[dst.Host()]["registrytoken"]
	if _, err := gw.Verify(token); err != nil {
		t.Errorf("login stored a token the registry rejects: %v", err)
	}

	// Outside Actions the provider names what is missing.
	t.Setenv(github.EnvRequestURL, "")
	res = run(t, runOpts{cfg: withGitHub}, "sync", cfg)
	if res.code != 1 || !strings.Contains(res.stdout, "github provider: ACTIONS_ID_TOKEN_REQUEST_URL") {
		t.Errorf("exit %d, want the provider's error:\n%s", res.code, res.stdout)
	}
}

func TestJWTSVIDProviderEndToEnd(t *testing.T) {
	const issuer = "https://spire.example.org"
	api := spiffetest.New(t, "example.org", spiffetest.WithJWTIssuer(issuer))
	t.Setenv(spiffe.EnvSocket, api.Socket())
	dst, gw := gatewayedRegistry(t, api.JWTKeySet(), issuer, api.ID().String())
	src := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:2.0.0", 2, 1024)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))+
		fmt.Sprintf("hosts:\n  - host: %s\n    credential:\n      provider: jwt-svid\n", dst.Host()))
	rep, res := syncReport(t, runOpts{cfg: func(c *Config) { c.Providers = []auth.Factory{spiffe.NewTokenFactory()} }}, cfg)
	if res.code != 0 || statuses(rep, 0)["2.0.0"] != "copied" {
		t.Fatalf("exit %d %v\n%s", res.code, statuses(rep, 0), res.stdout)
	}
	if gw.Accepted() == 0 || gw.Rejected() != 0 {
		t.Errorf("gateway accepted %d, rejected %d", gw.Accepted(), gw.Rejected())
	}
}

// TestECRLogin logs in to an ECR host through a loopback ECR API (the SDK's
// documented AWS_ENDPOINT_URL_ECR override) and checks what login wrote.
func TestECRLogin(t *testing.T) {
	const password = "ecr-password-from-the-api"
	var calls atomic.Int64
	ecr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" ||
			!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]}`,
			base64.StdEncoding.EncodeToString([]byte("AWS:"+password)), time.Now().Add(12*time.Hour).Unix())
	}))
	t.Cleanup(ecr.Close)
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ECR": ecr.URL, "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret-key-test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
	} {
		t.Setenv(k, v)
	}
	host := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	cfg := writeFile(t, t.TempDir(), "hosts.yaml", hostsHeader()+"hosts:\n  - host: "+host+"\n    provider: ecr\n")
	docker := t.TempDir()
	res := run(t, runOpts{cfg: func(c *Config) { c.Providers = []auth.Factory{aws.NewRegistryFactory()} }},
		"login", "-f", cfg, "--docker-config", docker, "--plaintext")
	if res.code != 0 {
		t.Fatalf("login exit %d: %s", res.code, res.stderr)
	}
	want := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
	if got := dockerAuths(t, docker)[host]["auth"]; got != want || calls.Load() != 1 {
		t.Errorf("auth %q (want %q), ECR calls %d", got, want, calls.Load())
	}
	if strings.Contains(res.stdout+res.stderr, password) {
		t.Error("login printed the ECR password")
	}
}
