package hostauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/config"
)

var localhost = []net.IP{net.IPv4(127, 0, 0, 1)}

// tlsServer starts an HTTPS server on 127.0.0.1 with cert, verifying client
// certificates with verify (nil: no client certificate requested).
func tlsServer(t *testing.T, cert tls.Certificate, configure func(*tls.Config)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if len(r.TLS.PeerCertificates) > 0 {
			c := r.TLS.PeerCertificates[0]
			who = c.Subject.CommonName
			if len(c.URIs) == 1 {
				who = c.URIs[0].String()
			}
		}
		_, _ = io.WriteString(w, who)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if configure != nil {
		configure(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// get does one request over a fresh connection with cfg.
func get(t *testing.T, url string, cfg *tls.Config) (string, error) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func requireClientCert(ca *testCA) func(*tls.Config) {
	return func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = ca.pool()
	}
}

func TestTLSCustomCAAndMTLS(t *testing.T) {
	t.Parallel()
	serverCA := newCA(t, "server CA")
	clientCA := newCA(t, "client CA")
	otherCA := newCA(t, "other CA")
	server := serverCA.issue(t, leafOpts{cn: "registry", ips: localhost, server: true})
	client := clientCA.issue(t, leafOpts{cn: "mirror-client"})
	stranger := otherCA.issue(t, leafOpts{cn: "stranger"})
	srv := tlsServer(t, server.tls, requireClientCert(clientCA))
	dir := t.TempDir()
	caPath := writeFile(t, dir, "ca.pem", "# bundle\n"+otherCA.pem+serverCA.pem)
	certPath := writeFile(t, dir, "client.crt", client.certPEM)
	keyPath := writeFile(t, dir, "client.key", client.keyPEM)
	host := strings.TrimPrefix(srv.URL, "https://")

	tests := []struct {
		name    string
		tls     config.TLS
		want    string
		wantErr string
	}{
		{"CA file and client cert files", config.TLS{
			ServerAuth: &config.ServerAuth{FromPath: caPath},
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{FromPath: certPath}, Key: &config.Source{FromPath: keyPath}},
		}, "mirror-client", ""},
		{"CA value, cert value, key file", config.TLS{
			ServerAuth: &config.ServerAuth{Value: serverCA.pem},
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: client.certPEM}, Key: &config.Source{FromPath: keyPath}},
		}, "mirror-client", ""},
		{"no client certificate", config.TLS{
			ServerAuth: &config.ServerAuth{FromPath: caPath},
		}, "", "requires a client certificate"},
		{"client certificate from an untrusted CA", config.TLS{
			ServerAuth: &config.ServerAuth{FromPath: caPath},
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: stranger.certPEM}, Key: &config.Source{Value: stranger.keyPEM}},
		}, "", "rejected the client certificate"},
		{"server from a CA not in the bundle", config.TLS{
			ServerAuth: &config.ServerAuth{Value: otherCA.pem},
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{FromPath: certPath}, Key: &config.Source{FromPath: keyPath}},
		}, "", "does not trust"},
		{"system pool does not know the test CA", config.TLS{
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{FromPath: certPath}, Key: &config.Source{FromPath: keyPath}},
		}, "", "does not trust"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := TLSConfig(config.Host{Host: host, TLS: &tt.tls}, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			body, err := get(t, srv.URL, cfg)
			if tt.wantErr == "" {
				if err != nil || body != tt.want {
					t.Fatalf("got %q, %v; want %q", body, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want a handshake failure", body)
			}
			if err := ExplainTLSError(host, err); !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("explained error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestTLSClientCertificateExpiry(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "CA")
	server := ca.issue(t, leafOpts{cn: "registry", ips: localhost, server: true})
	expired := ca.issue(t, leafOpts{cn: "old", notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-time.Hour)})
	srv := tlsServer(t, server.tls, requireClientCert(ca))
	host := strings.TrimPrefix(srv.URL, "https://")

	h := config.Host{Host: host, TLS: &config.TLS{
		ServerAuth: &config.ServerAuth{Value: ca.pem},
		ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: expired.certPEM}, Key: &config.Source{Value: expired.keyPEM}},
	}}
	_, err := TLSConfig(h, Deps{})
	if err == nil || !strings.Contains(err.Error(), `tls.clientAuth.certificate: the client certificate "CN=old" expired at`) {
		t.Fatalf("expired certificate: %v", err)
	}

	// A certificate that expires while the process runs fails the handshake
	// with the same explanation.
	clk := newClock()
	clk.t = time.Now()
	valid := ca.issue(t, leafOpts{cn: "short", notAfter: time.Now().Add(time.Hour)})
	h.TLS.ClientAuth = &config.ClientAuth{Certificate: &config.Source{Value: valid.certPEM}, Key: &config.Source{Value: valid.keyPEM}}
	cfg, err := TLSConfig(h, Deps{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if body, err := get(t, srv.URL, cfg); err != nil || body != "short" {
		t.Fatalf("valid certificate: %q, %v", body, err)
	}
	clk.Add(2 * time.Hour)
	_, err = get(t, srv.URL, cfg)
	var he *HostError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "tls.clientAuth.certificate: the client certificate \"CN=short\" expired") {
		t.Fatalf("handshake after expiry: %v", err)
	}
}

func TestTLSBadInputs(t *testing.T) {
	t.Parallel()
	ca := newCA(t, "CA")
	a := ca.issue(t, leafOpts{cn: "a"})
	b := ca.issue(t, leafOpts{cn: "b"})
	dir := t.TempDir()
	noCerts := writeFile(t, dir, "ca.pem", "just some text\n"+a.keyPEM)
	keyBody := strings.Split(a.keyPEM, "\n")[1] // a line of key material
	tests := []struct {
		name string
		tls  config.TLS
		want string
	}{
		{"CA file without certificates", config.TLS{ServerAuth: &config.ServerAuth{FromPath: noCerts}},
			"tls.serverAuth.fromPath: " + noCerts + " holds no PEM certificate"},
		{"CA value without certificates", config.TLS{ServerAuth: &config.ServerAuth{Value: "nope"}},
			"tls.serverAuth.value: holds no PEM certificate"},
		{"CA value with a broken certificate", config.TLS{ServerAuth: &config.ServerAuth{Value: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}},
			"tls.serverAuth.value: holds an invalid certificate (PEM block 1)"},
		{"CA file missing", config.TLS{ServerAuth: &config.ServerAuth{FromPath: dir + "/missing.pem"}},
			"tls.serverAuth.fromPath: read " + dir + "/missing.pem: no such file"},
		{"key does not match", config.TLS{ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: a.certPEM}, Key: &config.Source{Value: b.keyPEM}}},
			"tls.clientAuth: the key does not match the certificate"},
		{"key swapped for certificate", config.TLS{ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: a.keyPEM}, Key: &config.Source{Value: a.certPEM}}},
			"tls.clientAuth.certificate:"},
		{"key missing", config.TLS{ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: a.certPEM}}},
			"tls.clientAuth.key: required"},
		{"key file missing", config.TLS{ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: a.certPEM}, Key: &config.Source{FromPath: dir + "/k"}}},
			"tls.clientAuth.key.fromPath: read " + dir + "/k"},
		{"unknown client provider", config.TLS{ClientAuth: &config.ClientAuth{Provider: "x509"}},
			`tls.clientAuth.provider: "x509" is unknown`},
		{"bad SPIFFE ID", config.TLS{ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{ServerID: "https://x"}}},
			"tls.serverAuth.spiffe.serverID"},
		{"two server sources", config.TLS{ServerAuth: &config.ServerAuth{Value: ca.pem, FromPath: noCerts}},
			"tls.serverAuth: exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := TLSConfig(config.Host{Host: "r", TLS: &tt.tls}, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), keyBody) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error %q leaks key material", err)
			}
		})
	}
	if cfg, err := TLSConfig(config.Host{Host: "r"}, Deps{}); cfg != nil || err != nil {
		t.Errorf("no tls block: got %v, %v; want nil, nil", cfg, err)
	}
	if _, err := TLSConfig(config.Host{Host: "r", Provider: "ecr", TLS: &config.TLS{}}, Deps{}); err == nil {
		t.Error("tls with a provider must be refused")
	}
}

