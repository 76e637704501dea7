package gcp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	saEmail        = "mirror@example-project.iam.gserviceaccount.com"
	subjectToken   = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9yZXBvIn0.subject-token-secret"
	federatedToken = "ya29.federated-token-secret"
	accessToken    = "ya29.access-token-secret"
	wifAudience    = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/gh"
)

// gcpEnv lists the variables Google's libraries read that could make a
// test use the developer's credentials or reach Google.
var gcpEnv = []string{
	EnvCredentials, EnvMetadataHost, envCloudSDK, "GCE_METADATA_IP", "GOOGLE_CLOUD_PROJECT",
	"GOOGLE_AUTH_TRUST_BOUNDARY_ENABLED", "GOOGLE_API_USE_CLIENT_CERTIFICATE", "GOOGLE_API_USE_MTLS_ENDPOINT",
	"GOOGLE_CLOUD_UNIVERSE_DOMAIN", "GOOGLE_SDK_GO_LOGGING_LEVEL", "GOOGLE_API_GO_EXPERIMENTAL_DISABLE_NEW_AUTH_LIB",
}

// isolate clears the Google environment and points HOME at an empty
// directory. The returned env never probes the real metadata address: it
// reports GCE only when GCE_METADATA_HOST is set (to a loopback server).
func isolate(t *testing.T) env {
	t.Helper()
	for _, k := range gcpEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", t.TempDir())
	return env{
		lookup: os.LookupEnv,
		onGCE: func(context.Context) bool {
			h, ok := os.LookupEnv(EnvMetadataHost)
			return ok && h != ""
		},
	}
}

// closedAddr is a loopback host:port where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// googleKey is the RSA key that signs the test's Google ID tokens.
var googleKey = mustKey()

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// signJWT makes an RS256 JWT with the claims.
func signJWT(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	p, _ := json.Marshal(claims)
	signing := enc(h) + "." + enc(p)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + enc(sig)
}

// verifyJWT checks an RS256 JWT with pub and returns its claims.
func verifyJWT(token string, pub *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, fmt.Errorf("bad assertion signature: %w", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}

// idToken is a Google-style ID token for aud, expiring at exp.
func idToken(aud, sub string, exp time.Time) string {
	return signJWT(googleKey, "google-test", map[string]any{
		"iss": "https://accounts.google.com", "aud": aud, "sub": sub, "azp": sub,
		"email": saEmail, "email_verified": true, "iat": time.Now().Unix(), "exp": exp.Unix(),
	})
}

// metadataServer is a loopback GCE metadata server: it requires the
// Metadata-Flavor header and serves the default service account's identity
// and token endpoints. It is reached through GCE_METADATA_HOST.
type metadataServer struct {
	*httptest.Server
	exp      time.Time
	identity func(w http.ResponseWriter, r *http.Request) // overrides the identity endpoint
	token    func(w http.ResponseWriter, r *http.Request) // overrides the token endpoint
	mu       sync.Mutex
	queries  []url.Values
}

func newMetadataServer(t *testing.T) *metadataServer {
	t.Helper()
	m := &metadataServer{exp: time.Now().Add(time.Hour).Truncate(time.Second)}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		if r.Header.Get("Metadata-Flavor") != "Google" || r.Method != http.MethodGet {
			http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
			return
		}
		m.mu.Lock()
		m.queries = append(m.queries, r.URL.Query())
		m.mu.Unlock()
		switch r.URL.Path {
		case "/computeMetadata/v1/" + identityPath:
			if m.identity != nil {
				m.identity(w, r)
				return
			}
			aud := r.URL.Query().Get("audience")
			if aud == "" {
				http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, idToken(aud, "1234567890", m.exp))
		case "/computeMetadata/v1/" + tokenPath:
			if m.token != nil {
				m.token(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, accessToken)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.Close)
	t.Setenv(EnvMetadataHost, strings.TrimPrefix(m.URL, "http://"))
	return m
}

// googleServer is a loopback Google identity backend: the OAuth2 token
// endpoint (JWT bearer grant, verified against the service account's public
// key), the STS token exchange of workload identity federation, and IAM
// Credentials generateIdToken / generateAccessToken.
type googleServer struct {
	*httptest.Server
	saKey     *rsa.PrivateKey
	exp       time.Time
	respond   map[string]func(w http.ResponseWriter) // per path, overrides the answer
	mu        sync.Mutex
	requests  []string         // paths served
	assertion map[string]any   // claims of the last JWT assertion
	iamBodies []map[string]any // bodies of IAM Credentials calls
}

func newGoogleServer(t *testing.T) *googleServer {
	t.Helper()
	g := &googleServer{saKey: mustKey(), exp: time.Now().Add(time.Hour).Truncate(time.Second), respond: map[string]func(http.ResponseWriter){}}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

func (g *googleServer) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.URL.Path)
	override := g.respond[r.URL.Path]
	g.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if override != nil {
		override(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/token":
		g.oauthToken(w, r)
	case r.URL.Path == "/v1/token":
		g.stsExchange(w, r)
	case strings.HasSuffix(r.URL.Path, ":generateIdToken"), strings.HasSuffix(r.URL.Path, ":generateAccessToken"):
		g.iamCredentials(w, r)
	default:
		http.NotFound(w, r)
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// oauthToken implements the JWT bearer grant (RFC 7523) as Google's token
// endpoint does: target_audience yields an id_token, scope an access_token.
func (g *googleServer) oauthToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	claims, err := verifyJWT(r.PostForm.Get("assertion"), &g.saKey.PublicKey)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if claims["iss"] != saEmail || claims["aud"] != g.URL+"/token" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: iss or aud")
		return
	}
	g.mu.Lock()
	g.assertion = claims
	g.mu.Unlock()
	if aud, _ := claims["target_audience"].(string); aud != "" {
		json.NewEncoder(w).Encode(map[string]string{"id_token": idToken(aud, "1234567890", g.exp)})
		return
	}
	if claims["scope"] != cloudPlatform {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "want cloud-platform")
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"access_token": accessToken, "expires_in": 3599, "token_type": "Bearer"})
}

