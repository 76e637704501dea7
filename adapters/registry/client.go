package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "flux-mirror"

// Host configures the connection to one registry host.
type Host struct {
	// Credentials resolve the host's credential. A bearer credential
	// (empty Username) is sent as "Authorization: Bearer" on every request
	// to the host; a username/password goes through the registry's
	// challenge (Basic, or a token-endpoint exchange). Nil: the Keychain.
	Credentials auth.Source
	// TLS configures server verification and client certificates for the
	// host; nil means the system roots.
	TLS *tls.Config
	// MaxChunkSize is the largest blob-upload request body in bytes; larger
	// blobs are uploaded in PATCH chunks of at most this size. 0 uploads
	// every blob with a single PUT.
	MaxChunkSize int64
}

// Options configure a Client.
type Options struct {
	// Hosts configures registry hosts by host[:port], as written in
	// repositories (e.g. "ghcr.io", "127.0.0.1:5000").
	Hosts map[string]Host
	// Keychain resolves credentials of hosts without Host.Credentials;
	// nil means authn.DefaultKeychain (the Docker config, including
	// credsStore/credHelpers and $DOCKER_CONFIG).
	Keychain authn.Keychain
	// Insecure allows plain HTTP and skips TLS verification for every
	// host. For development only. Without it, localhost and loopback hosts
	// still fall back to plain HTTP, as go-containerregistry does.
	Insecure bool
	// Logger receives a Debug line per HTTP request (method, URL without
	// secrets, status, duration); nil discards.
	Logger *slog.Logger
	// UserAgent is sent on every request; empty means DefaultUserAgent.
	UserAgent string
	// Transport is the base HTTP transport (tests, benchmarks). Per-host
	// TLS settings require an *http.Transport, which is cloned per host.
	// Nil means a clone of http.DefaultTransport.
	Transport http.RoundTripper
	// TagPageSize asks for this many tags per tags/list page (?n=); 0
	// lets the registry choose. Pagination through Link headers is always
	// followed.
	TagPageSize int
	// IdleTimeout fails a request when no byte moves for this long: no
	// response headers or body bytes arrive, or the host stops reading an
	// upload. The error is an *IdleError, which a retry on a fresh
	// connection may fix. Every byte resets the timer, so slow transfers
	// that keep moving are never cut. 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Client talks to OCI registries over the distribution API on
// go-containerregistry's authentication. It is safe for concurrent use.
type Client struct {
	opts     Options
	log      *slog.Logger
	keychain authn.Keychain
	ua       string

	mu    sync.Mutex
	hosts map[string]*hostState

	sessionsMu sync.Mutex
	sessions   map[sessionKey]*url.URL

	stats wireStats

	// now is the clock of the token cache (time.Now; tests move it).
	now func() time.Time
}

var _ mirror.Registry = (*Client)(nil)

// sessionKey names an upload session opened by a mount request the
// registry answered with 202, for the following PushBlob to reuse.
type sessionKey struct{ host, repo, digest string }

// New validates opts and returns a Client. It performs no I/O.
func New(opts Options) (*Client, error) {
	for h, cfg := range opts.Hosts {
		if h == "" || strings.Contains(h, "://") || strings.Contains(h, "/") {
			return nil, fmt.Errorf("registry host %q: write it as host[:port], without scheme or path", h)
		}
		if _, err := name.NewRegistry(h, name.StrictValidation); err != nil {
			return nil, fmt.Errorf("registry host %q: %w", h, err)
		}
		if cfg.MaxChunkSize < 0 {
			return nil, fmt.Errorf("registry host %q: maxChunkSize must not be negative", h)
		}
		if cfg.TLS != nil && opts.Transport != nil {
			if _, ok := opts.Transport.(*http.Transport); !ok {
				return nil, fmt.Errorf("registry host %q: a TLS configuration needs Options.Transport to be an *http.Transport, got %T", h, opts.Transport)
			}
		}
	}
	if opts.TagPageSize < 0 {
		return nil, fmt.Errorf("tag page size must not be negative")
	}
	if opts.IdleTimeout < 0 {
		return nil, fmt.Errorf("idle timeout must not be negative, got %s", opts.IdleTimeout)
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	c := &Client{
		opts:     opts,
		log:      opts.Logger,
		keychain: opts.Keychain,
		ua:       opts.UserAgent,
		hosts:    map[string]*hostState{},
		sessions: map[sessionKey]*url.URL{},
		now:      time.Now,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.keychain == nil {
		c.keychain = authn.DefaultKeychain
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	return c, nil
}

// host returns the state of a registry host, creating it on first use.
func (c *Client) host(h string) (*hostState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hs, ok := c.hosts[h]; ok {
		return hs, hs.err
	}
	hs, err := c.newHostState(h)
	if err != nil {
		return nil, err
	}
	c.hosts[h] = hs
	return hs, hs.err
}

func (c *Client) newHostState(h string) (*hostState, error) {
	opts := []name.Option{name.StrictValidation}
	if c.opts.Insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(h, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry host %q: %w", h, err)
	}
	cfg, configured := c.opts.Hosts[h]
	if !configured {
		cfg, configured = c.opts.Hosts[reg.RegistryStr()]
	}
	for k, v := range c.opts.Hosts { // docker.io, index.docker.io and registry-1.docker.io are one host
		if !configured && oci.IsDockerHub(h) && oci.IsDockerHub(k) {
			cfg, configured = v, true
		}
	}
	hs := &hostState{
		c:          c,
		name:       h,
		reg:        reg,
		addr:       reg.RegistryStr(),
		cfg:        cfg,
		configured: configured,
		tokens:     map[string]*cachedToken{},
	}
	base, err := c.baseTransport(cfg)
	if err != nil {
		return nil, fmt.Errorf("registry host %s: %w", h, err)
	}
	if cfg.TLS != nil && !c.opts.Insecure {
		base = httpsOnly{host: hs.addr, inner: base}
	}
	hs.base = &wireTransport{inner: idleTransport{timeout: c.opts.IdleTimeout, inner: base}, ua: c.ua, log: c.log, stats: &c.stats}
	hs.err = checkClientCertificates(h, cfg.TLS, time.Now())
	return hs, nil
}

// baseTransport builds the host's HTTP transport with its TLS settings.
func (c *Client) baseTransport(cfg Host) (http.RoundTripper, error) {
	if c.opts.Transport != nil && cfg.TLS == nil && !c.opts.Insecure {
		return c.opts.Transport, nil
	}
	var t *http.Transport
	switch b := c.opts.Transport.(type) {
	case nil:
		t = http.DefaultTransport.(*http.Transport).Clone()
		// Room for every request the engine may have in flight to one
		// host (mirror.DefaultMaxPerHost and more), so none waits for a
		// connection or opens one it then has to close.
		t.MaxIdleConnsPerHost = 64
	case *http.Transport:
		t = b.Clone()
	default:
		// Insecure with a custom transport: leave it as the caller built it.
		return b, nil
	}
	if cfg.TLS != nil {
		t.TLSClientConfig = cfg.TLS.Clone()
	}
	if c.opts.Insecure {
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // Options.Insecure is an explicit development switch.
	}
	return t, nil
}

// checkClientCertificates reports a static client certificate outside its
// validity period, which servers reject with a terse TLS alert.
func checkClientCertificates(host string, cfg *tls.Config, now time.Time) error {
	if cfg == nil {
		return nil
	}
	for _, cert := range cfg.Certificates {
		leaf := cert.Leaf
		if leaf == nil && len(cert.Certificate) > 0 {
			var err error
			if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
				return fmt.Errorf("registry host %s: parse TLS client certificate: %w", host, err)
			}
		}
		if leaf == nil {
			continue
		}
		// Wrapping x509.CertificateInvalidError marks the error as final
		// for the retry policy, like a server certificate that fails.
		if now.After(leaf.NotAfter) {
			return fmt.Errorf("registry host %s: TLS client certificate %q expired at %s (renew the certificate in hosts[].tls.clientAuth): %w",
				host, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339), x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired})
		}
		if now.Before(leaf.NotBefore) {
			return fmt.Errorf("registry host %s: TLS client certificate %q is not valid before %s (check the certificate in hosts[].tls.clientAuth and the clock): %w",
				host, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339), x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired})
		}
	}
	return nil
}

