package hostauth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/config"
)

// TLSConfig builds the client TLS configuration of one host from its tls
// block, or returns (nil, nil) when the host has none (the caller then uses
// its default transport and the system trust pool).
//
// The server half is a custom CA bundle (serverAuth.fromPath/value, which
// replaces the system pool), SPIFFE (serverAuth.spiffe: the server's
// X.509-SVID is verified against the trust bundle of its trust domain and
// authorized by ID, trust domain or any, without a hostname check), or the
// system pool. The client half is a static certificate and key or a SPIFFE
// X.509-SVID (clientAuth.provider: x509-svid). The halves combine freely.
// SPIFFE material is read from deps.SPIFFE at every handshake, so rotated
// SVIDs and bundles take effect on the next connection; without deps.SPIFFE
// the SPIFFE halves fail with core.ErrProviderNotCompiled.
//
// Files are read once, here, inside deps.Root (see Deps.Root). A static client certificate that is expired or
// not yet valid is rejected here, and again at handshake time should it
// expire while the process runs. Errors name the field, e.g.
// `tls.serverAuth.fromPath: /etc/ca.pem holds no PEM certificate`.
func TLSConfig(h config.Host, deps Deps) (*tls.Config, error) {
	if h.TLS == nil {
		return nil, nil
	}
	if h.Provider != "" {
		return nil, fmt.Errorf("tls: not allowed with provider %q (a cloud registry's transport is not customized)", h.Provider)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if err := serverAuth(cfg, h, deps); err != nil {
		return nil, err
	}
	if err := clientAuth(cfg, h, deps); err != nil {
		return nil, err
	}
	return cfg, nil
}

func serverAuth(cfg *tls.Config, h config.Host, deps Deps) error {
	sa := h.TLS.ServerAuth
	if sa == nil {
		return nil
	}
	n := 0
	for _, set := range []bool{sa.FromPath != "", sa.Value != "", sa.SPIFFE != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("tls.serverAuth: exactly one of fromPath, value or spiffe must be set")
	}
	if sa.SPIFFE != nil {
		return spiffeServer(cfg, h.Host, *sa.SPIFFE, deps)
	}
	field, data := "tls.serverAuth.value", []byte(sa.Value)
	if sa.FromPath != "" {
		field = "tls.serverAuth.fromPath"
		b, _, err := deps.files().read(sa.FromPath)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		data = b
	}
	pool, err := certPool(data)
	if err != nil {
		if sa.FromPath != "" {
			return fmt.Errorf("%s: %s %w", field, sa.FromPath, err)
		}
		return fmt.Errorf("%s: %w", field, err)
	}
	cfg.RootCAs = pool
	return nil
}

// certPool parses a bundle of one or more PEM certificates. Blocks of other
// types are ignored; a bundle without any certificate is an error.
func certPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for i := 1; ; i++ {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("holds an invalid certificate (PEM block %d): %w", i, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New(`holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks`)
	}
	return pool, nil
}

func clientAuth(cfg *tls.Config, h config.Host, deps Deps) error {
	ca := h.TLS.ClientAuth
	if ca == nil {
		return nil
	}
	static := ca.Certificate != nil || ca.Key != nil
	switch {
	case ca.Provider != "" && static:
		return errors.New("tls.clientAuth: set either provider or certificate and key, not both")
	case ca.Provider != "":
		if ca.Provider != config.ClientProviderX509SVID {
			return fmt.Errorf("tls.clientAuth.provider: %q is unknown (use %q)", ca.Provider, config.ClientProviderX509SVID)
		}
		return spiffeClient(cfg, h.Host, deps)
	case ca.Certificate == nil:
		return errors.New("tls.clientAuth.certificate: required with tls.clientAuth.key")
	case ca.Key == nil:
		return errors.New("tls.clientAuth.key: required with tls.clientAuth.certificate")
	}
	certPEM, err := pemSource("tls.clientAuth.certificate", *ca.Certificate, deps.files())
	if err != nil {
		return err
	}
	keyPEM, err := pemSource("tls.clientAuth.key", *ca.Key, deps.files())
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return keyPairError(err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tls.clientAuth.certificate: %w", err)
		}
	}
	if err := checkValidity(leaf, deps.now()); err != nil {
		return fmt.Errorf("tls.clientAuth.certificate: %w", err)
	}
	now := deps.clock()
	host := h.Host
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if err := checkValidity(leaf, now()); err != nil {
			return nil, hostErr(host, fmt.Errorf("tls.clientAuth.certificate: %w", err))
		}
		return &cert, nil
	}
	return nil
}

