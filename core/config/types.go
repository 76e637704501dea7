package config

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/fluxcd/flux-mirror/core/selection"
)

// APIVersion and Kind identify a Config document.
const (
	APIVersion = "mirror.plugin.fluxcd.io/v1beta1"
	Kind       = "Config"
)

// Config is one flux-mirror configuration document.
type Config struct {
	// APIVersion must be mirror.plugin.fluxcd.io/v1beta1.
	APIVersion string `json:"apiVersion"`
	// Kind must be Config.
	Kind string `json:"kind"`
	// Artifacts lists OCI repositories to mirror between OCI registries.
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Charts lists Helm charts to mirror from HTTP/S Helm repositories to OCI.
	Charts []Chart `json:"charts,omitempty"`
	// Hosts configures authentication, TLS and uploads per registry host.
	Hosts []Host `json:"hosts,omitempty"`
	// ReadAs is the apiVersion of the document the Config was loaded from
	// when that was not APIVersion (ConfigV1Beta2.Internal sets it); not
	// part of the file format.
	ReadAs string `json:"-"`
}

// Artifact mirrors tags of one OCI repository to another, byte for byte.
type Artifact struct {
	// Source is the OCI repository to pull from, without a scheme.
	Source string `json:"source"`
	// Destination is the OCI repository to push to, without a scheme.
	Destination string `json:"destination"`
	// Selector chooses which source tags are mirrored. Required.
	Selector *Selector `json:"selector"`
	// IncludeReferrers also mirrors the referrers of each selected tag.
	IncludeReferrers bool `json:"includeReferrers,omitempty"`
	// Verify requires a valid signature on each selected tag before copying.
	Verify *Verify `json:"verify,omitempty"`
	// Overwrite replaces destination tags whose digest differs from the source.
	Overwrite bool `json:"overwrite,omitempty"`
}

// SortBy names a tag sort strategy; package selection owns the strategies.
type SortBy = selection.SortBy

// The sort strategies of a Selector.
const (
	SortSemver       = selection.SortSemver
	SortAlphabetical = selection.SortAlphabetical
	SortNumerical    = selection.SortNumerical
)

// SortStrategies lists the valid SortBy values in documentation order.
var SortStrategies = selection.SortStrategies

// Selector is the tag selection pipeline: regex prefilter, semver range
// filter, sort (highest first) and limit.
type Selector struct {
	// Regex is an optional prefilter applied to every tag.
	Regex *Regex `json:"regex,omitempty"`
	// Semver is an optional semver range; keys that are not versions are
	// dropped.
	Semver string `json:"semver,omitempty"`
	// SortBy is the sort strategy; empty means the default (semver).
	SortBy SortBy `json:"sortBy,omitempty"`
	// Limit caps the number of selected tags; nil means the default (1) and
	// 0 means no cap.
	Limit *int `json:"limit,omitempty"`
}

// Regex is a Go regular expression prefilter with an optional extraction of
// the comparison key from named capture groups.
type Regex struct {
	// Pattern is a Go regular expression; tags that do not match are dropped.
	Pattern string `json:"pattern"`
	// Extract is a regexp.Expand template over the pattern's capture groups
	// (e.g. "$version"); its result replaces the tag as the comparison key.
	Extract string `json:"extract,omitempty"`
}

// Verify configures signature verification of source tags before copying.
type Verify struct {
	// Provider is the verification provider; only "cosign" exists.
	Provider string `json:"provider"`
	// MatchOIDCIdentity lists the accepted signer identities; a signature is
	// accepted when any one of them matches.
	MatchOIDCIdentity []OIDCIdentity `json:"matchOIDCIdentity"`
	// MinAge requires the signature's verified integrated time to be at
	// least this old.
	MinAge *Duration `json:"minAge,omitempty"`
}

// VerifyProviderCosign is the only Verify.Provider.
const VerifyProviderCosign = "cosign"

// OIDCIdentity is an accepted Fulcio certificate identity.
type OIDCIdentity struct {
	// Issuer is the OIDC issuer URL, matched exactly.
	Issuer string `json:"issuer"`
	// Subject is a Go regular expression matched against the certificate's
	// subject alternative name.
	Subject string `json:"subject"`
}

// Chart mirrors versions of a chart from an HTTP/S Helm repository to an OCI
// registry.
type Chart struct {
	// Name is the chart's name in the source repository; it is appended to
	// Destination.
	Name string `json:"name"`
	// Source is the http or https URL of the Helm repository.
	Source string `json:"source"`
	// Destination is the oci:// base URL the chart is published under.
	Destination string `json:"destination"`
	// Version is a semver range; empty means the default "*".
	Version string `json:"version,omitempty"`
	// Limit caps the number of versions; nil means the default (1) and 0
	// means no cap.
	Limit *int `json:"limit,omitempty"`
	// Overwrite replaces destination versions whose content differs from the
	// source.
	Overwrite bool `json:"overwrite,omitempty"`
}

// ProviderNamePattern is the shape of every provider name a config can use
// (Host.Provider, Credential.Provider, ClientAuth.Provider): lower-case
// letters, digits and '-', starting with a letter or digit. Which names
// exist is not core's business: the CLI knows the factories it was built
// with and checks the names against them.
const ProviderNamePattern = `^[a-z0-9][a-z0-9-]*$`

