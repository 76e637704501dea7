package config

// docsV1Beta2Own are the descriptions of the types and fields v1beta2
// defines itself (keyed by schema name: Host, not HostV1Beta2); the shared
// types keep v1beta1's (docs). A test fails when a type or field has none.
var docsV1Beta2Own = map[string]string{
	"Config":            "A flux-mirror config (mirror.plugin.fluxcd.io/v1beta2): the OCI artifacts and Helm charts to mirror, and how to authenticate to the registry hosts involved. Config files support ${VAR} environment substitution in keys and values. flux-mirror convert rewrites a v1beta1 config as v1beta2.",
	"Config.apiVersion": "The API version of the config.",
	"Config.kind":       "The kind of the document.",
	"Config.artifacts":  "OCI artifacts to mirror between OCI registries, byte for byte with digests preserved.",
	"Config.charts":     "Helm charts to pull from HTTP/S Helm repositories and publish to an OCI registry.",
	"Config.hosts":      "Per-host authentication, TLS and upload settings for OCI registry requests. Hosts not listed fall back to the Docker config and its credential helpers.",

	"Host":              "Authentication, TLS and upload settings for one registry host. Set at least one of credential, a cloud provider, tls or maxChunkSize.",
	"Host.host":         "The registry host, with an optional port (1-65535), e.g. registry.example.com or localhost:5000. Unique across hosts; docker.io, index.docker.io and registry-1.docker.io all name Docker Hub.",
	"Host.credential":   "An HTTP-layer registry credential. Not allowed with a cloud provider.",
	"Host.provider":     "generic (the same as unset: an ordinary registry, with credential and tls as set) or a cloud registry provider using ambient workload identity (e.g. ecr, acr, gar: the names compiled into the binary), which excludes credential and tls.",
	"Host.tls":          "Transport TLS for the host's registry requests. Not allowed with a cloud provider.",
	"Host.maxChunkSize": "The largest blob-upload PATCH request in KiB; larger blobs are uploaded in chunks. Default 0: one request per blob.",

	"Credential":            "How the host's credential is obtained: type jwt and exactly one of provider, value, fromPath, jwkPath or jwkValue.",
	"Credential.type":       "The kind of credential material; jwt is the only one, and it is required.",
	"Credential.provider":   "Mint a per-request token for the audience from a CI or cloud identity (e.g. github, aws, spiffe: the names compiled into the binary).",
	"Credential.value":      "A token sent as-is; use ${VAR} to substitute it from the environment.",
	"Credential.fromPath":   "A file whose content (whitespace trimmed) is the token, re-read on every request. Relative to the config's directory.",
	"Credential.jwkPath":    "A file holding a private JWK (or single-key JWK set) that signs a fresh JWT per request. Relative to the config's directory.",
	"Credential.jwkValue":   "A private JWK given inline that signs a fresh JWT per request; use ${VAR} to substitute it from the environment.",
	"Credential.issuer":     "The issuer claim of the signed JWT. Required with jwkPath or jwkValue, not allowed otherwise.",
	"Credential.subject":    "The subject claim of the signed JWT. Required with jwkPath or jwkValue, not allowed otherwise.",
	"Credential.audiences":  "The audiences, distinct and non-empty; default [host]. Allowed with provider (one audience), jwkPath or jwkValue (a signed JWT carries them all).",
	"Credential.expiration": "The signed JWT's lifetime as a Go duration. Allowed only with jwkPath or jwkValue; default 60s.",
	"Credential.username":   "Send the credential as the password of this username (username/password login); unset, the credential is a bearer token.",
	"Credential.envelope":   "A Go template that rewrites every token after its source, e.g. \"token-{{ hex .Token }}\": .Token is the token, base64 and hex the functions.",

	"TLS":            "Transport TLS; set at least one of serverAuth and clientAuth.",
	"TLS.serverAuth": "How the registry's server certificate is verified; omitted, the system trust pool is used.",
	"TLS.clientAuth": "The client certificate for mTLS.",

	"ServerAuth":          "A PEM CA bundle (exactly one of fromPath or value), or provider: spiffe with the spiffe block.",
	"ServerAuth.provider": "spiffe: verify the server's X.509-SVID against the SPIFFE trust bundle from the Workload API. Unset for a CA bundle.",
	"ServerAuth.fromPath": "A PEM CA bundle file, relative to the config's directory.",
	"ServerAuth.value":    "A PEM CA bundle given inline.",
	"ServerAuth.spiffe":   "Which server SVIDs are authorized; required with provider: spiffe, not allowed otherwise.",

	"SPIFFEServer":             "Which server SVIDs are authorized: exactly one of serverID or trustDomain.",
	"SPIFFEServer.serverID":    "Authorize exactly this SPIFFE ID, e.g. spiffe://example.org/registry, or, ending in /, the IDs under that path on segment boundaries.",
	"SPIFFEServer.trustDomain": "Authorize any SVID in this trust domain; self means the client's own trust domain.",

	"ClientAuth":             "Exactly one of provider: spiffe or the static certificate and key pair.",
	"ClientAuth.provider":    "spiffe: present a SPIFFE X.509-SVID from the Workload API.",
	"ClientAuth.certificate": "The PEM client certificate.",
	"ClientAuth.key":         "The PEM private key of the client certificate.",
}
