package mirror_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

// TestFallbackTagsAreNotSelected mirrors a source without the referrers
// API, whose tag list therefore holds a referrers fallback tag, with a
// selector that keeps every tag. The fallback tag is not copied as a tag;
// the destination's fallback index is maintained through includeReferrers,
// so a referrer attached late is merged in and the next run finds no drift.
func TestFallbackTagsAreNotSelected(t *testing.T) {
	t.Parallel()
	for _, includeReferrers := range []bool{true, false} {
		t.Run(map[bool]string{true: "includeReferrers", false: "tags only"}[includeReferrers], func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			reg.SetReferrersAPI(srcHost, false)
			reg.SetReferrersAPI(dstHost, false)
			src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
			tag := seedTags(reg, src, "1.0.0", "latest")["1.0.0"]
			sig := referrer(reg, src, tag, sigType, "signature")
			fallbackTag := mirror.FallbackTag(tag.Digest)
			if !slices.Contains(reg.Tags(src), fallbackTag) {
				t.Fatalf("the source lists no fallback tag: %v", reg.Tags(src))
			}
			a := artifact(src, dst, config.Selector{SortBy: config.SortAlphabetical, Limit: intp(0)})
			a.IncludeReferrers = includeReferrers
			cfg := cfgOf(a)

			rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
			wantStatuses(t, rep, 0, "latest=copied 1.0.0=copied")
			wantSel := &report.Selection{Listed: 3, FallbackTags: 1, Matched: 2, Selected: 2}
			if got := rep.Report.Results[0].Selection; !reflect.DeepEqual(got, wantSel) {
				t.Errorf("selection %+v, want %+v", got, wantSel)
			}
			fallbackCopied := slices.Contains(reg.Tags(dst), fallbackTag)
			if fallbackCopied != includeReferrers {
				t.Errorf("destination fallback tag present: %v, want %v (through includeReferrers only)", fallbackCopied, includeReferrers)
			}

			// A referrer is attached upstream after the first mirror: the
			// source's fallback index changes.
			sbom := referrer(reg, src, tag, sbomType, "sbom")
			rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
			wantStatuses(t, rep, 0, "latest=skipped/up-to-date 1.0.0=skipped/up-to-date")
			if code := rep.Report.Summary.ExitCode; code != report.ExitOK {
				t.Errorf("exit code %d, want %d", code, report.ExitOK)
			}
			if !includeReferrers {
				return
			}
			if got := digestsOf(reg.ReferrersOf(dst, tag.Digest)); !slices.Equal(got, sorted(sig.Digest, sbom.Digest)) {
				t.Errorf("destination referrers %v, want the signature and the late SBOM", got)
			}
		})
	}
}

