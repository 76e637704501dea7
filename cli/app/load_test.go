package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/providers/spiffe"
)

// publicJWK returns an Ed25519 public key as a JWK.
func publicJWK(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: pub, KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestValidateEqualsSync loads configs whose only problem lies in a host's
// offline setup: validate must reject each of them, with exactly the error
// sync gives before it touches the network. The host is one no entry uses:
// it is validated all the same.
func TestValidateEqualsSync(t *testing.T) {
	tests := []struct {
		name  string
		host  string // the hosts[0] entry, after "  - host: r.example.com\n"
		files map[string]string
		want  string // after `<file>: hosts[0] "r.example.com": `
	}{
		{
			name: "CA value without PEM",
			host: "    tls:\n      serverAuth:\n        value: not a certificate\n",
			want: `tls.serverAuth.value: holds no PEM certificate`,
		},
		{
			name: "jwkValue that is not a JWK",
			host: "    credential:\n      jwkValue: 'not json'\n      iss: i\n      sub: s\n",
			want: `credential.jwkValue: the key is not valid JSON`,
		},
		{
			name: "public-only jwkValue",
			host: "    credential:\n      jwkValue: '" + publicJWK(t) + "'\n      iss: i\n      sub: s\n",
			want: `credential.jwkValue: the key holds a public key only`,
		},
		{
			name: "missing jwkPath file",
			host: "    credential:\n      jwkPath: ./keys/privkey.json\n      iss: i\n      sub: s\n",
			want: `credential.jwkPath: read DIR/keys/privkey.json: no such file or directory`,
		},
		{
			name:  "missing client certificate file",
			host:  "    tls:\n      clientAuth:\n        certificate:\n          fromPath: ./certs/client.crt\n        key:\n          fromPath: ./certs/client.key\n",
			files: map[string]string{"certs/client.key": "x"},
			want:  `tls.clientAuth.certificate.fromPath: read DIR/certs/client.crt: no such file or directory`,
		},
		{
			name:  "CA file without PEM",
			host:  "    tls:\n      serverAuth:\n        fromPath: ./ca.crt\n",
			files: map[string]string{"ca.crt": "garbage"},
			want:  `tls.serverAuth.fromPath: DIR/ca.crt holds no PEM certificate`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, dir, name, content)
			}
			cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry("src.example.com/app", "dst.example.com/app", "      semver: \"*\"\n"))+
				"hosts:\n  - host: r.example.com\n"+tt.host)
			want := "✗ " + cfg + `: hosts[0] "r.example.com": ` + strings.ReplaceAll(tt.want, "DIR", dir)

			val := run(t, runOpts{}, "validate", cfg)
			if val.code != 1 || !strings.HasPrefix(val.stderr, want) {
				t.Fatalf("validate: exit %d\n got: %s\nwant: %s", val.code, val.stderr, want)
			}
			syn := run(t, runOpts{}, "sync", cfg)
			if syn.code != 1 || syn.stderr != val.stderr || syn.stdout != "" {
				t.Errorf("sync must fail as validate does, before any output:\nsync:     exit %d %q\nvalidate: %q\nstdout: %s", syn.code, syn.stderr, val.stderr, syn.stdout)
			}
		})
	}
}

