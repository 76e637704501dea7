package helmrepo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// maxRedirects is how many redirects one request follows, as Go's default.
const maxRedirects = 10

// repoClients is the HTTP client of one repository. Its transport decides
// per request, so on the first request and on every redirect hop, whether
// the repository's credentials and client certificate go along (see
// credentialTransport). It trusts the entry's CA file and honors
// insecure_skip_tls_verify for every host.
type repoClients struct {
	entry  *repoEntry // nil: the repository has no repositories.yaml entry
	client *http.Client
	// trusted reports whether u may receive the entry's credentials.
	trusted func(u *url.URL) bool
}

// newRepoClients builds the client of the repository at repo from the base
// client and its repositories.yaml entry (which may be nil). configPath
// only names the file in errors.
func newRepoClients(base *http.Client, insecure bool, repo *url.URL, e *repoEntry, configPath string) (*repoClients, error) {
	ct := &credentialTransport{origin: repo, entry: e, plain: base.Transport}
	if ct.plain == nil {
		ct.plain = http.DefaultTransport
	}
	if insecure || (e != nil && (e.CAFile != "" || e.CertFile != "" || e.KeyFile != "" || e.InsecureSkipTLSVerify)) {
		if err := ct.configureTLS(base, insecure, e); err != nil {
			if e == nil {
				return nil, fmt.Errorf("skip TLS verification (insecure): %w", err)
			}
			return nil, fmt.Errorf("TLS settings of repository %q in Helm repositories config %s: %w", e.Name, configPath, err)
		}
	}
	client := *base
	client.Transport = ct
	if client.CheckRedirect == nil {
		client.CheckRedirect = limitRedirects
	}
	return &repoClients{entry: e, client: &client, trusted: ct.trusted}, nil
}

// configureTLS sets the transports up with the entry's CA file,
// insecure_skip_tls_verify and client certificate.
func (ct *credentialTransport) configureTLS(base *http.Client, insecure bool, e *repoEntry) error {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr, ok := base.Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		tlsConfig = tr.TLSClientConfig.Clone()
	}
	if insecure || (e != nil && e.InsecureSkipTLSVerify) {
		tlsConfig.InsecureSkipVerify = true
	}
	var cert *tls.Certificate
	if e != nil {
		if e.CAFile != "" {
			pem, err := os.ReadFile(e.CAFile)
			if err != nil {
				return fmt.Errorf("read caFile: %w", err)
			}
			// As Helm does, the CA file replaces the system roots.
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("caFile %s holds no PEM certificate", e.CAFile)
			}
			tlsConfig.RootCAs = pool
		}
		switch {
		case e.CertFile != "" && e.KeyFile != "":
			c, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
			if err != nil {
				return fmt.Errorf("load certFile %s and keyFile %s: %w", e.CertFile, e.KeyFile, err)
			}
			cert = &c
		case e.CertFile != "" || e.KeyFile != "":
			return errors.New("certFile and keyFile must be set together for client certificate authentication")
		}
	}
	var err error
	if ct.plain, err = withTLS(base.Transport, tlsConfig); err != nil {
		return err
	}
	if cert != nil {
		withCert := tlsConfig.Clone()
		withCert.Certificates = []tls.Certificate{*cert}
		if ct.withCert, err = withTLS(base.Transport, withCert); err != nil {
			return err
		}
	}
	return nil
}

// withTLS returns a copy of the transport rt that uses cfg.
func withTLS(rt http.RoundTripper, cfg *tls.Config) (*http.Transport, error) {
	var tr *http.Transport
	switch t := rt.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("the HTTP client's transport is a %T, not an *http.Transport, so TLS settings cannot be applied to it", t)
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// credentialTransport sends each request, the first and every redirect
// hop, with the repository's Basic credentials and over the transport with
// its client certificate only when the request's URL is trusted with them:
// the repository's own origin (core.SameOrigin), or any origin when the
// entry sets pass_credentials_all, except one reached by going from https
// down to plain http. Any other request leaves without an Authorization
// header and without the client certificate.
type credentialTransport struct {
	origin *url.URL
	entry  *repoEntry
	// plain carries requests without the client certificate; withCert,
	// set when the entry has one, carries trusted requests.
	plain, withCert http.RoundTripper
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (ct *credentialTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	trusted := ct.trusted(req.URL)
	out := req.Clone(req.Context())
	if req.URL.User == nil {
		// Only userinfo in the URL being requested may have set one.
		out.Header.Del("Authorization")
	}
	if trusted && ct.entry.hasCredentials() {
		out.SetBasicAuth(ct.entry.Username, ct.entry.Password)
	}
	rt := ct.plain
	if trusted && ct.withCert != nil {
		rt = ct.withCert
	}
	return rt.RoundTrip(out)
}

// trusted reports whether u may receive the entry's credentials and
// client certificate.
func (ct *credentialTransport) trusted(u *url.URL) bool {
	if core.SameOrigin(ct.origin, u) {
		return true
	}
	if ct.entry == nil || !ct.entry.PassCredentialsAll {
		return false
	}
	downgrade := strings.EqualFold(ct.origin.Scheme, "https") && !strings.EqualFold(u.Scheme, "https")
	return !downgrade
}

// errRedirectLoop reports a request that was redirected too often.
var errRedirectLoop = fmt.Errorf("stopped after %d redirects (a redirect loop?)", maxRedirects)

// limitRedirects stops after maxRedirects redirects with a permanent
// error: the same request would loop again.
func limitRedirects(_ *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return retry.Permanent(errRedirectLoop)
	}
	return nil
}
