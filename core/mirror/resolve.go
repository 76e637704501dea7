package mirror

import (
	"context"
	"errors"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// headManifest resolves reference with one HEAD request. A registry whose
// HEAD answer carries no digest (the adapter reports core.ErrUnsupported)
// is asked with a GET instead, and the digest is computed from the body.
func (r *run) headManifest(ctx context.Context, repo oci.Repository, reference string) (oci.Descriptor, error) {
	desc, err := r.reg.HeadManifest(ctx, repo, reference)
	if !errors.Is(err, core.ErrUnsupported) {
		return desc, err
	}
	r.log.Debug("manifest HEAD gave no digest; using GET", "ref", refString(repo, reference))
	desc, _, err = r.reg.GetManifest(ctx, repo, reference)
	return desc, err
}