// pemSource reads a certificate or key given inline or by path.
func pemSource(field string, s config.Source, files confinedFiles) ([]byte, error) {
	switch {
	case s.FromPath != "" && s.Value != "":
		return nil, fmt.Errorf("%s: set fromPath or value, not both", field)
	case s.FromPath != "":
		b, _, err := files.read(s.FromPath)
		if err != nil {
			return nil, fmt.Errorf("%s.fromPath: %w", field, err)
		}
		return b, nil
	case s.Value != "":
		return []byte(s.Value), nil
	}
	return nil, fmt.Errorf("%s: one of fromPath or value must be set", field)
}

// keyPairError explains a tls.X509KeyPair failure; its messages name the
// problem, never the key.
func keyPairError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "does not match"):
		return errors.New("tls.clientAuth: the key does not match the certificate; configure the key that belongs to this certificate")
	case strings.Contains(msg, "certificate input"):
		return fmt.Errorf("tls.clientAuth.certificate: %s", strings.TrimPrefix(msg, "tls: "))
	case strings.Contains(msg, "key input"), strings.Contains(msg, "private key"), strings.Contains(msg, "rather than a key"):
		return fmt.Errorf("tls.clientAuth.key: %s", strings.TrimPrefix(msg, "tls: "))
	}
	return fmt.Errorf("tls.clientAuth: load the certificate and key: %w", err)
}

// checkValidity rejects a certificate outside its validity window.
func checkValidity(c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("the client certificate %q expired at %s; renew it", c.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("the client certificate %q is not valid before %s; check the certificate or the clock", c.Subject.String(), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// spiffeClient presents the workload's current X.509-SVID.
func spiffeClient(cfg *tls.Config, host string, deps Deps) error {
	if deps.SPIFFE == nil {
		return fmt.Errorf("tls.clientAuth.provider %q: %w", config.ClientProviderX509SVID, core.ErrProviderNotCompiled)
	}
	get := tlsconfig.GetClientCertificate(deps.SPIFFE)
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c, err := get(cri)
		if err != nil {
			return nil, hostErr(host, fmt.Errorf("tls.clientAuth.provider %q: get the X.509-SVID from the SPIFFE Workload API: %w", config.ClientProviderX509SVID, err))
		}
		return c, nil
	}
	return nil
}

// spiffeServer verifies the server's X.509-SVID against the SPIFFE bundle
// and authorizes its ID. Hostname verification is replaced by the SPIFFE
// authorization, as the SPIFFE TLS profile requires.
func spiffeServer(cfg *tls.Config, host string, s config.SPIFFEServer, deps Deps) error {
	n := 0
	for _, set := range []bool{s.ServerID != "", s.TrustDomain != "", s.AuthorizeAny} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("tls.serverAuth.spiffe: exactly one of serverID, trustDomain or authorizeAny must be set")
	}
	var authorize tlsconfig.Authorizer
	switch {
	case strings.HasSuffix(s.ServerID, "/"):
		// v1beta2: a prefix, matched on path segment boundaries.
		prefix, err := spiffeid.FromString(strings.TrimSuffix(s.ServerID, "/"))
		if err != nil {
			return fmt.Errorf("tls.serverAuth.spiffe.serverID: %q is not a SPIFFE ID prefix (spiffe://<trust domain>/<path>/): %w", s.ServerID, err)
		}
		authorize = authorizeIDPrefix(prefix)
	case s.ServerID != "":
		id, err := spiffeid.FromString(s.ServerID)
		if err != nil {
			return fmt.Errorf("tls.serverAuth.spiffe.serverID: %q is not a SPIFFE ID (spiffe://<trust domain>/<path>): %w", s.ServerID, err)
		}
		authorize = tlsconfig.AuthorizeID(id)
	case s.TrustDomain == "self":
		authorize = authorizeOwnTrustDomain(deps)
	case s.TrustDomain != "":
		td, err := spiffeid.TrustDomainFromString(s.TrustDomain)
		if err != nil {
			return fmt.Errorf("tls.serverAuth.spiffe.trustDomain: %q is not a trust domain name (e.g. example.org): %w", s.TrustDomain, err)
		}
		authorize = tlsconfig.AuthorizeMemberOf(td)
	default:
		authorize = tlsconfig.AuthorizeAny()
	}
	if deps.SPIFFE == nil {
		return fmt.Errorf("tls.serverAuth.spiffe: %w", core.ErrProviderNotCompiled)
	}
	verify := tlsconfig.VerifyPeerCertificate(deps.SPIFFE, authorize)
	cfg.InsecureSkipVerify = true // replaced by VerifyPeerCertificate below
	cfg.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
		if err := verify(raw, chains); err != nil {
			return hostErr(host, fmt.Errorf("tls.serverAuth.spiffe: the registry's X.509-SVID was not accepted: %w", err))
		}
		return nil
	}
	return nil
}

