package mirror_test

import (
	"testing"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// TestReferrerTypeReadFromManifestWhenListedWrong: a source whose referrers
// API lists config media types (the empty JSON type) instead of artifact
// types still gets each referrer's real type into the rows of referrers
// that are not copied (skipped as up to date or as differing at the
// destination, would-copy), and into the rule that compares types, because planning reads the type from the referrer's manifest.
func TestReferrerTypeReadFromManifestWhenListedWrong(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		dryRun bool
		seed   func(t *testing.T, reg *mirrortest.Registry, src, dst, tag string)
		want   string
	}{
		{name: "up to date", want: sigType + "=skipped/up-to-date",
			seed: func(t *testing.T, reg *mirrortest.Registry, src, dst, tag string) {
				a := artifact(src, dst, semverLimit(1))
				a.IncludeReferrers = true
				runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
			}},
		{name: "dry run", dryRun: true, want: sigType + "=would-copy",
			seed: func(t *testing.T, reg *mirrortest.Registry, src, dst, tag string) {}},
		{name: "replaced upstream", want: sigType + "=skipped/differs-at-destination",
			seed: func(t *testing.T, reg *mirrortest.Registry, src, dst, tag string) {
				referrer(reg, dst, seedSame(reg, src, dst, tag), sigType, "old signature")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			reg.ListConfigTypeAsArtifactType(srcHost)
			src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
			tag := seedTags(reg, src, "1.0.0")["1.0.0"]
			referrer(reg, src, tag, sigType, "signature")
			tc.seed(t, reg, src, dst, "1.0.0")
			a := artifact(src, dst, semverLimit(1))
			a.IncludeReferrers = true
			opts := fastOptions()
			opts.DryRun = tc.dryRun
			rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(a))
			if rows := referrerRows(rep.Report.Results[0].Tags[0]); rows != tc.want {
				t.Errorf("referrers %q, want %q", rows, tc.want)
			}
			if rep.Report.Summary.ExitCode != report.ExitOK {
				t.Errorf("exit %d, want %d", rep.Report.Summary.ExitCode, report.ExitOK)
			}
		})
	}
}
