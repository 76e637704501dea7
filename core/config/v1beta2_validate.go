package config

import (
	"slices"
	"strconv"
	"strings"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// Validate checks c against every rule of the v1beta2 Config API and
// returns all problems found, joined, each a *FieldError whose Path is a
// v1beta2 field path (e.g. hosts[0].credential.audiences). Artifacts and
// charts follow v1beta1's rules, which are the same. It returns nil for a
// valid config.
func (c *ConfigV1Beta2) Validate(p Purpose) error {
	var l errorList
	if c == nil {
		l.add("", "", "the config is empty; it needs apiVersion: %s and kind: %s", APIVersionV1Beta2, Kind)
		return l.err()
	}
	switch c.APIVersion {
	case APIVersionV1Beta2:
	case "":
		l.add("apiVersion", "", "is required; set it to %s", APIVersionV1Beta2)
	default:
		l.add("apiVersion", "", "%q is not supported; use %s", c.APIVersion, list(APIVersions...))
	}
	switch c.Kind {
	case Kind:
	case "":
		l.add("kind", "", "is required; set it to %s", Kind)
	default:
		l.add("kind", "", "%q is not supported; use %s", c.Kind, Kind)
	}
	// Artifacts and charts are v1beta1's, with the same paths: validate
	// them (and the nothing-to-mirror rule) as v1beta1 does.
	entries := &Config{APIVersion: APIVersion, Kind: Kind, Artifacts: c.Artifacts, Charts: c.Charts}
	l.errs = append(l.errs, FieldErrorsOf(entries.Validate(p))...)

	seen := hostSet{}
	for i, h := range c.Hosts {
		f := field{path: "hosts[" + strconv.Itoa(i) + "]", host: h.Host}
		validateHostV1Beta2(&l, f, h)
		seen.claim(&l, f, i)
	}
	return l.err()
}

// FieldErrorsOf returns the errors of err as a list of errors, for joining
// with others; nil for nil.
func FieldErrorsOf(err error) []error {
	var out []error
	for _, fe := range FieldErrors(err) {
		out = append(out, fe)
	}
	return out
}

// cloudProvider reports whether a v1beta2 hosts[].provider names a cloud
// registry provider (anything set but generic).
func cloudProvider(p string) bool { return p != "" && p != RegistryProviderGeneric }

func validateHostV1Beta2(l *errorList, f field, h HostV1Beta2) {
	switch {
	case h.Host == "":
		l.add(f.child("host").path, "", "is required; the registry host with an optional port, e.g. registry.example.com or localhost:5000")
	case strings.Contains(h.Host, "://") || strings.Contains(h.Host, "/"):
		l.add(f.child("host").path, f.host, "must be a bare host[:port] without scheme or path")
	case strings.ToLower(h.Host) != h.Host:
		l.add(f.child("host").path, f.host, "must be lower case (%q)", strings.ToLower(h.Host))
	case !hostRE.MatchString(h.Host) || !validPort(h.Host):
		l.add(f.child("host").path, f.host, "is not a valid host[:port] (a DNS name or IP address, port 1-65535)")
	}
	cloud := cloudProvider(h.Provider)
	if cloud {
		validateProviderName(l, f.child("provider"), h.Provider)
		if h.Credential != nil {
			l.add(f.child("credential").path, f.host, "is not allowed with provider %q: the cloud provider supplies the credential (use provider: generic, or leave it unset, for a credential)", h.Provider)
		}
		if h.TLS != nil {
			l.add(f.child("tls").path, f.host, "is not allowed with provider %q: a cloud registry's transport is not customized", h.Provider)
		}
	}
	if h.Credential == nil && !cloud && h.TLS == nil && h.MaxChunkSize == 0 {
		l.add(f.path, f.host, "at least one of credential, a cloud provider (ecr, acr, gar), tls or maxChunkSize must be set")
	}
	if h.Credential != nil {
		validateCredentialV1Beta2(l, f.child("credential"), *h.Credential)
	}
	if h.TLS != nil {
		validateTLSV1Beta2(l, f.child("tls"), *h.TLS)
	}
	checkMaxChunkSize(l, f, h.MaxChunkSize)
}

func validateCredentialV1Beta2(l *errorList, f field, c CredentialV1Beta2) {
	switch c.Type {
	case CredentialTypeJWT:
	case "":
		l.add(f.child("type").path, f.host, "is required; set it to %s", CredentialTypeJWT)
	default:
		l.add(f.child("type").path, f.host, "%q is not supported; set it to %s", c.Type, CredentialTypeJWT)
	}
	if count(c.Provider != "", c.Value != "", c.FromPath != "", c.JWKPath != "", c.JWKValue != "") != 1 {
		l.add(f.path, f.host, "exactly one of provider, value, fromPath, jwkPath or jwkValue must be set")
	}
	switch c.Provider {
	case "":
	case TokenProviderJWTSVID:
		l.add(f.child("provider").path, f.host, "%q is the v1beta1 name; v1beta2 calls it %s", c.Provider, ProviderSPIFFE)
	default:
		validateProviderName(l, f.child("provider"), c.Provider)
	}
	jwk := c.JWKPath != "" || c.JWKValue != ""
	for _, claim := range []struct {
		name string
		set  bool
	}{{"issuer", c.Issuer != ""}, {"subject", c.Subject != ""}} {
		switch {
		case jwk && !claim.set:
			l.add(f.child(claim.name).path, f.host, "is required with jwkPath or jwkValue")
		case !jwk && claim.set:
			l.add(f.child(claim.name).path, f.host, "is only allowed with jwkPath or jwkValue")
		}
	}
	if len(c.Audiences) > 0 {
		g := f.child("audiences")
		switch {
		case !jwk && c.Provider == "":
			l.add(g.path, f.host, "is only allowed with provider, jwkPath or jwkValue")
		case len(c.Audiences) > 1 && slices.Contains(SingleAudienceProviders, c.Provider):
			l.add(g.path, f.host, "lists %d audiences, but provider %s mints a token for one; list one", len(c.Audiences), c.Provider)
		}
		for i, a := range c.Audiences {
			switch {
			case a == "":
				l.add(g.index(i).path, f.host, "is empty; an audience is a non-empty string, e.g. the registry host")
			case slices.Index(c.Audiences, a) < i:
				l.add(g.index(i).path, f.host, "%q is listed twice", a)
			}
		}
	}
	if c.Expiration != nil {
		if !jwk {
			l.add(f.child("expiration").path, f.host, "is only allowed with jwkPath or jwkValue")
		}
		if c.Expiration.Duration <= 0 {
			l.add(f.child("expiration").path, f.host, "must be > 0, got %s", c.Expiration.Duration)
		}
	}
	if c.Envelope != "" {
		if _, err := auth.ParseEnvelope(c.Envelope); err != nil {
			l.add(f.child("envelope").path, f.host, "%v", err)
		}
	}
}

func validateTLSV1Beta2(l *errorList, f field, t TLSV1Beta2) {
	if t.ServerAuth == nil && t.ClientAuth == nil {
		l.add(f.path, f.host, "at least one of serverAuth or clientAuth must be set")
	}
	if s := t.ServerAuth; s != nil {
		g := f.child("serverAuth")
		switch s.Provider {
		case ProviderSPIFFE:
			if s.FromPath != "" || s.Value != "" {
				l.add(g.path, g.host, "fromPath and value are not allowed with provider: spiffe (the SPIFFE trust bundle verifies the server)")
			}
			if s.SPIFFE == nil {
				l.add(g.child("spiffe").path, g.host, "is required with provider: spiffe; authorize a serverID or a trustDomain")
			}
		case "":
			if count(s.FromPath != "", s.Value != "") != 1 {
				l.add(g.path, g.host, "exactly one of fromPath or value (a PEM CA bundle) must be set, or provider: spiffe")
			}
			if s.SPIFFE != nil {
				l.add(g.child("spiffe").path, g.host, "requires provider: spiffe")
			}
		default:
			l.add(g.child("provider").path, g.host, "%q is not supported; use %s (or leave it unset for a CA bundle)", s.Provider, ProviderSPIFFE)
		}
		if sp := s.SPIFFE; sp != nil {
			validateSPIFFEV1Beta2(l, g.child("spiffe"), *sp)
		}
	}
	if c := t.ClientAuth; c != nil {
		g := f.child("clientAuth")
		checkClientCertificate(l, g, c.Provider, ProviderSPIFFE, c.Certificate, c.Key)
		switch c.Provider {
		case "", ProviderSPIFFE:
		case ClientProviderX509SVID:
			l.add(g.child("provider").path, g.host, "%q is the v1beta1 name; v1beta2 calls it %s", c.Provider, ProviderSPIFFE)
		default:
			l.add(g.child("provider").path, g.host, "%q is not supported; use %s (or a certificate and key)", c.Provider, ProviderSPIFFE)
		}
	}
}

func validateSPIFFEV1Beta2(l *errorList, f field, s SPIFFEServerV1Beta2) {
	if count(s.ServerID != "", s.TrustDomain != "") != 1 {
		l.add(f.path, f.host, "exactly one of serverID or trustDomain must be set")
	}
	if s.ServerID != "" && !validSPIFFEIDPrefix(s.ServerID) {
		l.add(f.child("serverID").path, f.host, "%q is not a SPIFFE ID (spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/registry) or a prefix of one ending in / (e.g. spiffe://example.org/registries/)", s.ServerID)
	}
	checkTrustDomain(l, f, s.TrustDomain)
}

// validSPIFFEIDPrefix accepts a SPIFFE ID, or one followed by '/' (a path
// prefix matched on segment boundaries; spiffe://td/ is the whole domain).
func validSPIFFEIDPrefix(s string) bool {
	if id, ok := strings.CutSuffix(s, "/"); ok {
		return !strings.HasSuffix(id, "/") && validSPIFFEID(id)
	}
	return validSPIFFEID(s)
}
