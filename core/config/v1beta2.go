package config

// APIVersionV1Beta2 is the apiVersion of the upstream plugin's current Config
// API. A v1beta2 document is decoded into ConfigV1Beta2, validated under its
// own field paths, and converted (Internal) into the v1beta1 Config the rest
// of flux-mirror runs on.
const APIVersionV1Beta2 = "mirror.plugin.fluxcd.io/v1beta2"

// APIVersions lists the accepted apiVersion values, the documented one
// first.
var APIVersions = []string{APIVersion, APIVersionV1Beta2}

// The v1beta2 provider and type names that differ from v1beta1's.
const (
	// CredentialTypeJWT is the only v1beta2 credential.type.
	CredentialTypeJWT = "jwt"
	// RegistryProviderGeneric is the v1beta2 hosts[].provider of an
	// ordinary registry, the same as leaving provider unset.
	RegistryProviderGeneric = "generic"
	// ProviderSPIFFE is the v1beta2 name of the SPIFFE providers: the
	// credential.provider that fetches a JWT-SVID (v1beta1 jwt-svid) and the
	// tls.clientAuth / tls.serverAuth provider (v1beta1 x509-svid and the
	// bare serverAuth.spiffe block).
	ProviderSPIFFE = "spiffe"
	// TokenProviderJWTSVID is the v1beta1 credential.provider that v1beta2
	// calls spiffe.
	TokenProviderJWTSVID = "jwt-svid"
)

// SingleAudienceProviders are the credential providers whose token carries
// one audience, so v1beta2's audiences lists at most one for them.
var SingleAudienceProviders = []string{"gcp", "azure"}

// ConfigV1Beta2 is a mirror.plugin.fluxcd.io/v1beta2 Config document. Its
// artifacts and charts are v1beta1's; its hosts differ (HostV1Beta2).
type ConfigV1Beta2 struct {
	// APIVersion must be mirror.plugin.fluxcd.io/v1beta2.
	APIVersion string `json:"apiVersion"`
	// Kind must be Config.
	Kind string `json:"kind"`
	// Artifacts lists OCI repositories to mirror between OCI registries.
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Charts lists Helm charts to mirror from HTTP/S Helm repositories to OCI.
	Charts []Chart `json:"charts,omitempty"`
	// Hosts configures authentication, TLS and uploads per registry host.
	Hosts []HostV1Beta2 `json:"hosts,omitempty"`
}

// HostV1Beta2 configures authentication, transport and uploads for one
// registry host. Unlike v1beta1 the username belongs to the credential.
type HostV1Beta2 struct {
	// Host is the registry host, with an optional port; unique in a Config.
	Host string `json:"host"`
	// Credential is an HTTP-layer credential; exclusive with a cloud
	// Provider.
	Credential *CredentialV1Beta2 `json:"credential,omitempty"`
	// Provider is generic (the same as unset) or a cloud registry provider:
	// ecr, acr or gar.
	Provider string `json:"provider,omitempty"`
	// TLS configures the transport; not allowed with a cloud Provider.
	TLS *TLSV1Beta2 `json:"tls,omitempty"`
	// MaxChunkSize is the largest blob-upload request body in KiB; 0 sends
	// blobs in one request.
	MaxChunkSize int64 `json:"maxChunkSize,omitempty"`
}

// CredentialV1Beta2 configures how a host's HTTP-layer credential is
// obtained. Type is required; exactly one of Provider, Value, FromPath,
// JWKPath and JWKValue is set.
type CredentialV1Beta2 struct {
	// Type is the kind of credential material: jwt.
	Type string `json:"type"`
	// Provider mints a token from an ambient CI or cloud identity.
	Provider string `json:"provider,omitempty"`
	// Value is a token sent as-is. Secret: never log it.
	Value string `json:"value,omitempty"`
	// FromPath is a file whose trimmed content is the token, re-read on
	// every request.
	FromPath string `json:"fromPath,omitempty"`
	// JWKPath is a file holding the private JWK that signs a fresh JWT per
	// request.
	JWKPath string `json:"jwkPath,omitempty"`
	// JWKValue is the private JWK given inline. Secret: never log it.
	JWKValue string `json:"jwkValue,omitempty"`
	// Issuer is the issuer claim of a signed JWT.
	Issuer string `json:"issuer,omitempty"`
	// Subject is the subject claim of a signed JWT.
	Subject string `json:"subject,omitempty"`
	// Audiences are the audiences; empty means [host].
	Audiences []string `json:"audiences,omitempty"`
	// Expiration is the lifetime of a signed JWT; nil means the default
	// (60s).
	Expiration *Duration `json:"expiration,omitempty"`
	// Username, when set, sends the credential as the password of this
	// username; unset, the credential is a bearer token.
	Username string `json:"username,omitempty"`
	// Envelope is a Go template that rewrites the token after its source,
	// e.g. "token-{{ hex .Token }}" (functions base64 and hex).
	Envelope string `json:"envelope,omitempty"`
}

// TLSV1Beta2 configures transport security for one host.
type TLSV1Beta2 struct {
	// ServerAuth verifies the registry's certificate; nil means the system
	// trust pool.
	ServerAuth *ServerAuthV1Beta2 `json:"serverAuth,omitempty"`
	// ClientAuth presents a client certificate (mTLS).
	ClientAuth *ClientAuthV1Beta2 `json:"clientAuth,omitempty"`
}

// ServerAuthV1Beta2 selects how the registry's certificate is verified: a
// custom CA bundle (FromPath or Value), or, with Provider spiffe, SPIFFE.
type ServerAuthV1Beta2 struct {
	// Provider is spiffe, or unset for a CA bundle.
	Provider string `json:"provider,omitempty"`
	// FromPath is a PEM CA bundle file.
	FromPath string `json:"fromPath,omitempty"`
	// Value is a PEM CA bundle given inline.
	Value string `json:"value,omitempty"`
	// SPIFFE authorizes the server's X.509-SVID; required with provider
	// spiffe.
	SPIFFE *SPIFFEServerV1Beta2 `json:"spiffe,omitempty"`
}

// SPIFFEServerV1Beta2 authorizes the registry's X.509-SVID. Exactly one
// field is set; v1beta1's authorizeAny does not exist in v1beta2.
type SPIFFEServerV1Beta2 struct {
	// ServerID authorizes exactly this SPIFFE ID or, ending in '/', the IDs
	// under that path on segment boundaries.
	ServerID string `json:"serverID,omitempty"`
	// TrustDomain authorizes any SVID of the domain; "self" is the client's
	// own.
	TrustDomain string `json:"trustDomain,omitempty"`
}

// ClientAuthV1Beta2 selects the client certificate for mTLS: a SPIFFE
// X.509-SVID (Provider spiffe) or a static certificate and key.
type ClientAuthV1Beta2 struct {
	// Provider is spiffe: present a SPIFFE X.509-SVID.
	Provider string `json:"provider,omitempty"`
	// Certificate is the PEM client certificate (chain).
	Certificate *Source `json:"certificate,omitempty"`
	// Key is the PEM private key of Certificate. Secret: never log it.
	Key *Source `json:"key,omitempty"`
}
