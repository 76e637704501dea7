package spiffehostauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/internal/testing/jwtgateway"
	"github.com/fluxcd/flux-mirror/providers/spiffe"
	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

// The source is what the CLI hands to hostauth.
var _ hostauth.SPIFFESource = (*spiffe.X509Source)(nil)

func openSource(t *testing.T, opts ...spiffe.Option) *spiffe.X509Source {
	t.Helper()
	src, err := spiffe.NewX509Source(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// waitUpdated waits for the source to take in a pushed rotation.
func waitUpdated(t *testing.T, src *spiffe.X509Source) {
	t.Helper()
	select {
	case <-src.Updated():
	case <-time.After(10 * time.Second):
		t.Fatal("the source received no update")
	}
}

// classicCA is a non-SPIFFE CA for the mixed halves.
type classicCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newClassicCA(t *testing.T) *classicCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "classic CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &classicCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue returns a leaf for 127.0.0.1 with its certificate and key PEM.
func (ca *classicCA) issue(t *testing.T, cn string) (tls.Certificate, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM, keyPEM
}

// registry starts an HTTPS server with cert that answers with the client
// certificate's SPIFFE ID (or CN) and serial.
func registry(t *testing.T, cert tls.Certificate, configure func(*tls.Config)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.TLS.PeerCertificates[0]
		who := c.Subject.CommonName
		if len(c.URIs) == 1 {
			who = c.URIs[0].String()
		}
		fmt.Fprintf(w, "%s %s", who, c.SerialNumber.Text(16))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	// Certificates set explicitly: httptest would add its own, and a
	// client dialing an IP sends no SNI, so GetCertificate would not run.
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	configure(srv.TLS)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// get does one request on a fresh connection and returns the body.
func get(url string, cfg *tls.Config) (string, error) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func serialOf(s *x509svid.SVID) string { return s.Certificates[0].SerialNumber.Text(16) }

// TestSPIFFEMTLS runs hostauth's TLS configurations on the spiffe.X509Source
// against registries that serve SVIDs of the fake Workload API's trust
// domains, so every handshake uses what came over the Workload API.
func TestSPIFFEMTLS(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithFederatedDomain("other.org"))
	src := openSource(t, spiffe.WithAddr(w.Socket()))
	org := spiffeid.RequireTrustDomainFromString("example.org")

	// A SPIFFE registry presents its SVID and admits SVIDs of example.org,
	// checked against the live bundles (w follows CA rotations).
	spiffeRegistry := func(id string) *httptest.Server {
		svid := w.IssueSVID(t, id)
		cfg := tlsconfig.MTLSServerConfig(svid, w, tlsconfig.AuthorizeMemberOf(org))
		cert, err := tlsconfig.GetCertificate(svid)(nil)
		if err != nil {
			t.Fatal(err)
		}
		return registry(t, *cert, func(c *tls.Config) {
			c.ClientAuth = cfg.ClientAuth
			c.VerifyPeerCertificate = cfg.VerifyPeerCertificate
		})
	}
	orgRegistry := spiffeRegistry("spiffe://example.org/registry")
	foreignRegistry := spiffeRegistry("spiffe://other.org/registry")

	// A classic-CA registry that requires the workload's SVID.
	web := newClassicCA(t)
	webCert, _, _ := web.issue(t, "web")
	webRegistry := registry(t, webCert, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAnyClientCert
		c.VerifyPeerCertificate = tlsconfig.VerifyPeerCertificate(w, tlsconfig.AuthorizeID(w.ID()))
	})
	// A SPIFFE registry that admits static client certificates by CA.
	_, staticCert, staticKey := web.issue(t, "static-client")
	staticRegistry := registry(t, w.ServerCertificate(t, "spiffe://example.org/registry"), func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = x509.NewCertPool()
		c.ClientCAs.AddCert(web.cert)
	})

	mirror := "spiffe://example.org/mirror " + serialOf(w.SVID())
	svidClient := &config.ClientAuth{Provider: config.ClientProviderX509SVID}
	spiffeServer := func(s config.SPIFFEServer) *config.ServerAuth { return &config.ServerAuth{SPIFFE: &s} }
	tests := []struct {
		name    string
		url     string
		tls     config.TLS
		want    string
		wantErr string
	}{
		{"serverID", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{ServerID: "spiffe://example.org/registry"})}, mirror, ""},
		{"serverID mismatch", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{ServerID: "spiffe://example.org/other"})}, "", `tls.serverAuth.spiffe: the registry's X.509-SVID was not accepted`},
		{"trustDomain", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{TrustDomain: "example.org"})}, mirror, ""},
		{"trustDomain of another", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{TrustDomain: "example.org"})}, "", "not accepted"},
		{"federated trustDomain", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{TrustDomain: "other.org"})}, mirror, ""},
		{"trustDomain self", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{TrustDomain: "self"})}, mirror, ""},
		{"trustDomain self refuses a federated server", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{TrustDomain: "self"})}, "", "not accepted"},
		{"authorizeAny", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{AuthorizeAny: true})}, mirror, ""},
		{"authorizeAny still needs the bundle", webRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: spiffeServer(config.SPIFFEServer{AuthorizeAny: true})}, "", "not accepted"},
		{"SPIFFE server without a client SVID", orgRegistry.URL, config.TLS{ServerAuth: spiffeServer(config.SPIFFEServer{AuthorizeAny: true})}, "", "requires a client certificate"},
		{"SPIFFE client, custom CA server", webRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{Value: web.pem}}, mirror, ""},
		{"SPIFFE client, server CA unknown", webRegistry.URL, config.TLS{ClientAuth: svidClient}, "", "does not trust"},
		{"SPIFFE server, static client", staticRegistry.URL, config.TLS{
			ServerAuth: spiffeServer(config.SPIFFEServer{ServerID: "spiffe://example.org/registry"}),
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: staticCert}, Key: &config.Source{Value: staticKey}},
		}, "static-client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := strings.TrimPrefix(tt.url, "https://")
			cfg, err := hostauth.TLSConfig(config.Host{Host: host, TLS: &tt.tls}, hostauth.Deps{SPIFFE: src})
			if err != nil {
				t.Fatal(err)
			}
			body, err := get(tt.url, cfg)
			if tt.wantErr == "" {
				if err != nil || !strings.HasPrefix(body, tt.want) {
					t.Fatalf("got %q, %v; want %q", body, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error", body)
			}
			if err := hostauth.ExplainTLSError(host, err); !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestSPIFFERotation checks that SVID and CA rotations pushed by the
// Workload API reach the next handshake without reopening the source.
func TestSPIFFERotation(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org")
	var ahead atomic.Int64 // how far the source's clock runs ahead
	src := openSource(t, spiffe.WithAddr(w.Socket()), spiffe.WithClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }))
	org := spiffeid.RequireTrustDomainFromString("example.org")
	serve := func(id string) *httptest.Server {
		svid := w.IssueSVID(t, id)
		cfg := tlsconfig.MTLSServerConfig(svid, w, tlsconfig.AuthorizeMemberOf(org))
		cert, _ := tlsconfig.GetCertificate(svid)(nil)
		return registry(t, *cert, func(c *tls.Config) {
			c.ClientAuth = cfg.ClientAuth
			c.VerifyPeerCertificate = cfg.VerifyPeerCertificate
		})
	}
	reg := serve("spiffe://example.org/registry")
	cfg, err := hostauth.TLSConfig(config.Host{Host: "registry", TLS: &config.TLS{
		ClientAuth: &config.ClientAuth{Provider: config.ClientProviderX509SVID},
		ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{TrustDomain: "self"}},
	}}, hostauth.Deps{SPIFFE: src})
	if err != nil {
		t.Fatal(err)
	}
	want := func(url string, svid *x509svid.SVID) {
		t.Helper()
		body, err := get(url, cfg)
		if err != nil || body != "spiffe://example.org/mirror "+serialOf(svid) {
			t.Fatalf("got %q, %v; want the SVID with serial %s", body, err, serialOf(svid))
		}
	}
	want(reg.URL, w.SVID())

	rotated := w.Rotate()
	waitUpdated(t, src)
	want(reg.URL, rotated)

	// After a CA rotation the client presents an SVID of the new CA, and
	// trusts a registry whose SVID the new CA issued: the new bundle came
	// over the stream too.
	rotated = w.RotateCA()
	waitUpdated(t, src)
	want(reg.URL, rotated)
	want(serve("spiffe://example.org/registry-next").URL, rotated)

	// With the agent gone, the source keeps the last SVID until it expires.
	w.Close()
	want(reg.URL, rotated)
	ahead.Store(int64(2 * spiffetest.DefaultSVIDTTL))
	_, err = get(reg.URL, cfg)
	var he *hostauth.HostError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "has not renewed it") {
		t.Errorf("expired SVID at handshake: %v", err)
	}
}

