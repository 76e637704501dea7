package mirror_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

func TestFirstCopyThenNoOpRerun(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	descs := seedTags(reg, src, "1.0.0", "1.1.0", "1.2.0", "latest")
	cfg := cfgOf(artifact(src, dst, semverLimit(2)))

	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.2.0=copied 1.1.0=copied")
	for _, tag := range []string{"1.2.0", "1.1.0"} {
		wantMirrored(t, reg, src, dst, tag)
	}
	if got := reg.Tags(dst); !slices.Equal(got, []string{"1.1.0", "1.2.0"}) {
		t.Errorf("destination tags %v", got)
	}
	res := rep.Report.Results[0]
	if res.Source != src || res.Destination != dst || res.Tags[0].Digest != descs["1.2.0"].Digest {
		t.Errorf("result %+v", res)
	}
	if s := rep.Report.Summary; s.Copied != 2 || s.Entries != 1 || s.ExitCode != report.ExitOK {
		t.Errorf("summary %+v", s)
	}
	// Blobs: 3 distinct per tag (config, base, own layer), base shared: 5
	// uploads, each after one existence check; the shared one once.
	if got := reg.CountOn(dstHost, mirrortest.PushBlob); got != 5 {
		t.Errorf("PushBlob = %d, want 5\n%s", got, describeCalls(reg))
	}
	if got := reg.CountOn(dstHost, mirrortest.BlobExists); got != 5 {
		t.Errorf("BlobExists = %d, want 5", got)
	}
	// The tag is written last: after every blob of its manifest.
	calls := reg.Calls()
	for _, tag := range []string{"1.2.0", "1.1.0"} {
		put := slices.IndexFunc(calls, func(c mirrortest.Call) bool { return c.Method == mirrortest.PutManifest && c.Ref == tag })
		body, mt, _ := reg.Manifest(src, tag)
		_, refs, _ := oci.ParseManifest(mt, body)
		for _, b := range refs.Blobs {
			push := slices.IndexFunc(calls, func(c mirrortest.Call) bool {
				return c.Method == mirrortest.PushBlob && c.Ref == b.Digest && c.Err == nil
			})
			if push < 0 || push > put {
				t.Errorf("blob %s of %s pushed at %d, tag written at %d", b.Digest, tag, push, put)
			}
		}
	}

	// The no-op contract: one tag list per entry, one manifest HEAD per
	// selected tag on each side, nothing else.
	reg.ResetCalls()
	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.2.0=skipped/up-to-date 1.1.0=skipped/up-to-date")
	want := map[string]int{mirrortest.ListTags: 1, mirrortest.HeadManifest: 4}
	if got := reg.Counts(); !mapsEqual(got, want) {
		t.Errorf("no-op re-run made %v, want %v\n%s", got, want, describeCalls(reg))
	}
	if got := reg.CountOn(srcHost, mirrortest.HeadManifest); got != 2 {
		t.Errorf("source HEADs = %d, want 2", got)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDriftOverwriteDryRun(t *testing.T) {
	t.Parallel()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	setup := func() *mirrortest.Registry {
		reg := mirrortest.NewRegistry()
		seedTags(reg, src, "1.0.0", "2.0.0")
		// 2.0.0 exists at the destination with other content; 1.0.0 is missing.
		reg.SeedImage(dst, "2.0.0", mirrortest.Image{Layers: []string{"something else"}})
		return reg
	}
	tests := []struct {
		name         string
		entryOverwr  bool
		opts         func(*mirror.Options)
		want         string
		wantExit     int
		wantWrites   bool
		wantDstMatch bool // 2.0.0 at destination equals the source afterwards
	}{
		{name: "drift is left alone", want: "2.0.0=drifted 1.0.0=copied", wantExit: report.ExitDrift, wantWrites: true},
		{name: "entry overwrite", entryOverwr: true, want: "2.0.0=overwritten 1.0.0=copied", wantExit: report.ExitOK, wantWrites: true, wantDstMatch: true},
		{name: "--overwrite forces every entry", opts: func(o *mirror.Options) { o.Overwrite = true }, want: "2.0.0=overwritten 1.0.0=copied", wantExit: report.ExitOK, wantWrites: true, wantDstMatch: true},
		{name: "dry run", opts: func(o *mirror.Options) { o.DryRun = true }, want: "2.0.0=drifted 1.0.0=would-copy", wantExit: report.ExitDrift},
		{name: "dry run with overwrite", entryOverwr: true, opts: func(o *mirror.Options) { o.DryRun = true }, want: "2.0.0=would-overwrite 1.0.0=would-copy", wantExit: report.ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := setup()
			before := reg.Digest(dst, "2.0.0")
			a := artifact(src, dst, semverLimit(0))
			a.Overwrite = tt.entryOverwr
			opts := fastOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(a))
			wantStatuses(t, rep, 0, tt.want)
			if got := rep.Report.Summary.ExitCode; got != tt.wantExit {
				t.Errorf("exit code %d, want %d", got, tt.wantExit)
			}
			if got := reg.Writes(); (got > 0) != tt.wantWrites {
				t.Errorf("writes = %d, want writes: %v\n%s", got, tt.wantWrites, describeCalls(reg))
			}
			after := reg.Digest(dst, "2.0.0")
			if tt.wantDstMatch {
				wantMirrored(t, reg, src, dst, "2.0.0")
			} else if after != before {
				t.Errorf("destination 2.0.0 changed from %s to %s", before, after)
			}
			if opts.DryRun && reg.Digest(dst, "1.0.0") != "" {
				t.Error("dry run wrote 1.0.0")
			}
		})
	}
}

