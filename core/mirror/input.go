package mirror

import (
	"time"

	"github.com/fluxcd/flux-mirror/core/selection"
)

// Input is what a Run mirrors, in the engine's own terms: the entries of a
// config, in order, without the config's wire format. Each config version
// converts into it (v1beta1: config.(*Config).MirrorInput), so the engine
// does not depend on any of them.
type Input struct {
	// Artifacts are mirrored between OCI registries; the Report lists them
	// first, in this order.
	Artifacts []Artifact
	// Charts are mirrored from HTTP/S Helm repositories to OCI; the Report
	// lists them after the artifacts, in this order.
	Charts []Chart
}

// Artifact mirrors the selected tags of one OCI repository to another.
type Artifact struct {
	// Source is the OCI repository to pull from, without a scheme; a name
	// without a registry host is a Docker Hub repository.
	Source string
	// Destination is the OCI repository to push to, written as Source.
	Destination string
	// Selector chooses the source tags. Required: nil fails the entry.
	Selector *selection.Selector
	// IncludeReferrers also mirrors the referrers of each selected tag.
	IncludeReferrers bool
	// Verify, when set, requires a valid signature on each selected tag
	// before anything of the entry is copied.
	Verify *VerifyPolicy
	// Overwrite replaces destination tags that differ from the source
	// (Options.Overwrite forces it on every entry).
	Overwrite bool
}

// Chart mirrors the selected versions of a chart from an HTTP/S Helm
// repository to an OCI repository.
type Chart struct {
	// Name is the chart's name in the source repository.
	Name string
	// Source is the http or https URL of the Helm repository.
	Source string
	// Destination is the oci:// base URL; the versions land in
	// <Destination without oci://>/<Name>.
	Destination string
	// Version is a semver range; "" means selection.DefaultChartVersion.
	Version string
	// Limit caps the number of versions; nil means selection.DefaultLimit
	// and 0 means no cap.
	Limit *int
	// Overwrite replaces destination versions whose content differs.
	Overwrite bool
}

// VerifyPolicy is what a Verifier checks a signature against.
type VerifyPolicy struct {
	// Provider names the verification provider, e.g. "cosign".
	Provider string
	// MatchOIDCIdentity lists the accepted signer identities; a signature
	// is accepted when any one of them matches.
	MatchOIDCIdentity []OIDCIdentity
	// MinAge, when set, requires the signature's verified integrated time
	// to be at least this old; younger tags are skipped
	// (signature-too-new), and a signature without a verified integrated
	// time fails.
	MinAge *time.Duration
}

// OIDCIdentity is an accepted Fulcio certificate identity.
type OIDCIdentity struct {
	// Issuer is the OIDC issuer URL, matched exactly.
	Issuer string
	// Subject is a Go regular expression matched against the whole
	// certificate subject alternative name.
	Subject string
}
