package mirror_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

const chartRepo = "https://charts.example.com/stable/"

func chartCfg(limit int, version string, overwrite bool) *config.Config {
	return &config.Config{APIVersion: config.APIVersion, Kind: config.Kind, Charts: []config.Chart{{
		Name: "podinfo", Source: chartRepo, Destination: "oci://" + dstHost + "/charts",
		Version: version, Limit: intp(limit), Overwrite: overwrite,
	}}}
}

const chartDst = dstHost + "/charts/podinfo"

func TestChartFirstCopyAndRerun(t *testing.T) {
	t.Parallel()
	for _, withDigest := range []bool{true, false} {
		name := "index without digests"
		if withDigest {
			name = "index with digests"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			charts := mirrortest.NewCharts()
			d610 := charts.Add(chartRepo, "podinfo", "6.1.0+build.7", "x", withDigest)
			charts.Add(chartRepo, "podinfo", "6.0.0", "x", withDigest)
			charts.Add(chartRepo, "podinfo", "7.0.0-rc.1", "x", withDigest) // a prerelease: not in "*"
			charts.Add(chartRepo, "other", "9.9.9", "x", withDigest)
			deps := mirror.Deps{Charts: charts}
			cfg := chartCfg(1, "", false)

			rep := runSync(t, reg, fastOptions(), deps, cfg)
			res := rep.Report.Results[0]
			if res.Source != "https://charts.example.com/stable/podinfo" || res.Destination != chartDst {
				t.Errorf("result source %q destination %q", res.Source, res.Destination)
			}
			wantStatuses(t, rep, 0, "6.1.0+build.7=copied")
			if res.Tags[0].Digest != d610 {
				t.Errorf("reported digest %s, want the tarball's %s", res.Tags[0].Digest, d610)
			}
			if got := reg.Tags(chartDst); len(got) != 1 || got[0] != "6.1.0_build.7" {
				t.Fatalf("destination tags %v, want [6.1.0_build.7]", got)
			}
			body, mt, _ := reg.Manifest(chartDst, "6.1.0_build.7")
			if mt != oci.MediaTypeImageManifest {
				t.Errorf("media type %s", mt)
			}
			var m oci.Manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			if m.SchemaVersion != 2 || m.Config.MediaType != oci.MediaTypeHelmConfig || len(m.Layers) != 1 ||
				m.Layers[0].MediaType != oci.MediaTypeHelmChart || m.Layers[0].Digest != d610 || m.Annotations != nil {
				t.Errorf("manifest %s", body)
			}
			if want := string(mirror.ChartManifest(*m.Config, m.Layers[0])); string(body) != want {
				t.Errorf("manifest %s, want %s", body, want)
			}
			if !reg.HasBlob(chartDst, d610) || !reg.HasBlob(chartDst, m.Config.Digest) {
				t.Error("chart blobs missing")
			}

			// Re-run: up to date; downloads only without index digests.
			reg.ResetCalls()
			dl := charts.Count(mirrortest.DownloadChart)
			rep = runSync(t, reg, fastOptions(), deps, cfg)
			wantStatuses(t, rep, 0, "6.1.0+build.7=skipped/up-to-date")
			if rep.Report.Results[0].Tags[0].Digest != d610 {
				t.Errorf("re-run digest %s", rep.Report.Results[0].Tags[0].Digest)
			}
			wantDL := 0
			if !withDigest {
				wantDL = 1
			}
			if got := charts.Count(mirrortest.DownloadChart) - dl; got != wantDL {
				t.Errorf("re-run downloaded %d times, want %d", got, wantDL)
			}
			if want := map[string]int{mirrortest.GetManifest: 1}; !mapsEqual(reg.Counts(), want) {
				t.Errorf("re-run made %v, want %v", reg.Counts(), want)
			}
		})
	}
}

func TestChartManifestIsDeterministic(t *testing.T) {
	t.Parallel()
	var digests []string
	for range 2 {
		reg := mirrortest.NewRegistry()
		charts := mirrortest.NewCharts()
		charts.Add(chartRepo, "podinfo", "6.1.0", "x", true)
		rep := runSync(t, reg, fastOptions(), mirror.Deps{Charts: charts}, chartCfg(1, "", false))
		wantStatuses(t, rep, 0, "6.1.0=copied")
		digests = append(digests, reg.Digest(chartDst, "6.1.0"))
	}
	if digests[0] == "" || digests[0] != digests[1] {
		t.Errorf("manifest digests differ across runs: %v", digests)
	}
}