func TestMultiArchIndex(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/multi", dstHost+"/mirror/multi"
	amd := reg.SeedImage(src, "", mirrortest.Image{Layers: []string{"shared", "amd64 bits"}, Platform: &oci.Platform{OS: "linux", Architecture: "amd64"}})
	arm := reg.SeedImage(src, "", mirrortest.Image{Layers: []string{"shared", "arm64 bits"}, Platform: &oci.Platform{OS: "linux", Architecture: "arm64"}})
	idx := reg.SeedIndex(src, "v1.0.0", amd, arm)

	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
	wantStatuses(t, rep, 0, "v1.0.0=copied")
	wantMirrored(t, reg, src, dst, "v1.0.0")
	if got := reg.Digest(dst, "v1.0.0"); got != idx.Digest {
		t.Errorf("index digest %s, want %s", got, idx.Digest)
	}
	for _, child := range []oci.Descriptor{amd, arm} {
		if reg.Digest(dst, child.Digest) == "" {
			t.Errorf("child %s missing", child.Digest)
		}
	}
	shared := oci.Digest([]byte("shared"))
	if got := reg.CountWhere(func(c mirrortest.Call) bool { return c.Method == mirrortest.PushBlob && c.Ref == shared }); got != 1 {
		t.Errorf("shared layer pushed %d times", got)
	}
	// Children are written by digest before the tag.
	calls := reg.Calls()
	last := calls[len(calls)-1]
	if last.Method != mirrortest.PutManifest || last.Ref != "v1.0.0" {
		t.Errorf("last call %+v, want the tag's PutManifest", last)
	}
}

func TestSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tags []string
		sel  config.Selector
		want []string
	}{
		{
			name: "limit 0 mirrors every match",
			tags: []string{"1.0.0", "1.1.0", "2.0.0", "latest", "2.1.0-rc.1"},
			sel:  config.Selector{Semver: ">=1.0.0", Limit: intp(0)},
			want: []string{"2.0.0", "1.1.0", "1.0.0"},
		},
		{
			name: "regex extract with numerical sort",
			tags: []string{"main-abc1234-1700000100", "main-def5678-1700000300", "main-0a1b2c3-1700000200", "pr-1-1700000999", "latest"},
			sel: config.Selector{
				Regex:  &config.Regex{Pattern: `^main-[0-9a-f]+-(?P<ts>\d+)$`, Extract: "$ts"},
				SortBy: config.SortNumerical, Limit: intp(2),
			},
			want: []string{"main-def5678-1700000300", "main-0a1b2c3-1700000200"},
		},
		{
			name: "default limit is one",
			tags: []string{"v1.0.0", "v1.2.0"},
			sel:  config.Selector{},
			want: []string{"v1.2.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			src, dst := srcHost+"/org/sel", dstHost+"/mirror/sel"
			seedTags(reg, src, tt.tags...)
			rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, tt.sel)))
			var want []string
			for _, w := range tt.want {
				want = append(want, w+"=copied")
			}
			wantStatuses(t, rep, 0, strings.Join(want, " "))
			for _, w := range tt.want {
				wantMirrored(t, reg, src, dst, w)
			}
			if got := reg.Tags(dst); len(got) != len(tt.want) {
				t.Errorf("destination tags %v", got)
			}
		})
	}
}

