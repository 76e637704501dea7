package hostauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/internal/testing/jwtgateway"
)

// issue creates a certificate signed by parent (self-signed when nil).
func issue(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return cert, key,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// TestHostEndToEnd reaches an mTLS server guarded by a JWT gateway with
// nothing but a host entry: a CA bundle, a client certificate and a jwkPath
// credential from keygen, all read from files.
func TestHostEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, caKey, caPEM, _ := issue(t, nil, nil, &x509.Certificate{Subject: pkix.Name{CommonName: "CA"}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	_, serverKey, serverPEM, _ := issue(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "registry"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	_, _, clientPEM, clientKeyPEM := issue(t, ca, caKey, &x509.Certificate{Subject: pkix.Name{CommonName: "mirror"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	for name, b := range map[string][]byte{"ca.crt": caPEM, "client.crt": clientPEM, "client.key": clientKeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	privPath, pubPath, err := hostauth.GenerateKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	pubJSON, _ := os.ReadFile(pubPath)
	keys, err := jwtgateway.ParseKeySet(pubJSON)
	if err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewUnstartedServer(nil)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	serverCert, _ := x509.ParseCertificate(mustDER(t, serverPEM))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{serverCert.Raw}, PrivateKey: serverKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	gw, err := jwtgateway.New(jwtgateway.Config{Keys: keys, Issuer: "https://ci.example", Audience: host})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = gw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := jwtgateway.ClaimsFrom(r.Context())
		_, _ = io.WriteString(w, c.Subject+" via "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))

	h := config.Host{
		Host:       host,
		Credential: &config.Credential{JWKPath: privPath, Iss: "https://ci.example", Sub: "repo:flux/mirror"},
		TLS: &config.TLS{
			ServerAuth: &config.ServerAuth{FromPath: filepath.Join(dir, "ca.crt")},
			ClientAuth: &config.ClientAuth{
				Certificate: &config.Source{FromPath: filepath.Join(dir, "client.crt")},
				Key:         &config.Source{FromPath: filepath.Join(dir, "client.key")},
			},
		},
	}
	sources, err := hostauth.NewSources([]config.Host{h}, hostauth.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	tlsConfigs, err := hostauth.TLSConfigs([]config.Host{h}, hostauth.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfigs[host]}}
	for range 3 {
		cred, err := sources[host].Credential(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/", nil)
		req.Header.Set("Authorization", "Bearer "+cred.Secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(hostauth.ExplainTLSError(host, err))
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "repo:flux/mirror via mirror" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
	if gw.Accepted() != 3 {
		t.Errorf("gateway accepted %d requests, want 3", gw.Accepted())
	}
}

func mustDER(t *testing.T, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM")
	}
	return b.Bytes
}