func TestChartDriftOverwriteAndForeignContent(t *testing.T) {
	t.Parallel()
	helmPushed := func(reg *mirrortest.Registry, tarball []byte) {
		// What `helm push` writes: the same layer, a config, and a
		// manifest with a timestamp annotation.
		cfg := reg.SeedBlob(chartDst, oci.MediaTypeHelmConfig, []byte(`{"name":"podinfo","version":"6.1.0","apiVersion":"v2"}`))
		layer := reg.SeedBlob(chartDst, oci.MediaTypeHelmChart, tarball)
		body, _ := json.Marshal(oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageManifest, Config: &cfg, Layers: []oci.Descriptor{layer},
			Annotations: map[string]string{"org.opencontainers.image.created": "2025-01-01T10:11:12Z"}})
		reg.SeedManifest(chartDst, "6.1.0", oci.MediaTypeImageManifest, body)
	}
	tests := []struct {
		name      string
		seed      func(reg *mirrortest.Registry)
		overwrite bool
		dryRun    bool
		want      string
		wantErr   string
		changed   bool
	}{
		{
			name: "pushed earlier by helm push: up to date",
			seed: func(reg *mirrortest.Registry) { helmPushed(reg, mirrortest.ChartTarball("podinfo", "6.1.0", "x")) },
			want: "6.1.0=skipped/up-to-date",
		},
		{
			name: "other tarball: drifted",
			seed: func(reg *mirrortest.Registry) { helmPushed(reg, mirrortest.ChartTarball("podinfo", "6.1.0", "old")) },
			want: "6.1.0=drifted",
		},
		{
			name: "other tarball with overwrite", overwrite: true, changed: true,
			seed: func(reg *mirrortest.Registry) { helmPushed(reg, mirrortest.ChartTarball("podinfo", "6.1.0", "old")) },
			want: "6.1.0=overwritten",
		},
		{
			name: "other tarball, dry run with overwrite", overwrite: true, dryRun: true,
			seed: func(reg *mirrortest.Registry) { helmPushed(reg, mirrortest.ChartTarball("podinfo", "6.1.0", "old")) },
			want: "6.1.0=would-overwrite",
		},
		{
			name: "not a chart",
			seed: func(reg *mirrortest.Registry) {
				reg.SeedImage(chartDst, "6.1.0", mirrortest.Image{Layers: []string{"an image"}})
			},
			want:    "6.1.0=failed",
			wantErr: "exists and is not a Helm chart",
		},
		{
			name: "not a chart with overwrite", overwrite: true, changed: true,
			seed: func(reg *mirrortest.Registry) {
				reg.SeedImage(chartDst, "6.1.0", mirrortest.Image{Layers: []string{"an image"}})
			},
			want: "6.1.0=overwritten",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			charts := mirrortest.NewCharts()
			charts.Add(chartRepo, "podinfo", "6.1.0", "x", true)
			tt.seed(reg)
			before := reg.Digest(chartDst, "6.1.0")
			opts := fastOptions()
			opts.DryRun = tt.dryRun
			rep := runSync(t, reg, opts, mirror.Deps{Charts: charts}, chartCfg(1, "6.x", tt.overwrite))
			wantStatuses(t, rep, 0, tt.want)
			if tt.wantErr != "" && !strings.Contains(rep.Report.Results[0].Tags[0].Error, tt.wantErr) {
				t.Errorf("error %q", rep.Report.Results[0].Tags[0].Error)
			}
			after := reg.Digest(chartDst, "6.1.0")
			if tt.changed {
				body, _, _ := reg.Manifest(chartDst, "6.1.0")
				var m oci.Manifest
				_ = json.Unmarshal(body, &m)
				if after == before || m.Layers[0].Digest != oci.Digest(mirrortest.ChartTarball("podinfo", "6.1.0", "x")) {
					t.Errorf("destination not replaced by the source chart: %s", body)
				}
			} else if after != before || (tt.dryRun && reg.Writes() != 0) {
				t.Errorf("destination changed from %s to %s", before, after)
			}
		})
	}
}

func TestChartIndexDigestMismatch(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	charts := mirrortest.NewCharts()
	charts.Add(chartRepo, "podinfo", "6.1.0", "x", true)
	charts.Announce(chartRepo, "podinfo", "6.1.0", oci.Digest([]byte("something else")))
	rep := runSync(t, reg, fastOptions(), mirror.Deps{Charts: charts}, chartCfg(1, "", false))
	wantStatuses(t, rep, 0, "6.1.0=failed")
	if e := rep.Report.Results[0].Tags[0].Error; !strings.Contains(e, "digest mismatch") || !strings.Contains(e, "the index says") {
		t.Errorf("error %q", e)
	}
	if reg.Writes() != 0 {
		t.Error("a chart that does not match its index was pushed")
	}
}

func TestChartPlanFailures(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	charts := mirrortest.NewCharts()
	charts.Add(chartRepo, "podinfo", "1.0.0", "x", true)
	cfg := &config.Config{Charts: []config.Chart{
		{Name: "missing", Source: chartRepo, Destination: "oci://" + dstHost + "/charts"},
		{Name: "podinfo", Source: "https://nowhere.example.com", Destination: "oci://" + dstHost + "/charts"},
		{Name: "podinfo", Source: chartRepo, Destination: "oci://" + dstHost + "/charts", Version: "not a range"},
		{Name: "podinfo", Source: chartRepo, Destination: "oci://" + dstHost + "/charts"},
	}}
	rep := runSync(t, reg, fastOptions(), mirror.Deps{Charts: charts}, cfg)
	for i, want := range []string{`chart "missing" is not in the index`, "404 Not Found", "not a valid semver range"} {
		if r := rep.Report.Results[i]; r.Status != report.EntryFailed || !strings.Contains(r.Error, want) {
			t.Errorf("entry %d: %+v, want error containing %q", i, r, want)
		}
	}
	wantStatuses(t, rep, 3, "1.0.0=copied")

	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	if r := rep.Report.Results[3]; r.Status != report.EntryFailed || !strings.Contains(r.Error, "no Helm repository client") {
		t.Errorf("without a chart source: %+v", r)
	}
}

func TestArtifactsThenChartsInOneRun(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	charts := mirrortest.NewCharts()
	charts.Add(chartRepo, "podinfo", "1.0.0", "x", true)
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	seedTags(reg, src, "1.0.0")
	cfg := chartCfg(1, "", false)
	cfg.Artifacts = []config.Artifact{artifact(src, dst, semverLimit(1))}
	rep := runSync(t, reg, fastOptions(), mirror.Deps{Charts: charts}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantStatuses(t, rep, 1, "1.0.0=copied")
	if rep.Report.Results[0].Source != src || rep.Report.Results[1].Destination != chartDst {
		t.Errorf("results out of order: %+v", rep.Report.Results)
	}
	if s := rep.Report.Summary; s.Entries != 2 || s.Copied != 2 {
		t.Errorf("summary %+v", s)
	}
}