var providerNameRE = regexp.MustCompile(ProviderNamePattern)

// ValidProviderName reports whether name has the shape of a provider name.
func ValidProviderName(name string) bool { return providerNameRE.MatchString(name) }

// Host configures authentication, transport and uploads for one registry host.
type Host struct {
	// Host is the registry host, with an optional port; unique in a Config.
	Host string `json:"host"`
	// Username, when set, turns the credential into the password of a
	// username/password pair; unset, the credential is a bearer token.
	Username string `json:"username,omitempty"`
	// Credential is an HTTP-layer credential; exclusive with Provider.
	Credential *Credential `json:"credential,omitempty"`
	// Provider is a cloud registry provider, e.g. ecr, acr or gar.
	Provider string `json:"provider,omitempty"`
	// TLS configures the transport; not allowed with Provider.
	TLS *TLS `json:"tls,omitempty"`
	// MaxChunkSize is the largest blob-upload request body in KiB; 0 sends
	// blobs in one request.
	MaxChunkSize int64 `json:"maxChunkSize,omitempty"`
}

// Credential configures how a host's HTTP-layer credential is obtained.
// Exactly one of Provider, Value, FromPath, JWKPath and JWKValue is set.
type Credential struct {
	// Provider mints a token from an ambient CI or cloud identity.
	Provider string `json:"provider,omitempty"`
	// Value is a token sent as-is. Secret: never log it.
	Value string `json:"value,omitempty"`
	// FromPath is a file whose trimmed content is the token, re-read on every
	// request. The loader makes it absolute.
	FromPath string `json:"fromPath,omitempty"`
	// JWKPath is a file holding the private JWK (or single-key JWK set) that
	// signs a fresh JWT per request. The loader makes it absolute.
	JWKPath string `json:"jwkPath,omitempty"`
	// JWKValue is the private JWK given inline. Secret: never log it.
	JWKValue string `json:"jwkValue,omitempty"`
	// Iss is the issuer claim of a signed JWT.
	Iss string `json:"iss,omitempty"`
	// Sub is the subject claim of a signed JWT.
	Sub string `json:"sub,omitempty"`
	// Aud is the audience; empty means the host.
	Aud string `json:"aud,omitempty"`
	// Exp is the lifetime of a signed JWT; nil means the default (60s).
	Exp *Duration `json:"exp,omitempty"`

	// Audiences, when set, replaces Aud with several audiences; only a
	// v1beta2 config (credential.audiences) sets it, it is not part of
	// the v1beta1 file format.
	Audiences []string `json:"-"`
	// Envelope is a Go template that rewrites the token after its source
	// (see ParseEnvelope); only a v1beta2 config (credential.envelope) sets
	// it, it is not part of the v1beta1 file format.
	Envelope string `json:"-"`
}

// TLS configures transport security for one host.
type TLS struct {
	// ServerAuth verifies the registry's certificate; nil means the system
	// trust pool.
	ServerAuth *ServerAuth `json:"serverAuth,omitempty"`
	// ClientAuth presents a client certificate (mTLS).
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
}

// ServerAuth selects how the registry's certificate is verified: a custom CA
// bundle (FromPath or Value) or SPIFFE. Unset, the system pool is used.
type ServerAuth struct {
	// FromPath is a PEM CA bundle file. The loader makes it absolute.
	FromPath string `json:"fromPath,omitempty"`
	// Value is a PEM CA bundle given inline.
	Value string `json:"value,omitempty"`
	// SPIFFE verifies the server's X.509-SVID against the SPIFFE bundle.
	SPIFFE *SPIFFEServer `json:"spiffe,omitempty"`
}

// SPIFFEServer authorizes the registry's X.509-SVID. Exactly one field is set.
type SPIFFEServer struct {
	// ServerID authorizes exactly this SPIFFE ID.
	ServerID string `json:"serverID,omitempty"`
	// TrustDomain authorizes any SVID of the domain; "self" is the client's own.
	TrustDomain string `json:"trustDomain,omitempty"`
	// AuthorizeAny accepts any SVID the bundle validates (discouraged).
	AuthorizeAny bool `json:"authorizeAny,omitempty"`
}

// ClientProviderX509SVID is the ClientAuth.Provider of the SPIFFE
// X.509-SVID transport, the one the TLS adapter implements.
const ClientProviderX509SVID = "x509-svid"

// ClientAuth selects the client certificate for mTLS: a SPIFFE X.509-SVID or
// a static certificate and key.
type ClientAuth struct {
	// Provider is x509-svid: present a SPIFFE X.509-SVID.
	Provider string `json:"provider,omitempty"`
	// Certificate is the PEM client certificate (chain).
	Certificate *Source `json:"certificate,omitempty"`
	// Key is the PEM private key of Certificate. Secret: never log it.
	Key *Source `json:"key,omitempty"`
}

// Source is PEM content given inline or read from a file.
type Source struct {
	// FromPath is the file holding the content. The loader makes it absolute.
	FromPath string `json:"fromPath,omitempty"`
	// Value is the content given inline.
	Value string `json:"value,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("48h").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"48h\" or \"90s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (use a Go duration such as \"48h\" or \"90s\")", s)
	}
	d.Duration = v
	return nil
}