func TestSameHostMountsBlobs(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", srcHost+"/copy/app"
	seedTags(reg, src, "1.0.0")
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantMirrored(t, reg, src, dst, "1.0.0")
	if got := reg.Count(mirrortest.MountBlob); got != 3 {
		t.Errorf("MountBlob = %d, want 3", got)
	}
	if got := reg.Count(mirrortest.OpenBlob) + reg.Count(mirrortest.PushBlob); got != 0 {
		t.Errorf("blobs streamed %d times despite mounts", got)
	}

	// A registry that declines mounts gets uploads instead.
	reg2 := mirrortest.NewRegistry()
	reg2.DisableMount()
	seedTags(reg2, src, "1.0.0")
	rep = runSync(t, reg2, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantMirrored(t, reg2, src, dst, "1.0.0")
	if got := reg2.Count(mirrortest.PushBlob); got != 3 {
		t.Errorf("PushBlob = %d, want 3", got)
	}
}

func TestPlanFailureIsolated(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	good, dst := srcHost+"/org/good", dstHost+"/mirror/good"
	seedTags(reg, good, "1.0.0")
	cfg := cfgOf(
		artifact(srcHost+"/org/missing", dstHost+"/mirror/missing", semverLimit(1)),
		artifact(good, dst, semverLimit(1)),
		artifact(good, dstHost+"/mirror/bad-regex", config.Selector{Regex: &config.Regex{Pattern: "("}}),
	)
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	r0 := rep.Report.Results[0]
	if r0.Status != report.EntryFailed || !strings.Contains(r0.Error, "NAME_UNKNOWN") || !strings.Contains(r0.Error, "list tags of "+srcHost+"/org/missing") {
		t.Errorf("missing source: %+v", r0)
	}
	if r0.Tags == nil || len(r0.Tags) != 0 {
		t.Errorf("failed entry tags %#v, want empty list", r0.Tags)
	}
	// Not found is final: listed once, not retried.
	if got := countOnRepo(reg, srcHost+"/org/missing", mirrortest.ListTags); got != 1 {
		t.Errorf("ListTags of a missing repository = %d, want 1", got)
	}
	wantStatuses(t, rep, 1, "1.0.0=copied")
	if r2 := rep.Report.Results[2]; r2.Status != report.EntryFailed || !strings.Contains(r2.Error, "selector.regex.pattern") {
		t.Errorf("bad regex: %+v", r2)
	}
	if s := rep.Report.Summary; s.Failed != 2 || s.Copied != 1 || s.ExitCode != report.ExitFailed {
		t.Errorf("summary %+v", s)
	}
}

func TestResultsInConfigAndPlanOrder(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	var arts []config.Artifact
	for i := range 8 {
		src := srcHost + "/org/app" + string(rune('a'+i))
		seedTags(reg, src, "1.0.0", "1.0.1", "1.0.2", "1.1.0")
		arts = append(arts, artifact(src, dstHost+"/m/app"+string(rune('a'+i)), semverLimit(0)))
	}
	// Slow some entries down so that they finish out of order.
	reg.AddFault(mirrortest.Fault{Repo: srcHost + "/org/appa", Delay: 20_000_000})
	opts := fastOptions()
	opts.Concurrency = 8
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(arts...))
	for i, res := range rep.Report.Results {
		if res.Source != arts[i].Source {
			t.Errorf("result %d is %s, want %s", i, res.Source, arts[i].Source)
		}
		wantStatuses(t, rep, i, "1.1.0=copied 1.0.2=copied 1.0.1=copied 1.0.0=copied")
	}
}