// spiffeWorld is a SPIFFE trust domain with a CA, and a rotating source that
// plays the Workload API.
type spiffeWorld struct {
	td spiffeid.TrustDomain
	ca *testCA
}

func newSPIFFEWorld(t *testing.T, td string) *spiffeWorld {
	return &spiffeWorld{td: spiffeid.RequireTrustDomainFromString(td), ca: newCA(t, td+" SPIFFE CA")}
}

func (w *spiffeWorld) svid(t *testing.T, path string, server bool) (*x509svid.SVID, *leaf) {
	t.Helper()
	var ips []net.IP
	if server {
		ips = localhost
	}
	l := w.ca.issue(t, leafOpts{cn: path, uris: []string{"spiffe://" + w.td.Name() + path}, ips: ips, server: server})
	s, err := x509svid.Parse([]byte(l.certPEM), []byte(l.keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return s, l
}

// workload is a SPIFFESource whose SVID can be rotated.
type workload struct {
	mu      sync.Mutex
	svid    *x509svid.SVID
	bundles *x509bundle.Set
}

func (w *workload) GetX509SVID() (*x509svid.SVID, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.svid, nil
}

func (w *workload) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	return w.bundles.GetX509BundleForTrustDomain(td)
}

func (w *workload) rotate(s *x509svid.SVID) {
	w.mu.Lock()
	w.svid = s
	w.mu.Unlock()
}

func TestTLSSPIFFE(t *testing.T) {
	t.Parallel()
	org := newSPIFFEWorld(t, "example.org")
	other := newSPIFFEWorld(t, "other.org")
	bundles := x509bundle.NewSet(
		x509bundle.FromX509Authorities(org.td, []*x509.Certificate{org.ca.cert}),
		x509bundle.FromX509Authorities(other.td, []*x509.Certificate{other.ca.cert}),
	)
	mirrorSVID, _ := org.svid(t, "/mirror", false)
	registrySVID, _ := org.svid(t, "/registry", true)
	foreignSVID, _ := other.svid(t, "/registry", true)
	src := &workload{svid: mirrorSVID, bundles: bundles}

	// A full SPIFFE registry: it presents its SVID and authorizes clients
	// of example.org, as go-spiffe's server profile does.
	spiffeRegistry := func(svid *x509svid.SVID) *httptest.Server {
		cfg := tlsconfig.MTLSServerConfig(svid, bundles, tlsconfig.AuthorizeMemberOf(org.td))
		cert, _ := tlsconfig.GetCertificate(svid)(nil)
		return tlsServer(t, *cert, func(c *tls.Config) {
			c.ClientAuth = cfg.ClientAuth
			c.VerifyPeerCertificate = cfg.VerifyPeerCertificate
		})
	}
	orgRegistry := spiffeRegistry(registrySVID)
	foreignRegistry := spiffeRegistry(foreignSVID)

	// A registry with a classic certificate that requires a client SVID.
	webCA := newCA(t, "web CA")
	webCert := webCA.issue(t, leafOpts{cn: "web", ips: localhost, server: true})
	webRegistry := tlsServer(t, webCert.tls, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAnyClientCert
		c.VerifyPeerCertificate = tlsconfig.VerifyPeerCertificate(bundles, tlsconfig.AuthorizeAny())
	})
	// A SPIFFE registry that verifies static client certificates by CA.
	clientCA := newCA(t, "client CA")
	staticClient := clientCA.issue(t, leafOpts{cn: "static-client"})
	registryCert, _ := tlsconfig.GetCertificate(registrySVID)(nil)
	mixedRegistry := tlsServer(t, *registryCert, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = clientCA.pool()
	})

	svidClient := &config.ClientAuth{Provider: config.ClientProviderX509SVID}
	tests := []struct {
		name    string
		url     string
		tls     config.TLS
		want    string
		wantErr string
	}{
		{"serverID", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{ServerID: "spiffe://example.org/registry"}}}, "spiffe://example.org/mirror", ""},
		{"wrong serverID", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{ServerID: "spiffe://example.org/other"}}}, "", "tls.serverAuth.spiffe: the registry's X.509-SVID was not accepted"},
		{"trust domain", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{TrustDomain: "example.org"}}}, "spiffe://example.org/mirror", ""},
		{"own trust domain", orgRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{TrustDomain: "self"}}}, "spiffe://example.org/mirror", ""},
		{"own trust domain refuses another", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{TrustDomain: "self"}}}, "", "not accepted"},
		{"other trust domain", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{TrustDomain: "other.org"}}}, "spiffe://example.org/mirror", ""},
		{"authorize any", foreignRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{AuthorizeAny: true}}}, "spiffe://example.org/mirror", ""},
		{"SPIFFE server without client SVID", orgRegistry.URL, config.TLS{ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{AuthorizeAny: true}}}, "", "requires a client certificate"},
		{"client SVID, server by CA", webRegistry.URL, config.TLS{ClientAuth: svidClient, ServerAuth: &config.ServerAuth{Value: webCA.pem}}, "spiffe://example.org/mirror", ""},
		{"client SVID, server CA unknown", webRegistry.URL, config.TLS{ClientAuth: svidClient}, "", "does not trust"},
		{"SPIFFE server, static client", mixedRegistry.URL, config.TLS{
			ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{ServerID: "spiffe://example.org/registry"}},
			ClientAuth: &config.ClientAuth{Certificate: &config.Source{Value: staticClient.certPEM}, Key: &config.Source{Value: staticClient.keyPEM}},
		}, "static-client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := strings.TrimPrefix(tt.url, "https://")
			cfg, err := TLSConfig(config.Host{Host: host, TLS: &tt.tls}, Deps{SPIFFE: src})
			if err != nil {
				t.Fatal(err)
			}
			body, err := get(t, tt.url, cfg)
			if tt.wantErr == "" {
				if err != nil || body != tt.want {
					t.Fatalf("got %q, %v; want %q", body, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error", body)
			}
			if err := ExplainTLSError(host, err); !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}

	t.Run("rotation", func(t *testing.T) {
		t.Parallel()
		rot := &workload{svid: mirrorSVID, bundles: bundles}
		cfg, err := TLSConfig(config.Host{Host: "r", TLS: &config.TLS{
			ClientAuth: svidClient,
			ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{TrustDomain: "example.org"}},
		}}, Deps{SPIFFE: rot})
		if err != nil {
			t.Fatal(err)
		}
		if body, err := get(t, orgRegistry.URL, cfg); err != nil || body != "spiffe://example.org/mirror" {
			t.Fatalf("before rotation: %q, %v", body, err)
		}
		next, _ := org.svid(t, "/mirror-rotated", false)
		rot.rotate(next)
		if body, err := get(t, orgRegistry.URL, cfg); err != nil || body != "spiffe://example.org/mirror-rotated" {
			t.Fatalf("after rotation: %q, %v", body, err)
		}
	})
}

