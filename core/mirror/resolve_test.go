package mirror_test

import (
	"testing"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
)

// TestHeadWithoutDigestFallsBackToGet: a registry whose manifest HEAD
// carries no digest (the adapter reports core.ErrUnsupported) is resolved
// and compared through GET instead, on both sides.
func TestHeadWithoutDigestFallsBackToGet(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	reg.AddFault(mirrortest.Fault{Method: mirrortest.HeadManifest, Err: core.ErrUnsupported})
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	seedTags(reg, src, "1.0.0")
	cfg := cfgOf(artifact(src, dst, semverLimit(1)))

	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantMirrored(t, reg, src, dst, "1.0.0")

	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=skipped/up-to-date")
	if got := reg.CountOn(dstHost, mirrortest.GetManifest); got == 0 {
		t.Errorf("the destination was never asked with GET:\n%s", describeCalls(reg))
	}
}
