package mirror

import (
	"context"
	"io"
	"time"

	"github.com/fluxcd/flux-mirror/core/oci"
)

// TagLister lists the tags of a repository, following pagination.
type TagLister interface {
	ListTags(ctx context.Context, repo oci.Repository) ([]string, error)
}

// ManifestReader reads manifests. Errors for absent content wrap
// core.ErrNotFound; 401 and 403 wrap core.ErrUnauthorized and core.ErrDenied.
type ManifestReader interface {
	// HeadManifest resolves a tag or digest to its descriptor with one HEAD
	// request.
	HeadManifest(ctx context.Context, repo oci.Repository, reference string) (oci.Descriptor, error)
	// GetManifest returns the descriptor and the exact bytes of a manifest.
	GetManifest(ctx context.Context, repo oci.Repository, reference string) (oci.Descriptor, []byte, error)
}

// ManifestWriter writes manifests.
type ManifestWriter interface {
	// PutManifest stores body under reference (a tag or its digest).
	PutManifest(ctx context.Context, repo oci.Repository, reference, mediaType string, body []byte) error
}

// BlobReader reads blobs.
type BlobReader interface {
	// BlobExists reports whether the blob is present (one HEAD request).
	BlobExists(ctx context.Context, repo oci.Repository, digest string) (bool, error)
	// OpenBlob streams a blob. The caller verifies the digest.
	OpenBlob(ctx context.Context, repo oci.Repository, digest string) (io.ReadCloser, error)
}

// BlobWriter uploads blobs.
type BlobWriter interface {
	// PushBlob uploads content, which must hash to desc.Digest and be
	// desc.Size bytes long, without first checking whether it exists.
	PushBlob(ctx context.Context, repo oci.Repository, desc oci.Descriptor, content io.Reader) error
	// MountBlob asks the registry to link a blob from another repository of
	// the same host. It returns false when the registry did not mount it
	// (the caller then uploads it).
	MountBlob(ctx context.Context, repo, from oci.Repository, digest string) (bool, error)
}

// ReferrerLister lists the manifests whose subject is a digest: through the
// OCI 1.1 referrers API, or the referrers tag schema where the registry has
// no API.
type ReferrerLister interface {
	Referrers(ctx context.Context, repo oci.Repository, digest string) ([]oci.Descriptor, error)
}

// ReferrersAPIProber tells whether a repository's registry serves the OCI 1.1
// referrers API, so that a writer knows whether to maintain the fallback tag.
type ReferrersAPIProber interface {
	SupportsReferrersAPI(ctx context.Context, repo oci.Repository) (bool, error)
}

// HostWarmer is an optional extension of Registry, found by type
// assertion. Warm prepares the connection to a repository's host ahead of
// its first request (the API version check, the authentication challenge,
// a pull token for the repository) so that the first real request does not
// wait for them; the engine warms an entry's destination while it lists
// the source. It reports nothing: a failure meets the first real request
// again, which reports it.
type HostWarmer interface {
	Warm(ctx context.Context, repo oci.Repository)
}

// Registry is everything the sync engine needs from OCI registries.
type Registry interface {
	TagLister
	ManifestReader
	ManifestWriter
	BlobReader
	BlobWriter
	ReferrerLister
	ReferrersAPIProber
}

// ChartVersion is one version of a chart in a Helm repository index.
type ChartVersion struct {
	Name    string
	Version string
	// URLs are the download locations, resolved against the repository URL.
	URLs []string
	// Digest is the sha256 hex digest the index announces, if any.
	Digest string
}

// ChartIndexReader reads a Helm repository's index.
type ChartIndexReader interface {
	// ChartVersions returns every version of the named chart. A chart
	// absent from the index wraps core.ErrNotFound.
	ChartVersions(ctx context.Context, repoURL, name string) ([]ChartVersion, error)
}

// ChartPackage is a downloaded chart: the exact tarball and its metadata as
// the Helm OCI config blob.
type ChartPackage struct {
	// Tarball is the .tgz exactly as served.
	Tarball []byte
	// ConfigJSON is the chart metadata (Chart.yaml) as JSON, for the
	// application/vnd.cncf.helm.config.v1+json config blob.
	ConfigJSON []byte
}

// ChartDownloader fetches a chart version's tarball.
type ChartDownloader interface {
	DownloadChart(ctx context.Context, repoURL string, version ChartVersion) (ChartPackage, error)
}

// ChartSource is everything the sync engine needs from Helm repositories.
type ChartSource interface {
	ChartIndexReader
	ChartDownloader
}

// Verification is the result of a successful signature verification.
type Verification struct {
	Provider string
	Issuer   string
	Identity string
	// IntegratedTime is the verified transparency-log time of the signature.
	IntegratedTime time.Time
}

// Verifier checks that a manifest digest carries a valid signature that
// matches the policy. It returns an error when none does.
type Verifier interface {
	Verify(ctx context.Context, repo oci.Repository, digest string, policy VerifyPolicy) (Verification, error)
}