func TestTLSSPIFFENotCompiled(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]config.TLS{
		"client": {ClientAuth: &config.ClientAuth{Provider: config.ClientProviderX509SVID}},
		"server": {ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{AuthorizeAny: true}}},
	} {
		_, err := TLSConfig(config.Host{Host: "r", TLS: &tc}, Deps{})
		if !errors.Is(err, core.ErrProviderNotCompiled) {
			t.Errorf("%s: %v, want ErrProviderNotCompiled", name, err)
		}
	}
}

func FuzzCertPool(f *testing.F) {
	ca := newCA(f, "fuzz")
	f.Add([]byte(ca.pem))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pool, err := certPool(b)
		if (pool == nil) == (err == nil) {
			t.Fatalf("certPool returned pool %v and error %v", pool, err)
		}
	})
}

func TestNeedsSPIFFE(t *testing.T) {
	t.Parallel()
	static := config.Host{Host: "a", TLS: &config.TLS{ServerAuth: &config.ServerAuth{Value: "x"}}}
	tests := []struct {
		name  string
		hosts []config.Host
		want  bool
	}{
		{"none", []config.Host{{Host: "a"}, static}, false},
		{"client SVID", []config.Host{static, {Host: "b", TLS: &config.TLS{ClientAuth: &config.ClientAuth{Provider: config.ClientProviderX509SVID}}}}, true},
		{"server SPIFFE", []config.Host{{Host: "b", TLS: &config.TLS{ServerAuth: &config.ServerAuth{SPIFFE: &config.SPIFFEServer{AuthorizeAny: true}}}}}, true},
	}
	for _, tt := range tests {
		if got := NeedsSPIFFE(tt.hosts); got != tt.want {
			t.Errorf("%s: NeedsSPIFFE = %v, want %v", tt.name, got, tt.want)
		}
	}
}
