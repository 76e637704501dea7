package helmrepo

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// repoClients are the HTTP clients for one repository: to its own origin
// (with the entry's client certificate) and to other hosts (without it,
// unless the entry passes credentials to all hosts). Both trust the entry's
// CA file and honor insecure_skip_tls_verify.
type repoClients struct {
	entry  *repoEntry // nil: the repository has no repositories.yaml entry
	origin *http.Client
	other  *http.Client
}

// newRepoClients builds the clients for a repository from the base client
// and its repositories.yaml entry (which may be nil). configPath only names
// the file in errors.
func newRepoClients(base *http.Client, insecure bool, e *repoEntry, configPath string) (*repoClients, error) {
	rc := &repoClients{entry: e, origin: base, other: base}
	if !insecure && (e == nil || (e.CAFile == "" && e.CertFile == "" && e.KeyFile == "" && !e.InsecureSkipTLSVerify)) {
		return rc, nil
	}
	fail := func(err error) (*repoClients, error) {
		if e == nil {
			return nil, fmt.Errorf("skip TLS verification (insecure): %w", err)
		}
		return nil, fmt.Errorf("TLS settings of repository %q in Helm repositories config %s: %w", e.Name, configPath, err)
	}
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
				return fail(fmt.Errorf("read caFile: %w", err))
			}
			// As Helm does, the CA file replaces the system roots.
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fail(fmt.Errorf("caFile %s holds no PEM certificate", e.CAFile))
			}
			tlsConfig.RootCAs = pool
		}
		switch {
		case e.CertFile != "" && e.KeyFile != "":
			c, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
			if err != nil {
				return fail(fmt.Errorf("load certFile %s and keyFile %s: %w", e.CertFile, e.KeyFile, err))
			}
			cert = &c
		case e.CertFile != "" || e.KeyFile != "":
			return fail(errors.New("certFile and keyFile must be set together for client certificate authentication"))
		}
	}
	var err error
	if rc.other, err = withTLS(base, tlsConfig); err != nil {
		return fail(err)
	}
	rc.origin = rc.other
	if cert != nil {
		withCert := tlsConfig.Clone()
		withCert.Certificates = []tls.Certificate{*cert}
		if rc.origin, err = withTLS(base, withCert); err != nil {
			return fail(err)
		}
		if e.PassCredentialsAll {
			rc.other = rc.origin
		}
	}
	return rc, nil
}

// withTLS returns a copy of base whose transport uses cfg.
func withTLS(base *http.Client, cfg *tls.Config) (*http.Client, error) {
	var tr *http.Transport
	switch t := base.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("the HTTP client's transport is a %T, not an *http.Transport, so TLS settings cannot be applied to it", t)
	}
	tr.TLSClientConfig = cfg
	c := *base
	c.Transport = tr
	return &c, nil
}
