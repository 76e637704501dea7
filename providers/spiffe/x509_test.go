package spiffe

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
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/providers/spiffe/spiffetest"
)

// The source is what the CLI hands to hostauth.
var _ hostauth.SPIFFESource = (*X509Source)(nil)

func openSource(t *testing.T, opts ...Option) *X509Source {
	t.Helper()
	src, err := NewX509Source(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// waitUpdated waits for the source to take in a pushed rotation.
func waitUpdated(t *testing.T, src *X509Source) {
	t.Helper()
	select {
	case <-src.Updated():
	case <-time.After(10 * time.Second):
		t.Fatal("the source received no update")
	}
}

func TestX509Source(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithFederatedDomain("other.org"))
	src, err := NewX509Factory(env(map[string]string{EnvSocket: w.Socket()})).New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	svid, err := src.GetX509SVID()
	if err != nil {
		t.Fatal(err)
	}
	if svid.ID != w.ID() || !svid.Certificates[0].Equal(w.SVID().Certificates[0]) {
		t.Errorf("SVID %s is not the workload's", svid.ID)
	}
	for _, td := range []string{"example.org", "other.org"} {
		b, err := src.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString(td))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := w.Bundle().GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString(td))
		if !b.Equal(want) {
			t.Errorf("bundle of %s differs from the Workload API's", td)
		}
	}
	_, err = src.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString("unknown.org"))
	if err == nil || !strings.Contains(err.Error(), `sent no X.509 bundle for trust domain "unknown.org" (is it federated`) {
		t.Errorf("unknown trust domain: %v", err)
	}

	// An SVID the agent stopped renewing is reported, not presented.
	src.now = func() time.Time { return time.Now().Add(2 * spiffetest.DefaultSVIDTTL) }
	if _, err := src.GetX509SVID(); err == nil || !strings.Contains(err.Error(), "spiffe: the X.509-SVID spiffe://example.org/mirror expired at") {
		t.Errorf("expired SVID: %v", err)
	}
	src.now = time.Now

	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := src.GetX509SVID(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v", err)
	}
}

func TestX509SourceErrors(t *testing.T) {
	t.Parallel()
	down := spiffetest.New(t, "example.org")
	down.Close()
	hang := hangingSocket(t)
	tests := []struct {
		name  string
		opts  []Option
		setup func(w *spiffetest.WorkloadAPI)
		want  []string
		quick bool // fails without waiting for the timeout
	}{
		{name: "SPIFFE_ENDPOINT_SOCKET missing", opts: []Option{env(nil)}, quick: true,
			want: []string{"spiffe: SPIFFE_ENDPOINT_SOCKET is not set"}},
		{name: "endpoint down", opts: []Option{WithAddr(down.Socket())},
			want: []string{"spiffe: no X.509-SVID from the SPIFFE Workload API after ", "at " + down.Socket() + " is unavailable"}},
		{name: "endpoint hangs", opts: []Option{WithAddr(hang)},
			want: []string{"spiffe: no X.509-SVID from the SPIFFE Workload API at " + hang + " after ", "context deadline exceeded"}},
		{name: "permission denied", setup: func(w *spiffetest.WorkloadAPI) {
			w.FailWith(status.Error(codes.PermissionDenied, "no identity issued"))
		}, want: []string{"issued no identity to this workload", "no identity issued"}},
		{name: "malformed SVID", setup: func(w *spiffetest.WorkloadAPI) {
			w.ServeRawX509SVID([]byte("not DER"), []byte("not a key"))
		}, want: []string{"returned a malformed answer: x509svid:"}},
		{name: "refused", quick: true, setup: func(w *spiffetest.WorkloadAPI) {
			w.FailWith(status.Error(codes.InvalidArgument, "bad request"))
		}, want: []string{"spiffe: watch the X.509-SVID: the SPIFFE Workload API at", "refused the request (InvalidArgument): bad request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			timeout := 500 * time.Millisecond
			if tt.quick {
				timeout = time.Minute
			}
			opts := append([]Option{WithTimeout(timeout)}, tt.opts...)
			if tt.opts == nil {
				w := spiffetest.New(t, "example.org")
				tt.setup(w)
				opts = append(opts, WithAddr(w.Socket()))
			}
			start := time.Now()
			src, err := NewX509Source(t.Context(), opts...)
			if err == nil {
				_ = src.Close()
				t.Fatal("want an error")
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the failure took %s", took)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
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

// TestSPIFFEMTLS runs hostauth's TLS configurations on the X509Source
// against registries that serve SVIDs of the fake Workload API's trust
// domains, so every handshake uses what came over the Workload API.
func TestSPIFFEMTLS(t *testing.T) {
	t.Parallel()
	w := spiffetest.New(t, "example.org", spiffetest.WithFederatedDomain("other.org"))
	src := openSource(t, WithAddr(w.Socket()))
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
	src := openSource(t, WithAddr(w.Socket()))
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
	src.now = func() time.Time { return time.Now().Add(2 * spiffetest.DefaultSVIDTTL) }
	_, err = get(reg.URL, cfg)
	var he *hostauth.HostError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "has not renewed it") {
		t.Errorf("expired SVID at handshake: %v", err)
	}
}
