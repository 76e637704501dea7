package registrytest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// Storage drivers and access controllers that distribution selects by
	// name from its configuration.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Option configures a test registry.
type Option func(*config)

type config struct {
	filesystem  bool
	basic       *credentials
	token       *credentials
	tokenTTL    time.Duration
	tls         bool
	clientCA    bool
	middleware  []func(http.Handler) http.Handler
	maxTags     int
	noReferrers bool
	readOnly    bool
}

type credentials struct{ user, pass string }

// WithFilesystem stores content in a temporary directory instead of memory.
// Use it for anything that moves more than a few MiB: distribution's
// in-memory driver grows its upload buffer by each write and gets slow.
// NewOCI ignores it (ggcr's registry always keeps blobs in memory).
func WithFilesystem() Option { return func(c *config) { c.filesystem = true } }

// WithHtpasswd requires HTTP Basic authentication of user/pass on every
// request (distribution's htpasswd access controller; a Basic guard for
// NewOCI).
func WithHtpasswd(user, pass string) Option {
	return func(c *config) { c.basic = &credentials{user, pass} }
}

// WithTokenAuth requires bearer tokens from a token server mounted at /token
// on the registry's own host:port (so ggcr's realm guard accepts it). The
// token server checks user/pass with HTTP Basic and issues ES256 JWTs for
// the requested scopes, which distribution trusts through a JWKS file.
func WithTokenAuth(user, pass string) Option {
	return func(c *config) { c.token = &credentials{user, pass} }
}

// WithTokenTTL sets the lifetime of the tokens WithTokenAuth issues
// (default 5 minutes; whole seconds).
func WithTokenTTL(d time.Duration) Option { return func(c *config) { c.tokenTTL = d } }

// WithTLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost
// signed by a test CA (see Server.CAPEM, Server.CertPool, Server.ClientTLSConfig).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithClientCA serves HTTPS (it implies WithTLS) and requires a client
// certificate signed by a test client CA (mutual TLS). The Server exposes a
// valid client certificate and an expired one.
func WithClientCA() Option { return func(c *config) { c.tls, c.clientCA = true, true } }

// WithMiddleware wraps the registry's handler, e.g. to count requests or
// inject faults. The first middleware given is the outermost: it sees each
// request first. Middleware also sees token-server requests (path /token).
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw) }
}

// WithMaxTags caps how many tags one tags/list response carries when the
// client asks for more with ?n= (distribution only; its default is 1000).
func WithMaxTags(n int) Option { return func(c *config) { c.maxTags = n } }

// WithoutReferrersAPI makes NewOCI serve no OCI 1.1 referrers API (404), like
// a registry that only supports the referrers tag schema. Distribution never
// serves the API.
func WithoutReferrersAPI() Option { return func(c *config) { c.noReferrers = true } }

// WithReadOnly makes the registry refuse every write with 405 Method Not
// Allowed, like a registry in maintenance or a pull-through cache:
// distribution's storage.maintenance.readonly mode, and for NewOCI a guard
// that answers UNSUPPORTED to POST, PUT, PATCH and DELETE. Reads work.
func WithReadOnly() Option { return func(c *config) { c.readOnly = true } }

// Server is a registry running for a test on 127.0.0.1. It is closed when
// the test ends.
type Server struct {
	kind    string
	host    string
	scheme  string
	cfg     config
	rootDir string

	ca, clientCA              keyPair
	clientCert, expiredClient keyPair
	tokens                    *tokenServer

	transport *http.Transport
	closeOnce sync.Once
	closers   []func()
}

var quietLogs sync.Once

// silenceLogrus discards distribution's logrus output: its app logs through
// the process-wide standard logger and cannot be given another one from
// outside its module. Set REGISTRYTEST_LOGS=1 to keep the logs.
func silenceLogrus() {
	quietLogs.Do(func() {
		if os.Getenv("REGISTRYTEST_LOGS") == "" {
			logrus.SetOutput(io.Discard)
			logrus.SetLevel(logrus.PanicLevel)
		}
	})
}