// Warm implements mirror.HostWarmer: it resolves the host's credentials,
// sends the /v2/ check (once per host) and, with token authentication,
// gets a pull token for repo, ahead of the first real request. Errors are
// dropped: the first request meets them again and reports them.
func (c *Client) Warm(ctx context.Context, repo oci.Repository) {
	h, err := c.host(repo.Host)
	if err != nil {
		return
	}
	_, _, _ = h.roundTripper(ctx, access{repo: h.apiRepo(repo)}.scopes())
}

var _ mirror.HostWarmer = (*Client)(nil)

// call is one registry request.
type call struct {
	method string
	// access chooses the token scopes.
	access access
	// path and query form the URL on the host ("/v2/..."); url overrides
	// them with an absolute URL (pagination links, upload locations).
	path  string
	query url.Values
	url   *url.URL
	// accept is the Accept header, if any.
	accept string
	// contentType is the Content-Type header, if any.
	contentType string
	header      http.Header
	// body is sent with length bytes; nil sends none.
	body   io.Reader
	length int64
}

// access is the authorization a request needs.
type access struct {
	repo oci.Repository
	push bool
	// from adds pull access to a second repository of the host (mount).
	from string
}

// scopes returns the token scopes in the distribution token format.
func (a access) scopes() []string {
	s := []string{"repository:" + a.repo.Path + ":pull"}
	if a.push {
		s[0] = "repository:" + a.repo.Path + ":pull,push"
	}
	if a.from != "" {
		s = append(s, "repository:"+a.from+":pull")
	}
	return s
}

