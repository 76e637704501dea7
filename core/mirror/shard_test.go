package mirror_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/fluxcd/flux-mirror/core/shard"
)

// shardFixture seeds the same sources into a fresh registry and Helm
// repository: two artifact repositories (one with a limit, so that the
// selection is cut on the whole listing) with referrers on one of them, and
// a chart with build metadata in its versions. The destination registry
// has no referrers API, so includeReferrers maintains fallback tags.
func shardFixture() (*mirrortest.Registry, *mirrortest.Charts, *config.Config) {
	reg := mirrortest.NewRegistry()
	reg.SetReferrersAPI(dstHost, false)
	var tags []string
	for i := range 40 {
		tags = append(tags, fmt.Sprintf("1.%d.%d", i/10, i%10))
	}
	seedTags(reg, srcHost+"/org/big", tags...)
	signed := seedTags(reg, srcHost+"/org/signed", "2.0.0", "2.1.0", "2.2.0")
	for _, tag := range []string{"2.0.0", "2.2.0"} {
		referrer(reg, srcHost+"/org/signed", signed[tag], sigType, "sig of "+tag)
	}
	charts := mirrortest.NewCharts()
	for i := range 6 {
		charts.Add(chartRepo, "podinfo", fmt.Sprintf("6.%d.0+build.%d", i, i), "x", true)
	}
	big := artifact(srcHost+"/org/big", dstHost+"/mirror/big", semverLimit(30))
	sig := artifact(srcHost+"/org/signed", dstHost+"/mirror/signed", semverLimit(0))
	sig.IncludeReferrers = true
	cfg := cfgOf(big, sig)
	cfg.Charts = []config.Chart{{Name: "podinfo", Source: chartRepo, Destination: "oci://" + dstHost + "/charts", Limit: intp(5)}}
	return reg, charts, cfg
}

// TestShardsMirrorTheWholeOnce: the shards of a split run, run one after
// the other against one destination, mirror exactly what one unsharded run
// mirrors, each tag by its owner only (one manifest PUT per tag), with the
// selection computed on the whole listing; and report.Merge of their
// reports is the unsharded report.
func TestShardsMirrorTheWholeOnce(t *testing.T) {
	t.Parallel()
	wantReg, wantCharts, cfg := shardFixture()
	whole := runSync(t, wantReg, fastOptions(), mirror.Deps{Charts: wantCharts}, cfg)
	if whole.Report.Shard != "" || whole.Report.Summary.ExitCode != report.ExitOK {
		t.Fatalf("unsharded run: shard %q, summary %+v", whole.Report.Shard, whole.Report.Summary)
	}
	dstRepos := []string{dstHost + "/mirror/big", dstHost + "/mirror/signed", chartDst}
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			t.Parallel()
			reg, charts, cfg := shardFixture()
			var parts []report.Part
			for i := range n {
				opts := fastOptions()
				opts.Shard = shard.Shard{Index: i, Count: n}
				rep := runSync(t, reg, opts, mirror.Deps{Charts: charts}, cfg)
				if rep.Report.Shard != opts.Shard.String() {
					t.Errorf("shard %s reports shard %q", opts.Shard, rep.Report.Shard)
				}
				for k, res := range rep.Report.Results {
					if !reflect.DeepEqual(res.Selection, whole.Report.Results[k].Selection) {
						t.Errorf("shard %s entry %d selection %+v, want the whole run's %+v", opts.Shard, k, res.Selection, whole.Report.Results[k].Selection)
					}
					for _, tg := range res.Tags {
						if tg.Position < 1 || whole.Report.Results[k].Tags[tg.Position-1].Tag != tg.Tag {
							t.Errorf("shard %s: tag %s has position %d in the whole selection", opts.Shard, tg.Tag, tg.Position)
						}
						if stored := mirror.ChartTag(tg.Tag); !opts.Shard.Owns(res.Destination, stored) {
							t.Errorf("shard %s mirrored %s:%s, which it does not own", opts.Shard, res.Destination, stored)
						}
					}
				}
				parts = append(parts, report.Part{Name: opts.Shard.String(), Report: rep})
			}
			merged, err := report.Merge(parts)
			if err != nil {
				t.Fatalf("merge: %v", err)
			}
			if !reflect.DeepEqual(merged.Report.Results, whole.Report.Results) || merged.Report.Summary != whole.Report.Summary {
				t.Errorf("merged report differs from the unsharded one:\n got %+v\nwant %+v", merged.Report, whole.Report)
			}
			for _, repo := range dstRepos {
				got, want := reg.Tags(repo), wantReg.Tags(repo)
				if !slices.Equal(got, want) {
					t.Errorf("%s tags %v, want %v", repo, got, want)
				}
				for _, tag := range want {
					if reg.Digest(repo, tag) != wantReg.Digest(repo, tag) {
						t.Errorf("%s:%s is %s, want %s", repo, tag, reg.Digest(repo, tag), wantReg.Digest(repo, tag))
					}
				}
			}
			for _, repo := range dstRepos {
				for _, tag := range reg.Tags(repo) {
					if strings.HasPrefix(tag, "sha256-") {
						continue // a fallback tag is written per referrer
					}
					if c := reg.CountWhere(func(c mirrortest.Call) bool {
						return c.Method == "PutManifest" && c.Repo == repo && c.Ref == tag
					}); c != 1 {
						t.Errorf("%s:%s was PUT %d times by the shards, want once", repo, tag, c)
					}
				}
			}
		})
	}
}

// TestShardOwningNothing: a shard that owns none of an entry's selected
// tags completes the entry with no tags and the whole selection, even
// under FailOnEmpty, and writes nothing.
func TestShardOwningNothing(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/one", dstHost+"/mirror/one"
	seedTags(reg, src, "1.0.0")
	owner := shard.Of(dst, "1.0.0", 2)
	opts := fastOptions()
	opts.FailOnEmpty = true
	opts.Shard = shard.Shard{Index: 1 - owner, Count: 2}
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(0))))
	res := rep.Report.Results[0]
	if res.Status != report.EntryCompleted || len(res.Tags) != 0 || res.Selection == nil || res.Selection.Selected != 1 {
		t.Errorf("result %+v, want completed with no tags and 1 selected", res)
	}
	if reg.Writes() != 0 || rep.Report.Summary.ExitCode != report.ExitOK {
		t.Errorf("%d writes, exit code %d; want none and 0", reg.Writes(), rep.Report.Summary.ExitCode)
	}
}

// TestInvalidShardFailsEveryEntry: an invalid shard never mirrors the
// whole (each pod would write every tag): every entry fails, nothing is
// written.
func TestInvalidShardFailsEveryEntry(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	seedTags(reg, srcHost+"/org/a", "1.0.0")
	opts := fastOptions()
	opts.Shard = shard.Shard{Index: 2, Count: 2}
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(artifact(srcHost+"/org/a", dstHost+"/m/a", semverLimit(0))))
	res := rep.Report.Results[0]
	if res.Status != report.EntryFailed || !strings.Contains(res.Error, "shard index 2 is out of range") || reg.Writes() != 0 {
		t.Errorf("result %+v with %d writes; want failed on the shard and nothing written", res, reg.Writes())
	}
}