// TestSelectionCountsAndFailOnEmpty checks the selection counts of every
// entry, and that an empty selection completes the entry (exit 0) unless
// FailOnEmpty fails it (exit 1).
func TestSelectionCountsAndFailOnEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		selector    config.Selector
		chart       bool
		failOnEmpty bool
		wantStatus  report.EntryStatus
		wantError   string
		wantTags    int
		wantSel     report.Selection
		wantExit    int
	}{
		{name: "empty selection completes", selector: config.Selector{Semver: ">=9"},
			wantStatus: report.EntryCompleted, wantSel: report.Selection{Listed: 3, Limit: 1}, wantExit: report.ExitOK},
		{name: "empty selection fails under FailOnEmpty", selector: config.Selector{Semver: ">=9"}, failOnEmpty: true,
			wantStatus: report.EntryFailed, wantError: "selector matched 0 of 3 tags", wantSel: report.Selection{Listed: 3, Limit: 1}, wantExit: report.ExitFailed},
		{name: "limit cuts the matches", selector: config.Selector{Semver: "*"}, failOnEmpty: true,
			wantStatus: report.EntryCompleted, wantTags: 1, wantSel: report.Selection{Listed: 3, Matched: 2, Selected: 1, Limit: 1}, wantExit: report.ExitOK},
		{name: "no cap", selector: config.Selector{Limit: intp(0)},
			wantStatus: report.EntryCompleted, wantTags: 2, wantSel: report.Selection{Listed: 3, Matched: 2, Selected: 2}, wantExit: report.ExitOK},
		{name: "chart: empty selection completes", chart: true,
			wantStatus: report.EntryCompleted, wantSel: report.Selection{Listed: 2, Limit: 1}, wantExit: report.ExitOK},
		{name: "chart: empty selection fails under FailOnEmpty", chart: true, failOnEmpty: true,
			wantStatus: report.EntryFailed, wantError: "selector matched 0 of 2 versions", wantSel: report.Selection{Listed: 2, Limit: 1}, wantExit: report.ExitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			charts := mirrortest.NewCharts()
			var cfg *config.Config
			if tt.chart {
				charts.Add(chartRepo, "podinfo", "6.0.0", "x", true)
				charts.Add(chartRepo, "podinfo", "6.1.0", "x", true)
				cfg = chartCfg(1, ">=9", false)
			} else {
				seedTags(reg, srcHost+"/org/app", "1.0.0", "2.0.0", "latest")
				cfg = cfgOf(artifact(srcHost+"/org/app", dstHost+"/mirror/app", tt.selector))
			}
			opts := fastOptions()
			opts.FailOnEmpty = tt.failOnEmpty
			var planned []report.Result
			opts.Observer = mirror.ObserverFuncs{OnEntryPlanned: func(_ int, res report.Result, _ int) { planned = append(planned, res) }}
			rep := runSync(t, reg, opts, mirror.Deps{Charts: charts}, cfg)
			res := rep.Report.Results[0]
			if res.Status != tt.wantStatus || !strings.Contains(res.Error, tt.wantError) || (tt.wantError == "") != (res.Error == "") {
				t.Fatalf("entry %s %q, want %s %q", res.Status, res.Error, tt.wantStatus, tt.wantError)
			}
			if len(res.Tags) != tt.wantTags {
				t.Errorf("%d tags, want %d", len(res.Tags), tt.wantTags)
			}
			if res.Selection == nil || *res.Selection != tt.wantSel {
				t.Errorf("selection %+v, want %+v", res.Selection, tt.wantSel)
			}
			if rep.Report.Summary.ExitCode != tt.wantExit {
				t.Errorf("exit code %d, want %d", rep.Report.Summary.ExitCode, tt.wantExit)
			}
			// The Observer sees the counts when the entry is planned, so
			// the CLI can print the selection lines as it goes.
			if tt.wantStatus == report.EntryCompleted && (len(planned) != 1 || planned[0].Selection == nil || *planned[0].Selection != tt.wantSel) {
				t.Errorf("EntryPlanned saw %+v", planned)
			}
		})
	}
}

// shuffledReferrers lists referrers in a new random order on every call,
// as a registry may.
type shuffledReferrers struct {
	*mirrortest.Registry
	rnd *rand.Rand
}

func (s shuffledReferrers) Referrers(ctx context.Context, repo oci.Repository, digest string) ([]oci.Descriptor, error) {
	list, err := s.Registry.Referrers(ctx, repo, digest)
	s.rnd.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	return list, err
}

// TestReferrerOrderIsDeterministic syncs a tag whose referrers the source
// lists in a different order each time: the report lists them by artifact
// type, then digest, every time.
func TestReferrerOrderIsDeterministic(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tag := seedTags(reg, src, "1.0.0")["1.0.0"]
	var refs []oci.Descriptor
	for i, typ := range []string{sigType, sbomType, attType, sigType, sbomType, attType} {
		d := referrer(reg, src, tag, typ, "payload "+string(rune('a'+i)))
		d.ArtifactType = typ
		refs = append(refs, d)
	}
	slices.SortFunc(refs, func(a, b oci.Descriptor) int {
		if c := strings.Compare(a.ArtifactType, b.ArtifactType); c != 0 {
			return c
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	var want []string
	for _, d := range refs {
		want = append(want, d.ArtifactType+" "+d.Digest)
	}
	a := artifact(src, dst, semverLimit(1))
	a.IncludeReferrers = true
	wrapped := shuffledReferrers{reg, rand.New(rand.NewPCG(1, 2))}
	for run := range 5 {
		opts := fastOptions()
		opts.DryRun = run%2 == 0 // first runs compare, later ones copy or skip
		rep := runSync(t, wrapped, opts, mirror.Deps{}, cfgOf(a))
		var got []string
		for _, r := range rep.Report.Results[0].Tags[0].Referrers {
			got = append(got, r.ArtifactType+" "+r.Digest)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: referrers in order\n%s\nwant\n%s", run, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