// NewDistribution starts CNCF distribution v3 in-process. It has no
// referrers API (clients fall back to the referrers tag schema), supports
// cross-repository blob mounts, enforces chunk order (416), and paginates
// tags/list when the client sends ?n=.
func NewDistribution(t testing.TB, opts ...Option) *Server {
	t.Helper()
	silenceLogrus()
	s, srv := newServer(t, "distribution", opts)

	dc := &configuration.Configuration{}
	dc.Log.Level = "error"
	dc.Log.AccessLog.Disabled = true
	dc.HTTP.Secret = randomHex(16)
	dc.Tags.MaxTags = s.cfg.maxTags
	if dc.Tags.MaxTags <= 0 {
		dc.Tags.MaxTags = 1000
	}
	dc.Storage = configuration.Storage{
		"delete": configuration.Parameters{"enabled": true},
		"maintenance": configuration.Parameters{
			"uploadpurging": map[any]any{"enabled": false},
			"readonly":      map[any]any{"enabled": s.cfg.readOnly},
		},
	}
	if s.cfg.filesystem {
		s.rootDir = t.TempDir()
		dc.Storage["filesystem"] = configuration.Parameters{"rootdirectory": s.rootDir}
	} else {
		dc.Storage["inmemory"] = configuration.Parameters{}
	}
	switch {
	case s.cfg.token != nil:
		dc.Auth = configuration.Auth{"token": configuration.Parameters{
			"realm":             s.URL() + tokenPath,
			"service":           tokenService,
			"issuer":            tokenIssuer,
			"jwks":              s.tokens.jwksPath,
			"signingalgorithms": []any{"ES256"},
		}}
	case s.cfg.basic != nil:
		path := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(path, htpasswd(t, s.cfg.basic), 0o600); err != nil {
			t.Fatalf("registrytest: write htpasswd: %v", err)
		}
		dc.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "registrytest", "path": path}}
	}

	app := handlers.NewApp(context.Background(), dc)
	s.closers = append(s.closers, func() { _ = app.Shutdown() })
	mux := http.NewServeMux()
	if s.tokens != nil {
		mux.Handle(tokenPath, s.tokens)
	}
	mux.Handle("/", app)
	s.start(t, srv, mux)
	return s
}

// NewOCI starts go-containerregistry's in-memory registry (pkg/registry)
// with the OCI 1.1 referrers API (unless WithoutReferrersAPI). It does not
// mount across repositories (a mount request opens an upload session) and
// reports a referrer's artifactType from its config media type only.
// WithHtpasswd and WithTokenAuth are enforced by guard middleware.
func NewOCI(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, srv := newServer(t, "oci", opts)
	var h http.Handler = ggcrregistry.New(
		ggcrregistry.WithReferrersSupport(!s.cfg.noReferrers),
		ggcrregistry.Logger(log.New(io.Discard, "", 0)),
	)
	if s.cfg.readOnly {
		h = readOnlyGuard(h)
	}
	switch {
	case s.tokens != nil:
		mux := http.NewServeMux()
		mux.Handle(tokenPath, s.tokens)
		mux.Handle("/", h)
		h = s.tokens.guard(s.URL()+tokenPath, mux)
	case s.cfg.basic != nil:
		h = basicGuard(s.cfg.basic.user, s.cfg.basic.pass, h)
	}
	s.start(t, srv, h)
	return s
}