// stsExchange implements Google STS's token exchange (RFC 8693) for a
// workload identity pool provider.
func (g *googleServer) stsExchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || f.Get("audience") != wifAudience ||
		f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" || f.Get("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad token exchange parameters")
		return
	}
	if f.Get("subject_token") != subjectToken {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The audience in ID Token does not match the expected audience.")
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": federatedToken, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type": "Bearer", "expires_in": 3600,
	})
}

// iamCredentials implements generateIdToken and generateAccessToken for
// the test service account, authorized by the federated or the service
// account's own access token.
func (g *googleServer) iamCredentials(w http.ResponseWriter, r *http.Request) {
	authz := r.Header.Get("Authorization")
	if authz != "Bearer "+federatedToken && authz != "Bearer "+accessToken {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/projects/-/serviceAccounts/"+saEmail+":") {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":404,"message":"Not found; Gaia id not found for email","status":"NOT_FOUND"}}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.iamBodies = append(g.iamBodies, req)
	g.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, ":generateIdToken") {
		aud, _ := req["audience"].(string)
		json.NewEncoder(w).Encode(map[string]string{"token": idToken(aud, "1234567890", g.exp)})
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"accessToken": accessToken, "expireTime": g.exp.UTC().Format(time.RFC3339)})
}

// serviceAccountKey writes a service account key file whose token_uri is
// the loopback token endpoint, and returns its path.
func (g *googleServer) serviceAccountKeyFile(t *testing.T) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(g.saKey)
	if err != nil {
		t.Fatal(err)
	}
	return writeJSON(t, "sa.json", map[string]any{
		"type": "service_account", "project_id": "example-project", "private_key_id": "key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": saEmail, "client_id": "1234567890", "token_uri": g.URL + "/token",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "universe_domain": "googleapis.com",
	})
}

// externalAccountFile writes a workload identity federation config that
// reads the subject token from a file, exchanges it at the loopback STS
// and, if impersonate, impersonates the test service account.
func (g *googleServer) externalAccountFile(t *testing.T, impersonate bool) string {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "oidc-token")
	if err := os.WriteFile(tokenFile, []byte(subjectToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"type": "external_account", "audience": wifAudience,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          g.URL + "/v1/token",
		"credential_source":  map[string]any{"file": tokenFile},
		"universe_domain":    "googleapis.com",
	}
	if impersonate {
		cfg["service_account_impersonation_url"] = g.URL + "/v1/projects/-/serviceAccounts/" + saEmail + ":generateAccessToken"
	}
	return writeJSON(t, "wif.json", cfg)
}

func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// secrets are values no error may contain.
func secrets(g *googleServer) []string {
	s := []string{subjectToken, federatedToken, accessToken, "subject-token-secret"}
	if g != nil {
		der, _ := x509.MarshalPKCS8PrivateKey(g.saKey)
		pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		s = append(s, strings.Split(pemKey, "\n")[1])
	}
	return s
}

// checkError asserts that err is set, contains every want substring, wraps
// wantErr (when set) and contains none of the secrets.
func checkError(t *testing.T, err error, want []string, wantErr error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Errorf("error %v is not %v", err, wantErr)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret: %v", err)
		}
	}
}
