package registrytest

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
)

// Backend tells a registry started outside the test process (a container,
// a binary) how to configure itself to sit behind the Server NewProxied
// puts in front of it.
type Backend struct {
	// PublicURL is the front Server's URL: the address clients use.
	PublicURL string
	// Htpasswd is the content of an htpasswd file for WithHtpasswd, or nil.
	Htpasswd []byte
	// Token configures token authentication for WithTokenAuth, or is nil.
	Token *BackendToken
	// Filesystem reports WithFilesystem (a backend may always use a disk).
	Filesystem bool
	// MaxTags is the WithMaxTags cap, or 0.
	MaxTags int
}

// BackendToken is the configuration of distribution's token access
// controller that trusts the front Server's token endpoint.
type BackendToken struct {
	Realm, Service, Issuer string
	// JWKS is the JSON Web Key Set of the token signing key.
	JWKS []byte
	// Algorithm is the signing algorithm ("ES256").
	Algorithm string
}

// NewProxied starts a registry outside the test process behind an
// in-process front Server on 127.0.0.1 that terminates TLS (WithTLS,
// WithClientCA), serves the token endpoint (WithTokenAuth), applies
// WithMiddleware, and forwards everything else, streaming, to the URL
// start returns. start receives what the backend must configure
// (htpasswd file, token trust); it fails or skips the test itself. The
// backend builds absolute URLs from the forwarded Host header and
// X-Forwarded-Proto, as distribution does. kind is what Server.Kind
// reports.
func NewProxied(t testing.TB, kind string, start func(t testing.TB, b Backend) (upstreamURL string), opts ...Option) *Server {
	t.Helper()
	s, srv := newServer(t, kind, opts)
	b := Backend{PublicURL: s.URL(), Filesystem: s.cfg.filesystem, MaxTags: s.cfg.maxTags}
	switch {
	case s.tokens != nil:
		b.Token = &BackendToken{Realm: s.URL() + tokenPath, Service: tokenService, Issuer: tokenIssuer, JWKS: s.tokens.jwks, Algorithm: "ES256"}
	case s.cfg.basic != nil:
		b.Htpasswd = htpasswd(t, s.cfg.basic)
	}
	up, err := url.Parse(start(t, b))
	if err != nil {
		t.Fatalf("registrytest: backend URL: %v", err)
	}
	proto := s.scheme
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up)
			r.Out.Host = r.In.Host
			r.Out.Header.Set("X-Forwarded-Proto", proto)
		},
		FlushInterval: -1,
		ErrorLog:      srv.Config.ErrorLog,
	}
	mux := http.NewServeMux()
	if s.tokens != nil {
		mux.Handle(tokenPath, s.tokens)
	}
	mux.Handle("/", proxy)
	s.start(t, srv, mux)
	return s
}