// newServer reserves a loopback listener and prepares certificates and the
// token server, so that the registry's configuration can name its own URL.
func newServer(t testing.TB, kind string, opts []Option) (*Server, *httptest.Server) {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tokenTTL <= 0 {
		cfg.tokenTTL = 5 * time.Minute
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("registrytest: listen: %v", err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{ErrorLog: log.New(io.Discard, "", 0)}}
	s := &Server{kind: kind, host: l.Addr().String(), scheme: "http", cfg: cfg}
	s.setupTLS(t)
	if cfg.token != nil {
		s.tokens = newTokenServer(t, cfg.token.user, cfg.token.pass, cfg.tokenTTL)
	}
	t.Cleanup(s.Close)
	return s, srv
}

// setupTLS creates the certificates the options ask for and the transport
// the seed helpers use.
func (s *Server) setupTLS(t testing.TB) {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.cfg.tls {
		s.scheme = "https"
		s.ca = newCA(t, "registrytest server CA")
		if s.cfg.clientCA {
			s.clientCA = newCA(t, "registrytest client CA")
			now := time.Now()
			s.clientCert = newLeaf(t, s.clientCA, "registrytest client", false, now.Add(-time.Hour), now.Add(24*time.Hour))
			s.expiredClient = newLeaf(t, s.clientCA, "registrytest expired client", false, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
		}
		tr.TLSClientConfig = s.ClientTLSConfig()
	}
	s.transport = tr
}

func (s *Server) start(t testing.TB, srv *httptest.Server, h http.Handler) {
	t.Helper()
	if s.tokens != nil {
		h = s.tokens.refuseExpired(s.URL()+tokenPath, h)
	}
	for i := len(s.cfg.middleware) - 1; i >= 0; i-- {
		h = s.cfg.middleware[i](h)
	}
	srv.Config.Handler = h
	if s.cfg.tls {
		leaf := newLeaf(t, s.ca, "registrytest server", true, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		srv.TLS = &tls.Config{
			Certificates: []tls.Certificate{leaf.tlsCertificate(t)},
			MinVersion:   tls.VersionTLS12,
		}
		if s.cfg.clientCA {
			pool := x509.NewCertPool()
			pool.AddCert(s.clientCA.cert)
			srv.TLS.ClientCAs = pool
			srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	s.closers = append([]func(){srv.Close}, s.closers...)
}

// Close stops the registry. It is called automatically when the test ends.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for _, c := range s.closers {
			c()
		}
		s.transport.CloseIdleConnections()
	})
}

// Host returns the registry's host:port, e.g. "127.0.0.1:40123".
func (s *Server) Host() string { return s.host }

// URL returns the registry's base URL, e.g. "https://127.0.0.1:40123".
func (s *Server) URL() string { return s.scheme + "://" + s.host }

// Kind returns "distribution", "oci" or "container".
func (s *Server) Kind() string { return s.kind }

// Ref returns host/pathRef for a path relative to the registry, e.g.
// Ref("app:1.0") is "127.0.0.1:40123/app:1.0". A ref that already starts
// with the host is returned unchanged.
func (s *Server) Ref(pathRef string) string {
	if strings.HasPrefix(pathRef, s.host+"/") {
		return pathRef
	}
	return s.host + "/" + strings.TrimPrefix(pathRef, "/")
}

// SupportsReferrersAPI reports whether the registry serves the OCI 1.1
// referrers API.
func (s *Server) SupportsReferrersAPI() bool { return s.kind == "oci" && !s.cfg.noReferrers }

// SupportsMount reports whether the registry honours cross-repository blob
// mounts.
func (s *Server) SupportsMount() bool { return s.kind != "oci" }

// RootDirectory returns the storage directory with WithFilesystem, or "".
func (s *Server) RootDirectory() string { return s.rootDir }

// Username returns the user of WithHtpasswd or WithTokenAuth, or "".
func (s *Server) Username() string {
	if c := s.creds(); c != nil {
		return c.user
	}
	return ""
}

// Password returns the password of WithHtpasswd or WithTokenAuth, or "".
func (s *Server) Password() string {
	if c := s.creds(); c != nil {
		return c.pass
	}
	return ""
}

func (s *Server) creds() *credentials {
	if s.cfg.token != nil {
		return s.cfg.token
	}
	return s.cfg.basic
}

// ExpireTokens makes every token WithTokenAuth issued so far expired: the
// registry answers requests bearing one with a new Bearer challenge, as
// once their exp has passed, without the test waiting for it.
func (s *Server) ExpireTokens() {
	if s.tokens != nil {
		s.tokens.expireAll()
	}
}

// TokensIssued returns how many tokens the WithTokenAuth token server has
// issued so far (0 without it).
func (s *Server) TokensIssued() int {
	if s.tokens == nil {
		return 0
	}
	return s.tokens.issuedCount()
}

// CAPEM returns the PEM of the CA that signed the server certificate (with
// WithTLS), or nil.
func (s *Server) CAPEM() []byte { return s.ca.certPEM }

// CertPool returns a pool holding the server CA (with WithTLS), or nil.
func (s *Server) CertPool() *x509.CertPool {
	if s.ca.cert == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AddCert(s.ca.cert)
	return p
}

// ClientTLSConfig returns a client configuration that trusts the server CA
// and, with WithClientCA, presents the valid client certificate. It is nil
// for a plain-HTTP registry.
func (s *Server) ClientTLSConfig() *tls.Config {
	if !s.cfg.tls {
		return nil
	}
	c := &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	if s.cfg.clientCA {
		c.Certificates = []tls.Certificate{s.ClientCertificate()}
	}
	return c
}

// ClientCertificate returns the valid client certificate of WithClientCA.
func (s *Server) ClientCertificate() tls.Certificate { return mustPair(s.clientCert) }

// ExpiredClientCertificate returns a client certificate signed by the
// client CA whose validity ended a day ago.
func (s *Server) ExpiredClientCertificate() tls.Certificate { return mustPair(s.expiredClient) }

// ClientCertPEM returns the valid client certificate and key as PEM.
func (s *Server) ClientCertPEM() (cert, key []byte) { return s.clientCert.certPEM, s.clientCert.keyPEM }

// ExpiredClientCertPEM returns the expired client certificate and key as PEM.
func (s *Server) ExpiredClientCertPEM() (cert, key []byte) {
	return s.expiredClient.certPEM, s.expiredClient.keyPEM
}

// ClientCAPEM returns the PEM of the CA the registry trusts for client
// certificates (with WithClientCA), or nil.
func (s *Server) ClientCAPEM() []byte { return s.clientCA.certPEM }

func mustPair(k keyPair) tls.Certificate {
	if k.cert == nil {
		return tls.Certificate{}
	}
	c, err := tls.X509KeyPair(k.certPEM, k.keyPEM)
	if err != nil {
		panic("registrytest: " + err.Error())
	}
	return c
}

// Transport returns the HTTP transport the seed helpers use: it trusts the
// server CA and presents the client certificate where the options require.
func (s *Server) Transport() http.RoundTripper { return s.transport }

// Authenticator returns the credentials of WithHtpasswd or WithTokenAuth
// for go-containerregistry, or authn.Anonymous.
func (s *Server) Authenticator() authn.Authenticator {
	if c := s.creds(); c != nil {
		return &authn.Basic{Username: c.user, Password: c.pass}
	}
	return authn.Anonymous
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// htpasswd returns an htpasswd file with the user's bcrypt hash.
func htpasswd(t testing.TB, c *credentials) []byte {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(c.pass), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("registrytest: hash password: %v", err)
	}
	return []byte(c.user + ":" + string(hash) + "\n")
}

// readOnlyGuard answers 405 UNSUPPORTED to every write, as distribution's
// read-only mode does.
func readOnlyGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNSUPPORTED","message":"the registry is read-only"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}
