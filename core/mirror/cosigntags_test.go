package mirror_test

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// cosignRows renders the cosign-tag rows of a tag's report: tag=status.
func cosignRowsOf(tag report.Tag) string {
	var parts []string
	for _, r := range tag.Referrers {
		if r.Tag == "" {
			continue
		}
		s := r.Tag + "=" + string(r.Status)
		if r.Reason != "" {
			s += "/" + string(r.Reason)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestCosignTags checks that includeReferrers mirrors cosign's
// sha256-<hex>.sig, .att and .sbom tags of a mirrored tag, with the
// referrer drift rule, and copies a tag the selector also picks once.
func TestCosignTags(t *testing.T) {
	t.Parallel()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	type setup struct {
		reg       *mirrortest.Registry
		sig, att  string // the cosign tag names of 1.0.0
		sigDigest string
	}
	seed := func() setup {
		reg := mirrortest.NewRegistry()
		d := seedTags(reg, src, "1.0.0")["1.0.0"]
		s := setup{reg: reg, sig: mirror.CosignTag(d.Digest, ".sig"), att: mirror.CosignTag(d.Digest, ".att")}
		s.sigDigest = reg.SeedImage(src, s.sig, mirrortest.Image{Layers: []string{"simple signing payload"}}).Digest
		reg.SeedImage(src, s.att, mirrortest.Image{Layers: []string{"attestation"}})
		return s
	}
	tests := []struct {
		name      string
		referrers bool
		overwrite bool
		dryRun    bool
		regex     string // selector regex; "" selects semver tags
		before    func(s setup)
		want      func(s setup) string // cosign rows of 1.0.0
		wantDst   func(s setup) []string
	}{
		{name: "missing at destination: copied", referrers: true,
			want:    func(s setup) string { return s.sig + "=copied " + s.att + "=copied" },
			wantDst: func(s setup) []string { return []string{s.sig, s.att} }},
		{name: "without includeReferrers: left at the source", referrers: false,
			want: func(setup) string { return "" }, wantDst: func(setup) []string { return nil }},
		{name: "same at destination: up to date", referrers: true,
			before: func(s setup) {
				s.reg.SeedImage(dst, s.sig, mirrortest.Image{Layers: []string{"simple signing payload"}})
			},
			want: func(s setup) string { return s.sig + "=skipped/up-to-date " + s.att + "=copied" }},
		{name: "other signature at destination: left alone", referrers: true,
			before: func(s setup) { s.reg.SeedImage(dst, s.sig, mirrortest.Image{Layers: []string{"another signature"}}) },
			want:   func(s setup) string { return s.sig + "=skipped/differs-at-destination " + s.att + "=copied" }},
		{name: "other signature at destination, overwrite: replaced", referrers: true, overwrite: true,
			before:  func(s setup) { s.reg.SeedImage(dst, s.sig, mirrortest.Image{Layers: []string{"another signature"}}) },
			want:    func(s setup) string { return s.sig + "=overwritten " + s.att + "=copied" },
			wantDst: func(s setup) []string { return []string{s.sig} }},
		{name: "dry run writes nothing", referrers: true, dryRun: true,
			want: func(s setup) string { return s.sig + "=would-copy " + s.att + "=would-copy" }},
		{name: "selected by regex too: one copy, by the tag's own job", referrers: true, regex: `^(1\.0\.0|sha256-.*\.sig)$`,
			want:    func(s setup) string { return s.att + "=copied" },
			wantDst: func(s setup) []string { return []string{s.sig, s.att} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := seed()
			if tt.before != nil {
				tt.before(s)
			}
			sel := semverLimit(0)
			if tt.regex != "" {
				sel = config.Selector{Regex: &config.Regex{Pattern: tt.regex}, SortBy: config.SortAlphabetical, Limit: intp(0)}
			}
			a := artifact(src, dst, sel)
			a.IncludeReferrers, a.Overwrite = tt.referrers, tt.overwrite
			opts := fastOptions()
			opts.DryRun = tt.dryRun
			rep := runSync(t, s.reg, opts, mirror.Deps{}, cfgOf(a))
			var tag report.Tag
			for _, tg := range rep.Report.Results[0].Tags {
				if tg.Tag == "1.0.0" {
					tag = tg
				}
			}
			if got, want := cosignRowsOf(tag), tt.want(s); got != want {
				t.Errorf("cosign rows of 1.0.0:\n got %q\nwant %q\n%s", got, want, describeCalls(s.reg))
			}
			if tt.wantDst != nil {
				for _, name := range tt.wantDst(s) {
					wantMirrored(t, s.reg, src, dst, name)
				}
			}
			if tt.dryRun && s.reg.Count(mirrortest.PutManifest) != 0 {
				t.Errorf("dry run put %d manifests", s.reg.Count(mirrortest.PutManifest))
			}
			puts := s.reg.CountWhere(func(c mirrortest.Call) bool {
				return c.Method == mirrortest.PutManifest && c.Repo == dst && c.Ref == s.sig
			})
			if puts > 1 {
				t.Errorf("%s was put %d times; want one copy", s.sig, puts)
			}
		})
	}
}
