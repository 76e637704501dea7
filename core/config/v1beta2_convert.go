package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/fluxcd/flux-mirror/core/mirror"
)

// Internal converts a v1beta2 config into the Config the rest of
// flux-mirror runs on (whose wire format is v1beta1), with ReadAs set to
// the v1beta2 apiVersion. What v1beta1 cannot write travels in the fields
// the v1beta1 format does not have (Credential.Audiences and Envelope) or
// in values it would not accept (a serverID prefix ending in '/'). It is
// pure and keeps every value as written: validate first. A nil config
// converts to nil.
func (c *ConfigV1Beta2) Internal() *Config {
	if c == nil {
		return nil
	}
	out := &Config{APIVersion: APIVersion, Kind: c.Kind, Artifacts: c.Artifacts, Charts: c.Charts, ReadAs: c.APIVersion}
	if c.Hosts != nil {
		out.Hosts = make([]Host, len(c.Hosts))
	}
	for i, h := range c.Hosts {
		out.Hosts[i] = h.internal()
	}
	return out
}

// MirrorInput converts the config's artifacts and charts into what the
// sync engine runs; it is the same as Internal().MirrorInput().
func (c *ConfigV1Beta2) MirrorInput() mirror.Input { return c.Internal().MirrorInput() }

func (h HostV1Beta2) internal() Host {
	out := Host{Host: h.Host, MaxChunkSize: h.MaxChunkSize}
	if cloudProvider(h.Provider) {
		out.Provider = h.Provider
	}
	if c := h.Credential; c != nil {
		out.Username = c.Username
		ic := &Credential{
			Provider: c.Provider, Value: c.Value, FromPath: c.FromPath, JWKPath: c.JWKPath, JWKValue: c.JWKValue,
			Iss: c.Issuer, Sub: c.Subject, Exp: c.Expiration, Envelope: c.Envelope,
		}
		if ic.Provider == ProviderSPIFFE {
			ic.Provider = TokenProviderJWTSVID
		}
		switch len(c.Audiences) {
		case 0:
		case 1:
			ic.Aud = c.Audiences[0]
		default:
			ic.Audiences = slices.Clone(c.Audiences)
		}
		out.Credential = ic
	}
	if t := h.TLS; t != nil {
		out.TLS = &TLS{}
		if s := t.ServerAuth; s != nil {
			out.TLS.ServerAuth = &ServerAuth{FromPath: s.FromPath, Value: s.Value}
			if s.SPIFFE != nil {
				out.TLS.ServerAuth.SPIFFE = &SPIFFEServer{ServerID: s.SPIFFE.ServerID, TrustDomain: s.SPIFFE.TrustDomain}
			} else if s.Provider == ProviderSPIFFE {
				// Validation requires the spiffe block; keep the intent.
				out.TLS.ServerAuth.SPIFFE = &SPIFFEServer{}
			}
		}
		if ca := t.ClientAuth; ca != nil {
			out.TLS.ClientAuth = &ClientAuth{Provider: ca.Provider, Certificate: ca.Certificate, Key: ca.Key}
			if ca.Provider == ProviderSPIFFE {
				out.TLS.ClientAuth.Provider = ClientProviderX509SVID
			}
		}
	}
	return out
}

// ToV1Beta2 rewrites a v1beta1 config as v1beta2 (what flux-mirror convert
// writes): credential.type: jwt is added, iss/sub/aud/exp become
// issuer/subject/audiences/expiration, hosts[].username moves into the
// credential, jwt-svid and x509-svid become spiffe, and a serverAuth.spiffe
// block gains provider: spiffe. ToV1Beta2(c).Internal() equals c, ReadAs
// aside. A setting v1beta2 cannot express (serverAuth.spiffe.authorizeAny)
// is an error naming its field; so is a config not read as v1beta1.
func (c *Config) ToV1Beta2() (*ConfigV1Beta2, error) {
	if c == nil {
		return nil, errors.New("the config is empty")
	}
	if c.ReadAs != "" && c.ReadAs != APIVersion {
		return nil, fmt.Errorf("the config is %s already; only %s is converted", c.ReadAs, APIVersion)
	}
	out := &ConfigV1Beta2{APIVersion: APIVersionV1Beta2, Kind: c.Kind, Artifacts: c.Artifacts, Charts: c.Charts}
	if c.Hosts != nil {
		out.Hosts = make([]HostV1Beta2, len(c.Hosts))
	}
	var l errorList
	for i, h := range c.Hosts {
		f := field{path: "hosts[" + strconv.Itoa(i) + "]", host: h.Host}
		out.Hosts[i] = hostV1Beta2(&l, f, h)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func hostV1Beta2(l *errorList, f field, h Host) HostV1Beta2 {
	out := HostV1Beta2{Host: h.Host, Provider: h.Provider, MaxChunkSize: h.MaxChunkSize}
	if c := h.Credential; c != nil {
		oc := &CredentialV1Beta2{
			Type: CredentialTypeJWT, Provider: c.Provider, Value: c.Value, FromPath: c.FromPath, JWKPath: c.JWKPath, JWKValue: c.JWKValue,
			Issuer: c.Iss, Subject: c.Sub, Expiration: c.Exp, Username: h.Username, Envelope: c.Envelope,
		}
		if oc.Provider == TokenProviderJWTSVID {
			oc.Provider = ProviderSPIFFE
		}
		switch {
		case len(c.Audiences) > 0:
			oc.Audiences = slices.Clone(c.Audiences)
		case c.Aud != "":
			oc.Audiences = []string{c.Aud}
		}
		out.Credential = oc
	} else if h.Username != "" {
		l.add(f.child("username").path, f.host, "has no credential to move into (v1beta2 keeps the username in credential.username); add the credential first")
	}
	if t := h.TLS; t != nil {
		out.TLS = &TLSV1Beta2{}
		if s := t.ServerAuth; s != nil {
			out.TLS.ServerAuth = &ServerAuthV1Beta2{FromPath: s.FromPath, Value: s.Value}
			if sp := s.SPIFFE; sp != nil {
				out.TLS.ServerAuth.Provider = ProviderSPIFFE
				out.TLS.ServerAuth.SPIFFE = &SPIFFEServerV1Beta2{ServerID: sp.ServerID, TrustDomain: sp.TrustDomain}
				if sp.AuthorizeAny {
					l.add(f.child("tls.serverAuth.spiffe.authorizeAny").path, f.host, "has no v1beta2 equivalent; authorize a serverID (a prefix ending in / matches a path) or a trustDomain instead")
				}
			}
		}
		if ca := t.ClientAuth; ca != nil {
			out.TLS.ClientAuth = &ClientAuthV1Beta2{Provider: ca.Provider, Certificate: ca.Certificate, Key: ca.Key}
			if ca.Provider == ClientProviderX509SVID {
				out.TLS.ClientAuth.Provider = ProviderSPIFFE
			}
		}
	}
	return out
}

// EffectiveAudiences returns the audiences of the credential of host:
// Audiences when set (a v1beta2 list of several), else [EffectiveAud].
func (c Credential) EffectiveAudiences(host string) []string {
	if len(c.Audiences) > 0 {
		return c.Audiences
	}
	return []string{c.EffectiveAud(host)}
}
