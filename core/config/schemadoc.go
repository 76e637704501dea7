package config

// docs are the descriptions of the Config API's types (keyed by type name)
// and fields (keyed Type.field) in the JSON Schema; they follow config.txt.
// A test fails when a type or field has none.
var docs = map[string]string{
	"Config":            "A flux-mirror config: the OCI artifacts and Helm charts to mirror, and how to authenticate to the registry hosts involved. Config files support ${VAR} environment substitution in keys and values.",
	"Config.apiVersion": "The API version of the config.",
	"Config.kind":       "The kind of the document.",
	"Config.artifacts":  "OCI artifacts to mirror between OCI registries, byte for byte with digests preserved.",
	"Config.charts":     "Helm charts to pull from HTTP/S Helm repositories and publish to an OCI registry.",
	"Config.hosts":      "Per-host authentication, TLS and upload settings for OCI registry requests. Hosts not listed fall back to the Docker config and its credential helpers.",

	"Artifact":                  "An OCI repository whose selected tags are mirrored to another OCI repository.",
	"Artifact.source":           "The OCI repository to pull from, without a scheme, e.g. ghcr.io/fluxcd/flux-cli. A name without a registry host is a Docker Hub repository, as for docker: nginx is docker.io/library/nginx.",
	"Artifact.destination":      "The OCI repository to push to, without a scheme, e.g. quay.io/example/flux-cli. A name without a registry host is a Docker Hub repository. Selected tags keep their names.",
	"Artifact.selector":         "Which source tags are mirrored: a regex prefilter, a semver range filter, a sort (highest first), then a limit.",
	"Artifact.includeReferrers": "Also mirror the referrers of each selected tag (cosign signatures, SBOMs, attestations). Default false.",
	"Artifact.verify":           "Verify each selected tag's cosign keyless signature before copying it.",
	"Artifact.overwrite":        "Replace destination tags whose digest differs from the source. Default false: drift is reported and left alone.",

	"Selector":        "The tag selection pipeline.",
	"Selector.regex":  "A Go regular expression prefilter applied to every tag.",
	"Selector.semver": "A semver range, e.g. \">=2.7.0 <3.0.0\" or \"6.x\". Tags whose comparison key is not a semantic version are dropped.",
	"Selector.sortBy": "The sort strategy: semver (default), alphabetical or numerical. Tags are always ordered highest first.",
	"Selector.limit":  "How many tags to mirror from the top of the sorted result. Default 1; 0 mirrors every matching tag.",

	"Regex":         "A regular expression prefilter with an optional comparison key extraction.",
	"Regex.pattern": "A Go regular expression; tags that do not match are dropped.",
	"Regex.extract": "A replacement template referencing capture groups of pattern, e.g. $version; its result replaces the tag as the comparison key.",

	"Verify":                   "Cosign keyless signature verification of the source tags.",
	"Verify.provider":          "The verification provider.",
	"Verify.matchOIDCIdentity": "Accepted Fulcio certificate identities; a signature is accepted when any one matches.",
	"Verify.minAge":            "A Go duration (e.g. 48h) a signature's verified transparency-log time must be older than; newer tags are skipped.",

	"OIDCIdentity":         "An accepted Fulcio certificate identity.",
	"OIDCIdentity.issuer":  "The OIDC issuer URL, e.g. https://token.actions.githubusercontent.com.",
	"OIDCIdentity.subject": "A Go regular expression matched against the certificate subject alternative name.",

	"Chart":             "A Helm chart mirrored from an HTTP/S Helm repository to an OCI registry.",
	"Chart.name":        "The chart name in the source repository; it is appended to destination.",
	"Chart.source":      "The http or https URL of the Helm repository serving index.yaml. Credentials come from the Helm repositories config.",
	"Chart.destination": "The oci:// base URL the chart is published under, e.g. oci://quay.io/example/charts.",
	"Chart.version":     "A semver range of the versions to mirror. Default \"*\" (all versions).",
	"Chart.limit":       "How many matching versions to mirror, highest first. Default 1; 0 mirrors every matching version.",
	"Chart.overwrite":   "Replace destination versions whose content differs from the source. Default false.",

	"Host":              "Authentication, TLS and upload settings for one registry host. Set at least one of credential, provider, tls or maxChunkSize.",
	"Host.host":         "The registry host, with an optional port (1-65535), e.g. registry.example.com or localhost:5000. Unique across hosts; docker.io, index.docker.io and registry-1.docker.io all name Docker Hub.",
	"Host.username":     "Send the credential as the password of this username (username/password login); unset, the credential is a bearer token.",
	"Host.credential":   "An HTTP-layer registry credential. Mutually exclusive with provider.",
	"Host.provider":     "A cloud registry provider using ambient workload identity (e.g. ecr, acr, gar: the names compiled into the binary). Mutually exclusive with credential and tls.",
	"Host.tls":          "Transport TLS for the host's registry requests. Not allowed with provider.",
	"Host.maxChunkSize": "The largest blob-upload PATCH request in KiB; larger blobs are uploaded in chunks. Default 0: one request per blob.",

	"Credential":          "How the host's credential is obtained: exactly one of provider, value, fromPath, jwkPath or jwkValue.",
	"Credential.provider": "Mint a per-request token for the audience from a CI or cloud identity (e.g. github, aws, jwt-svid: the names compiled into the binary).",
	"Credential.value":    "A token sent as-is; use ${VAR} to substitute it from the environment.",
	"Credential.fromPath": "A file whose content (whitespace trimmed) is the token, re-read on every request. Relative to the config's directory.",
	"Credential.jwkPath":  "A file holding a private JWK (or single-key JWK set) that signs a fresh JWT per request. Relative to the config's directory.",
	"Credential.jwkValue": "A private JWK given inline that signs a fresh JWT per request; use ${VAR} to substitute it from the environment.",
	"Credential.iss":      "The issuer claim of the signed JWT. Required with jwkPath or jwkValue, not allowed otherwise.",
	"Credential.sub":      "The subject claim of the signed JWT. Required with jwkPath or jwkValue, not allowed otherwise.",
	"Credential.aud":      "The audience. Allowed with provider, jwkPath or jwkValue; defaults to the host.",
	"Credential.exp":      "The signed JWT's lifetime as a Go duration. Allowed only with jwkPath or jwkValue; default 60s.",

	"TLS":            "Transport TLS; set at least one of serverAuth and clientAuth.",
	"TLS.serverAuth": "How the registry's server certificate is verified; omitted, the system trust pool is used.",
	"TLS.clientAuth": "The client certificate for mTLS.",

	"ServerAuth":          "Exactly one of fromPath, value (a PEM CA bundle) or spiffe.",
	"ServerAuth.fromPath": "A PEM CA bundle file, relative to the config's directory.",
	"ServerAuth.value":    "A PEM CA bundle given inline.",
	"ServerAuth.spiffe":   "Verify the server's X.509-SVID against the SPIFFE trust bundle from the Workload API.",

	"SPIFFEServer":              "Which server SVIDs are authorized: exactly one of serverID, trustDomain or authorizeAny: true.",
	"SPIFFEServer.serverID":     "Authorize exactly this SPIFFE ID, e.g. spiffe://example.org/registry.",
	"SPIFFEServer.trustDomain":  "Authorize any SVID in this trust domain; self means the client's own trust domain.",
	"SPIFFEServer.authorizeAny": "Authorize any SVID the bundle validates (discouraged).",

	"ClientAuth":             "Exactly one of provider: x509-svid or the static certificate and key pair.",
	"ClientAuth.provider":    "Present a SPIFFE X.509-SVID from the Workload API.",
	"ClientAuth.certificate": "The PEM client certificate.",
	"ClientAuth.key":         "The PEM private key of the client certificate.",

	"Source":          "PEM content: exactly one of fromPath or value.",
	"Source.fromPath": "The file holding the content, relative to the config's directory.",
	"Source.value":    "The content given inline.",
}