// do authenticates and sends one request to the host and returns the
// response whatever its status; a transport failure becomes an error that
// names the request without secrets.
func (c *Client) do(ctx context.Context, h *hostState, k call) (*http.Response, error) {
	rt, scheme, err := h.roundTripper(ctx, k.access.scopes())
	if err != nil {
		return nil, err
	}
	u := k.url
	if u == nil {
		u = &url.URL{Scheme: scheme, Host: h.addr, Path: k.path}
		if len(k.query) > 0 {
			u.RawQuery = k.query.Encode()
		}
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", k.method, err)
	}
	for key, vs := range k.header {
		req.Header[key] = vs
	}
	if k.accept != "" {
		req.Header.Set("Accept", k.accept)
	}
	if k.contentType != "" {
		req.Header.Set("Content-Type", k.contentType)
	}
	if k.body != nil {
		req.ContentLength = k.length
		if k.length == 0 {
			req.Body = http.NoBody
		} else {
			// Hide Close: the caller owns the reader.
			req.Body = io.NopCloser(k.body)
		}
	}
	client := &http.Client{Transport: locationGuard{cloneRequests{rt}}, CheckRedirect: checkRedirect}
	resp, err := client.Do(req)
	if err != nil {
		return nil, requestError(k.method, u, err)
	}
	return resp, nil
}

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 10

// checkRedirect stops a redirect chain that does not end (a loop, which
// no retry breaks: core.ErrRedirectLoop) and keeps credentials with their
// origin.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects: %w", maxRedirects, core.ErrRedirectLoop)
	}
	// Go keeps an Authorization header on a redirect to the same host
	// name on another port or scheme: credentials go to the origin they
	// were set for only.
	if len(via) > 0 && !core.SameOrigin(via[0].URL, req.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// describe returns "host/path:ref" or "host/path@digest".
func describe(repo oci.Repository, ref string) string {
	if strings.Contains(ref, ":") {
		return repo.String() + "@" + ref
	}
	return repo.String() + ":" + ref
}

// apiRepo returns repo as the registry's API names it: Docker Hub's
// official images live under library/ ("docker.io/nginx" is
// "library/nginx"), as the Docker CLI and go-containerregistry resolve it.
func (h *hostState) apiRepo(repo oci.Repository) oci.Repository {
	if h.addr == name.DefaultRegistry && !strings.Contains(repo.Path, "/") {
		repo.Path = "library/" + repo.Path
	}
	return repo
}