// TestTokenThroughHostauth mints the credential of a host with
// credential.provider jwt-svid the way sync does, and presents it to a
// registry that trusts the trust domain's JWT bundle.
func TestTokenThroughHostauth(t *testing.T) {
	t.Parallel()
	const issuer = "https://oidc-discovery.example.org"
	w := spiffetest.New(t, "example.org", spiffetest.WithJWTIssuer(issuer))
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	gw, err := jwtgateway.New(jwtgateway.Config{Keys: w.JWTKeySet(), Issuer: issuer, Audience: host, Subject: w.ID().String()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = gw.Wrap(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, _ := jwtgateway.ClaimsFrom(r.Context())
		_, _ = io.WriteString(rw, c.Subject)
	}))

	deps := hostauth.Deps{TokenProviders: map[string]auth.TokenProvider{
		spiffe.TokenProviderName: spiffe.NewTokenFactory(spiffe.WithAddr(w.Socket())),
	}}
	// aud defaults to the host.
	src, err := hostauth.NewSource(config.Host{Host: host, Credential: &config.Credential{Provider: spiffe.TokenProviderName}}, deps)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := src.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !cred.Bearer() || cred.ExpiresAt.IsZero() {
		t.Fatalf("credential %v expiring %v, want a bearer token with an expiry", cred, cred.ExpiresAt)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/", nil)
	req.Header.Set("Authorization", "Bearer "+cred.Secret)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "spiffe://example.org/mirror" {
		t.Fatalf("registry answered %d %q", resp.StatusCode, body)
	}

	// A JWT-SVID minted for another audience is refused by the registry.
	other, err := hostauth.NewSource(config.Host{Host: host, Credential: &config.Credential{Provider: spiffe.TokenProviderName, Aud: "other.example"}}, deps)
	if err != nil {
		t.Fatal(err)
	}
	cred, err = other.Credential(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Verify(cred.Secret); err == nil || !strings.Contains(err.Error(), "invalid claims") {
		t.Errorf("token for another audience: %v, want refused", err)
	}

	// With the agent gone, hostauth reports the provider's explanation.
	w.Close()
	gone, _ := hostauth.NewSource(config.Host{Host: host, Credential: &config.Credential{Provider: spiffe.TokenProviderName, Aud: "third.example"}}, deps)
	if _, err := gone.Credential(t.Context()); err == nil || !strings.Contains(err.Error(), `credential.provider "jwt-svid"`) || !strings.Contains(err.Error(), "is unavailable") {
		t.Errorf("agent down: %v", err)
	}
}