// TestSyncTokenFileSwappedForSymlink swaps the token file of a protected
// source registry for a symlink to a file outside the config's directory
// while sync runs: the next credential read fails, naming the field and
// the path, and the outside file's content never reaches the registry.
func TestSyncTokenFileSwappedForSymlink(t *testing.T) {
	const inside, outsideSecret = "robot-inside-token", "outside-secret-7f3a"
	dir := t.TempDir()
	tokenPath := writeFile(t, dir, "robot.token", inside+"\n")
	outside := writeFile(t, t.TempDir(), "token", outsideSecret+"\n")

	var (
		armed   atomic.Bool
		swap    sync.Once
		mu      sync.Mutex
		secrets []string // every password the registry was sent
	)
	recordAndSwap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); ok && armed.Load() {
				mu.Lock()
				secrets = append(secrets, user+":"+pass)
				mu.Unlock()
				// The first authenticated request of the run swaps the
				// file; every later read of it must be refused.
				swap.Do(func() {
					if err := os.Remove(tokenPath); err != nil {
						t.Error(err)
					}
					if err := os.Symlink(outside, tokenPath); err != nil {
						t.Error(err)
					}
				})
			}
			if h := r.Header.Get("Authorization"); strings.Contains(h, base64.StdEncoding.EncodeToString([]byte("robot:"+outsideSecret))) {
				t.Errorf("the registry received the outside file's content: %s %s", r.Method, r.URL.Path)
			}
			next.ServeHTTP(w, r)
		})
	}
	src := registrytest.NewDistribution(t, registrytest.WithHtpasswd("robot", inside), registrytest.WithMiddleware(recordAndSwap))
	dst := registrytest.NewDistribution(t)
	for _, tag := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		src.PushRandomImage(t, src.Host()+"/app:"+tag, 1, 256)
	}
	armed.Store(true)
	cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))+fmt.Sprintf(`hosts:
  - host: %s
    username: robot
    credential:
      fromPath: ./robot.token
`, src.Host()))

	res := run(t, runOpts{}, "sync", cfg, "--no-progress")
	want := fmt.Sprintf(`credential.fromPath: read %s: it resolves outside %s`, tokenPath, dir)
	if res.code != 1 || !strings.Contains(res.stdout+res.stderr, want) {
		t.Fatalf("sync must fail on the swapped token file naming %q: exit %d\nstdout: %s\nstderr: %s", want, res.code, res.stdout, res.stderr)
	}
	if strings.Contains(res.stdout+res.stderr, outsideSecret) {
		t.Error("the output carries the outside file's content")
	}
	if strings.Contains(res.stdout, "attempts") {
		t.Errorf("a confinement failure must not be retried:\n%s", res.stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(secrets) == 0 {
		t.Fatal("the registry saw no authenticated request before the swap")
	}
	for _, s := range secrets {
		if s != "robot:"+inside {
			t.Errorf("the registry was sent %q", s)
		}
	}
}

// TestSyncUnusedSPIFFEHost keeps an x509-svid host that no entry uses with
// SPIFFE_ENDPOINT_SOCKET unset: sync of the other entries succeeds and
// validate passes without contacting the Workload API, while an entry that
// does use such a host fails naming the host and the field.
func TestSyncUnusedSPIFFEHost(t *testing.T) {
	t.Setenv(spiffe.EnvSocket, "")
	var dials atomic.Int32
	factory := spiffe.NewX509Factory()
	withSPIFFE := func(c *Config) {
		c.Providers = append(c.Providers, TLSProvider{Name: spiffe.X509ProviderName, New: func(ctx context.Context) (hostauth.SPIFFESource, io.Closer, error) {
			dials.Add(1)
			src, err := factory.New(ctx)
			if err != nil {
				return nil, nil, err
			}
			return src, src, nil
		}})
	}
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	mtls := registrytest.NewDistribution(t, registrytest.WithClientCA())
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 256)
	dir := t.TempDir()
	writeFile(t, dir, "ca.crt", string(mtls.CAPEM()))
	hosts := fmt.Sprintf(`hosts:
  - host: spiffe.example.com
    tls:
      clientAuth:
        provider: x509-svid
  - host: %s
    tls:
      serverAuth:
        fromPath: ./ca.crt
      clientAuth:
        provider: x509-svid
`, mtls.Host())

	unused := writeFile(t, dir, "unused.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))+hosts)
	if res := run(t, runOpts{cfg: withSPIFFE}, "validate", unused); res.code != 0 {
		t.Fatalf("validate: exit %d\n%s", res.code, res.stderr)
	}
	rep, res := syncReport(t, runOpts{cfg: withSPIFFE}, unused)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("sync with unused SPIFFE hosts: exit %d %v\n%s", res.code, statuses(rep, 0), res.stderr)
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("the Workload API was dialled %d times for hosts no entry uses", n)
	}

	used := writeFile(t, dir, "used.yaml", artifactConfig(entry(src.Host()+"/app", mtls.Host()+"/app", "      semver: \"*\"\n"))+hosts)
	res = run(t, runOpts{cfg: withSPIFFE}, "sync", used, "--no-progress")
	want := fmt.Sprintf(`host %q: tls.clientAuth.provider "x509-svid": get the X.509-SVID from the SPIFFE Workload API: spiffe: SPIFFE_ENDPOINT_SOCKET is not set`, mtls.Host())
	if res.code != 1 || !strings.Contains(res.stdout, want) {
		t.Fatalf("an entry that uses the host must fail naming it: exit %d\nwant: %s\nstdout: %s\nstderr: %s", res.code, want, res.stdout, res.stderr)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("the Workload API was dialled %d times, want once per run", n)
	}

	// validate still checks the unused host's offline fields.
	bad := writeFile(t, dir, "bad.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))+strings.Replace(hosts, "fromPath: ./ca.crt", "fromPath: ./missing.crt", 1))
	res = run(t, runOpts{cfg: withSPIFFE}, "validate", bad)
	want = fmt.Sprintf(`%s: hosts[1] %q: tls.serverAuth.fromPath: read %s: no such file or directory`, bad, mtls.Host(), filepath.Join(dir, "missing.crt"))
	if res.code != 1 || !strings.Contains(res.stderr, want) {
		t.Errorf("validate of an unused host's missing CA file: exit %d\nwant: %s\n got: %s", res.code, want, res.stderr)
	}
}

// withExampleFiles copies the example config at path into a temporary
// directory next to the files the examples name (a CA bundle, a client
// certificate and key, a keygen key, a token), since validate, like sync,
// reads them, and returns the copy's path and an environment whose
// FLUX_MIRROR_JWK is a private key.
func withExampleFiles(t *testing.T, path string, env map[string]string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, filepath.Base(path), string(b))
	caPEM, certPEM, keyPEM := clientCertificate(t)
	writeFile(t, dir, "certs/ca.crt", caPEM)
	writeFile(t, dir, "certs/client.crt", certPEM)
	writeFile(t, dir, "certs/client.key", keyPEM)
	writeFile(t, dir, "tokens/registry-token", "token")
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	priv, _, err := hostauth.GenerateKeyPair(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	out["FLUX_MIRROR_JWK"] = strings.TrimSpace(string(jwk))
	return cfg, out
}

// clientCertificate returns a CA and a client certificate it issued, with
// the client's key, as PEM.
func clientCertificate(t *testing.T) (caPEM, certPEM, keyPEM string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mirror"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caTmpl, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}