// authorizeIDPrefix authorizes the SPIFFE IDs of prefix's trust domain
// whose path is prefix's path or extends it by whole segments: prefix
// spiffe://td/ns accepts spiffe://td/ns and spiffe://td/ns/a, not
// spiffe://td/nsx; spiffe://td (written spiffe://td/) accepts the domain.
func authorizeIDPrefix(prefix spiffeid.ID) tlsconfig.Authorizer {
	return func(id spiffeid.ID, _ [][]*x509.Certificate) error {
		if matchIDPrefix(prefix, id) {
			return nil
		}
		return fmt.Errorf("SPIFFE ID %q is not under %q", id, prefix.String()+"/")
	}
}

func matchIDPrefix(prefix, id spiffeid.ID) bool {
	if id.TrustDomain() != prefix.TrustDomain() {
		return false
	}
	p := prefix.Path()
	return p == "" || id.Path() == p || strings.HasPrefix(id.Path(), p+"/")
}

// authorizeOwnTrustDomain authorizes any SVID of the trust domain of the
// workload's own X.509-SVID, read at handshake time.
func authorizeOwnTrustDomain(deps Deps) tlsconfig.Authorizer {
	return func(id spiffeid.ID, chains [][]*x509.Certificate) error {
		svid, err := deps.SPIFFE.GetX509SVID()
		if err != nil {
			return fmt.Errorf("read the own X.509-SVID for trustDomain: self: %w", err)
		}
		return tlsconfig.AuthorizeMemberOf(svid.ID.TrustDomain())(id, chains)
	}
}

// TLSConfigs builds the TLS configuration of every host that has a tls
// block, keyed by host. Errors are prefixed with the host's position, e.g.
// `hosts[2] "r.example": tls.serverAuth.fromPath: …`, and all of them are
// reported together.
func TLSConfigs(hosts []config.Host, deps Deps) (map[string]*tls.Config, error) {
	out := make(map[string]*tls.Config, len(hosts))
	var errs []error
	for i, h := range hosts {
		cfg, err := TLSConfig(h, deps)
		if err != nil {
			errs = append(errs, hostError(i, h.Host, err))
			continue
		}
		if cfg != nil {
			out[h.Host] = cfg
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// NeedsSPIFFE reports whether any host's tls block uses SPIFFE (a client
// X.509-SVID or SPIFFE server verification), so that the CLI connects to the
// Workload API, and sets Deps.SPIFFE, only when a host needs it.
func NeedsSPIFFE(hosts []config.Host) bool {
	for _, h := range hosts {
		if h.TLS == nil {
			continue
		}
		if (h.TLS.ClientAuth != nil && h.TLS.ClientAuth.Provider == config.ClientProviderX509SVID) ||
			(h.TLS.ServerAuth != nil && h.TLS.ServerAuth.SPIFFE != nil) {
			return true
		}
	}
	return false
}
