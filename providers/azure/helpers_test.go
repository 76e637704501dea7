package azure

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/fluxcd/flux-mirror/core/auth"
)

const (
	tenantID       = "11111111-2222-3333-4444-555555555555"
	clientID       = "66666666-7777-8888-9999-000000000000"
	clientSecret   = "client-secret-value~do-not-leak"
	federatedToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Zmx1eCJ9.federated-secret"
	identityHeader = "identity-header-secret"
)

// azureEnv lists every variable the default credential chain reads.
var azureEnv = []string{
	"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
	"AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "AZURE_USERNAME", "AZURE_PASSWORD",
	"AZURE_FEDERATED_TOKEN_FILE", EnvAuthorityHost, "AZURE_TOKEN_CREDENTIALS", "AZURE_ADDITIONALLY_ALLOWED_TENANTS",
	"AZURE_REGIONAL_AUTHORITY_NAME", "AZURE_KUBERNETES_TOKEN_PROXY", "AZURE_KUBERNETES_SNI_NAME", "AZURE_KUBERNETES_CA_FILE", "AZURE_KUBERNETES_CA_DATA",
	"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET",
	"DEFAULT_IDENTITY_CLIENT_ID", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH",
	"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
}

// isolate clears the Azure environment, hides any az/azd/pwsh binaries and
// the developer's CLI profiles.
func isolate(t *testing.T) {
	t.Helper()
	for _, k := range azureEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AZURE_CONFIG_DIR", t.TempDir())
}

// guard is the test's HTTP transport: it trusts the loopback TLS servers'
// certificates and refuses every request that is not for 127.0.0.1, so no
// test reaches Azure (or the IMDS address) whatever the SDK tries.
type guard struct {
	base    *http.Transport
	mu      sync.Mutex
	blocked []string
}

func newGuard(servers ...*httptest.Server) *guard {
	pool := x509.NewCertPool()
	for _, s := range servers {
		if s.Certificate() != nil {
			pool.AddCert(s.Certificate())
		}
	}
	return &guard{base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func (g *guard) RoundTrip(r *http.Request) (*http.Response, error) {
	if h, _, _ := net.SplitHostPort(r.URL.Host); h != "127.0.0.1" {
		g.mu.Lock()
		g.blocked = append(g.blocked, r.URL.Host)
		g.mu.Unlock()
		return nil, errors.New("the test transport refuses non-loopback hosts")
	}
	return g.base.RoundTrip(r)
}

func (g *guard) client() *http.Client { return &http.Client{Transport: g} }

// unsignedJWT is a JWT with the claims (the provider never verifies tokens;
// the registry does).
func unsignedJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	p, _ := json.Marshal(claims)
	return enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"test"}`)) + "." + enc(p) + ".c2lnbmF0dXJl"
}

// entraToken is an Entra access token for scope, as the loopback authority
// issues it.
func entraToken(scope string) string {
	return unsignedJWT(map[string]any{
		"aud": strings.TrimSuffix(scope, "/.default"), "iss": "https://sts.windows.net/" + tenantID + "/",
		"tid": tenantID, "appid": clientID, "exp": time.Now().Add(time.Hour).Unix(),
	})
}

// entraServer is a loopback Microsoft Entra authority over TLS, as MSAL
// reaches it through AZURE_AUTHORITY_HOST: the tenant's OpenID
// configuration and the v2.0 token endpoint, which accepts the client
// credentials grant with the test's client secret or federated assertion.
type entraServer struct {
	*httptest.Server
	respond func(w http.ResponseWriter) // overrides the token endpoint
	mu      sync.Mutex
	forms   []url.Values
}

func newEntraServer(t *testing.T) *entraServer {
	t.Helper()
	e := &entraServer{}
	e.Server = httptest.NewTLSServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.Close)
	return e
}

func (e *entraServer) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	base := e.URL + "/" + tenantID
	switch r.URL.Path {
	case "/" + tenantID + "/v2.0/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
			"jwks_uri":               base + "/discovery/v2.0/keys",
		})
	case "/" + tenantID + "/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			entraError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: malformed request")
			return
		}
		e.mu.Lock()
		e.forms = append(e.forms, r.PostForm)
		e.mu.Unlock()
		if e.respond != nil {
			e.respond(w)
			return
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != clientID {
			entraError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory")
			return
		}
		secretOK := f.Get("client_secret") == clientSecret
		assertionOK := f.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" && f.Get("client_assertion") == federatedToken
		if !secretOK && !assertionOK {
			entraError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
			return
		}
		var scope string
		for _, s := range strings.Fields(f.Get("scope")) {
			if strings.HasSuffix(s, "/.default") {
				scope = s
			}
		}
		if scope == "" {
			entraError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": entraToken(scope),
		})
	default:
		http.NotFound(w, r)
	}
}

func entraError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": code, "error_description": desc + "\r\nTrace ID: 0\r\nCorrelation ID: 0\r\nTimestamp: 2026-01-01 00:00:00Z",
		"error_codes": []int{7000215}, "trace_id": "0", "correlation_id": "0",
	})
}

// useClientSecret configures EnvironmentCredential against the authority.
func useClientSecret(t *testing.T, e *entraServer) {
	t.Setenv(EnvAuthorityHost, e.URL+"/")
	t.Setenv("AZURE_TENANT_ID", tenantID)
	t.Setenv("AZURE_CLIENT_ID", clientID)
	t.Setenv("AZURE_CLIENT_SECRET", clientSecret)
}

// useWorkloadIdentity configures WorkloadIdentityCredential as the AKS
// webhook does.
func useWorkloadIdentity(t *testing.T, e *entraServer) {
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(file, []byte(federatedToken), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvAuthorityHost, e.URL+"/")
	t.Setenv("AZURE_TENANT_ID", tenantID)
	t.Setenv("AZURE_CLIENT_ID", clientID)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", file)
}

// acrServer is a loopback ACR token exchange endpoint over TLS.
type acrServer struct {
	*httptest.Server
	exp     time.Time
	respond func(w http.ResponseWriter)
	mu      sync.Mutex
	forms   []url.Values
}

func newACRServer(t *testing.T) *acrServer {
	t.Helper()
	a := &acrServer{exp: time.Now().Add(3 * time.Hour).Truncate(time.Second)}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/oauth2/exchange" || r.Method != http.MethodPost || r.ParseForm() != nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"NOT_FOUND","message":"not found"}]}`)
			return
		}
		a.mu.Lock()
		a.forms = append(a.forms, r.PostForm)
		a.mu.Unlock()
		if a.respond != nil {
			a.respond(w)
			return
		}
		f := r.PostForm
		claims, err := auth.UnverifiedClaims(f.Get("access_token"))
		if f.Get("grant_type") != "access_token" || err != nil || claims["aud"] != "https://containerregistry.azure.net" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"refresh_token": unsignedJWT(map[string]any{
			"jti": "abc", "sub": clientID, "grant_type": "refresh_token", "aud": f.Get("service"),
			"tenant": f.Get("tenant"), "permissions": map[string]any{"actions": []string{"read"}},
			"exp": a.exp.Unix(), "iss": "Azure Container Registry",
		})})
	}))
	t.Cleanup(a.Close)
	return a
}

// closedURL is an https URL on a loopback port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "https://" + l.Addr().String()
	l.Close()
	return u
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
