package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	helmreg "helm.sh/helm/v3/pkg/registry"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo/helmtest"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// These tests run `flux-mirror sync` on charts entries end to end: a real
// classic Helm repository (helmtest packages charts with Helm's library) to
// a real CNCF distribution registry, and read the result back with Helm's
// own OCI registry client, the code behind `helm pull` and `helm push`.

// chartsConfig is a sync config with only charts entries.
func chartsConfig(entries ...string) string {
	return "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\ncharts:\n" + strings.Join(entries, "")
}

// chartItem is one charts entry; extra holds further fields, indented by 4.
func chartItem(name, source, destination, extra string) string {
	return fmt.Sprintf("  - name: %s\n    source: %s\n    destination: %s\n%s", name, source, destination, extra)
}

// sha256Of is the OCI digest of b.
func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// withAppVersion sets a chart's appVersion.
func withAppVersion(v string) helmtest.ChartOption {
	return helmtest.WithMetadata(func(m *chart.Metadata) { m.AppVersion = v })
}

// helmRegistry returns Helm's own OCI registry client over plain HTTP. The
// test registries are anonymous and never challenge, so the Basic
// credentials are never sent: they only keep Helm from consulting the
// machine's credentials files and helpers.
func helmRegistry(t *testing.T) *helmreg.Client {
	t.Helper()
	c, err := helmreg.NewClient(
		helmreg.ClientOptPlainHTTP(),
		helmreg.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")),
		helmreg.ClientOptBasicAuth("unused", "unused"),
	)
	if err != nil {
		t.Fatalf("helm registry client: %v", err)
	}
	return c
}

// helmManifest is what the tests read of a chart's OCI manifest.
type helmManifest struct {
	MediaType string `json:"mediaType"`
	Config    struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
	} `json:"config"`
	Layers []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"layers"`
	Annotations map[string]string `json:"annotations"`
}

// pulledChart is a chart as `helm pull` reads it.
type pulledChart struct {
	result   *helmreg.PullResult
	manifest helmManifest
}

// helmPull pulls ref (oci:// form, '+' allowed in the tag as Helm accepts
// it) with Helm's registry client and decodes its manifest.
func helmPull(t *testing.T, ref string) pulledChart {
	t.Helper()
	res, err := helmRegistry(t).Pull(ref, helmreg.PullOptWithChart(true))
	if err != nil {
		t.Fatalf("helm pull %s: %v", ref, err)
	}
	var m helmManifest
	if err := json.Unmarshal(res.Manifest.Data, &m); err != nil {
		t.Fatalf("manifest of %s: %v", ref, err)
	}
	return pulledChart{result: res, manifest: m}
}

// assertHelmChart checks that Helm pulls exactly tarball from ref, with
// Helm's media types and the chart's metadata in the config blob.
func assertHelmChart(t *testing.T, ref string, tarball []byte, name, version, appVersion string) pulledChart {
	t.Helper()
	p := helmPull(t, ref)
	if string(p.result.Chart.Data) != string(tarball) {
		t.Errorf("%s: helm pulled %d chart bytes (%s), want the source tarball (%d bytes, %s)",
			ref, len(p.result.Chart.Data), sha256Of(p.result.Chart.Data), len(tarball), sha256Of(tarball))
	}
	if md := p.result.Chart.Meta; md == nil || md.Name != name || md.Version != version || md.AppVersion != appVersion {
		t.Errorf("%s: helm read metadata %+v, want name %s version %s appVersion %s", ref, md, name, version, appVersion)
	}
	m := p.manifest
	if m.Config.MediaType != helmreg.ConfigMediaType {
		t.Errorf("%s: config media type %q, want Helm's %q", ref, m.Config.MediaType, helmreg.ConfigMediaType)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != helmreg.ChartLayerMediaType || m.Layers[0].Digest != sha256Of(tarball) {
		t.Errorf("%s: layers %+v, want one %s layer with digest %s", ref, m.Layers, helmreg.ChartLayerMediaType, sha256Of(tarball))
	}
	return p
}

func TestChartSyncCopiesThenSkips(t *testing.T) {
	repo := helmtest.NewServer(t)
	tarballs := map[string][]byte{}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0"} {
		tarballs[v] = repo.AddChart("demo", v, withAppVersion("app-"+v))
	}
	dst := registrytest.NewDistribution(t)
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(
		chartItem("demo", repo.URL()+"/", "oci://"+dst.Host()+"/charts", "    version: \"1.x\"\n    limit: 2\n")))

	res := run(t, runOpts{}, "sync", cfg, "--no-progress")
	if res.code != 0 {
		t.Fatalf("first sync: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"✓ " + repo.URL() + "/demo:1.2.0 (copied)\n  → " + dst.Host() + "/charts/demo:1.2.0\n",
		"✓ " + repo.URL() + "/demo:1.1.0 (copied)\n  → " + dst.Host() + "/charts/demo:1.1.0\n",
		"Summary: 2 copied in ",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "1.0.0") || strings.Contains(res.stdout, "2.0.0") {
		t.Errorf("version 1.x limit 2 must select 1.2.0 and 1.1.0 only:\n%s", res.stdout)
	}
	tags := dst.Tags(t, dst.Host()+"/charts/demo")
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"1.1.0", "1.2.0"}) {
		t.Errorf("destination tags %v, want [1.1.0 1.2.0]", tags)
	}
	downloads := repo.RequestCount("demo-1.2.0.tgz")

	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || rep.Report.Summary.Skipped != 2 || rep.Report.Summary.Copied != 0 || rep.Report.Summary.Entries != 1 {
		t.Fatalf("re-run: exit %d, summary %+v\n%s", res.code, rep.Report.Summary, res.stderr)
	}
	r := rep.Report.Results[0]
	if r.Source != repo.URL()+"/demo" || r.Destination != dst.Host()+"/charts/demo" || r.Status != report.EntryCompleted {
		t.Errorf("result row: source %q destination %q status %q", r.Source, r.Destination, r.Status)
	}
	if len(r.Tags) != 2 || r.Tags[0].Tag != "1.2.0" || r.Tags[1].Tag != "1.1.0" {
		t.Fatalf("tags %+v, want 1.2.0 then 1.1.0", r.Tags)
	}
	for _, tag := range r.Tags {
		if tag.Status != report.StatusSkipped || tag.Reason != report.ReasonUpToDate || tag.Digest != sha256Of(tarballs[tag.Tag]) {
			t.Errorf("%s: %+v, want skipped up-to-date with the tarball digest %s", tag.Tag, tag, sha256Of(tarballs[tag.Tag]))
		}
	}
	// The index announces the digests, so an up-to-date chart is not
	// downloaded again.
	if got := repo.RequestCount("demo-1.2.0.tgz"); got != downloads {
		t.Errorf("the up-to-date re-run downloaded the tarball again (%d requests, was %d)", got, downloads)
	}

	// What `helm pull` and Flux read.
	for _, v := range []string{"1.1.0", "1.2.0"} {
		assertHelmChart(t, "oci://"+dst.Host()+"/charts/demo:"+v, tarballs[v], "demo", v, "app-"+v)
	}
}

func TestChartSyncIsWhatHelmPushes(t *testing.T) {
	repo := helmtest.NewServer(t)
	tarball := repo.AddChart("demo", "1.2.0", withAppVersion("9.9.9"), helmtest.WithMetadata(func(m *chart.Metadata) {
		m.Annotations = map[string]string{"category": "test"}
		m.Keywords = []string{"mirror"}
	}))
	dst := registrytest.NewDistribution(t)
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(
		chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/a", ""),
		chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/b/c", ""),
	))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || rep.Report.Summary.Copied != 2 {
		t.Fatalf("exit %d, summary %+v\n%s", res.code, rep.Report.Summary, res.stderr)
	}
	a := assertHelmChart(t, "oci://"+dst.Host()+"/a/demo:1.2.0", tarball, "demo", "1.2.0", "9.9.9")
	b := assertHelmChart(t, "oci://"+dst.Host()+"/b/c/demo:1.2.0", tarball, "demo", "1.2.0", "9.9.9")
	if a.result.Manifest.Digest != b.result.Manifest.Digest {
		t.Errorf("the same chart published twice has two manifest digests: %s and %s", a.result.Manifest.Digest, b.result.Manifest.Digest)
	}
	if a.manifest.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %q", a.manifest.MediaType)
	}
	if got := a.result.Chart.Meta.Annotations["category"]; got != "test" {
		t.Errorf("chart annotations lost: %v", a.result.Chart.Meta.Annotations)
	}

	// `helm push` of the same tarball writes the same config blob and
	// layer; only its manifest differs, by annotations (a timestamp).
	pushed, err := helmRegistry(t).Push(tarball, dst.Host()+"/helm/demo:1.2.0")
	if err != nil {
		t.Fatalf("helm push: %v", err)
	}
	if pushed.Config.Digest != a.result.Config.Digest || pushed.Chart.Digest != a.result.Chart.Digest {
		t.Errorf("helm push wrote config %s and chart %s; flux-mirror wrote config %s and chart %s",
			pushed.Config.Digest, pushed.Chart.Digest, a.result.Config.Digest, a.result.Chart.Digest)
	}
	if string(dst.Blob(t, dst.Host()+"/helm/demo", pushed.Config.Digest)) != string(a.result.Config.Data) {
		t.Error("config blob bytes differ from helm push's")
	}
}

func TestChartSyncBuildMetadataVersion(t *testing.T) {
	repo := helmtest.NewServer(t)
	tarball := repo.AddChart("demo", "1.2.3+build.1")
	repo.AddChart("demo", "1.2.2")
	dst := registrytest.NewDistribution(t)
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/charts", "")))

	res := run(t, runOpts{}, "sync", cfg, "--no-progress")
	want := "✓ " + repo.URL() + "/demo:1.2.3+build.1 (copied)\n  → " + dst.Host() + "/charts/demo:1.2.3_build.1\n"
	if res.code != 0 || !strings.Contains(res.stdout, want) {
		t.Fatalf("exit %d, stdout lacks %q:\n%s\n%s", res.code, want, res.stdout, res.stderr)
	}
	if tags := dst.Tags(t, dst.Host()+"/charts/demo"); !slices.Equal(tags, []string{"1.2.3_build.1"}) {
		t.Errorf("destination tags %v, want [1.2.3_build.1]", tags)
	}
	// Helm maps '+' to '_' itself, so the published version pulls by its name.
	assertHelmChart(t, "oci://"+dst.Host()+"/charts/demo:1.2.3+build.1", tarball, "demo", "1.2.3+build.1", "1.0.0")

	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 {
		t.Fatalf("re-run: exit %d\n%s", res.code, res.stderr)
	}
	tag := rep.Report.Results[0].Tags[0]
	if tag.Tag != "1.2.3+build.1" || tag.Status != report.StatusSkipped || tag.Reason != report.ReasonUpToDate || tag.Digest != sha256Of(tarball) {
		t.Errorf("re-run row %+v, want 1.2.3+build.1 skipped up-to-date", tag)
	}
}

func TestChartSyncDriftAgainstHelmPush(t *testing.T) {
	repo := helmtest.NewServer(t)
	want := repo.AddChart("demo", "1.0.0")
	// The same chart version packaged again, with other content.
	other := helmtest.NewServer(t).AddChart("demo", "1.0.0", helmtest.WithFile("templates/extra.yaml", []byte("# drift\n")))
	dst := registrytest.NewDistribution(t)
	ref := dst.Host() + "/charts/demo:1.0.0"
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/charts", "")))
	hc := helmRegistry(t)

	t.Run("a chart helm pushed from the same tarball is up to date", func(t *testing.T) {
		pushed, err := hc.Push(want, ref)
		if err != nil {
			t.Fatalf("helm push: %v", err)
		}
		if m := helmPull(t, "oci://"+ref); m.manifest.Annotations["org.opencontainers.image.created"] == "" {
			t.Fatalf("helm's manifest has no creation timestamp: %v", m.manifest.Annotations)
		}
		rep, res := syncReport(t, runOpts{}, cfg)
		tag := rep.Report.Results[0].Tags[0]
		if res.code != 0 || tag.Status != report.StatusSkipped || tag.Reason != report.ReasonUpToDate {
			t.Fatalf("exit %d, tag %+v\n%s", res.code, tag, res.stderr)
		}
		if got := dst.Digest(t, ref); got != pushed.Manifest.Digest {
			t.Errorf("an up-to-date chart was rewritten: %s, helm pushed %s", got, pushed.Manifest.Digest)
		}
	})

	t.Run("a different tarball is drift, left alone", func(t *testing.T) {
		pushed, err := hc.Push(other, ref)
		if err != nil {
			t.Fatalf("helm push: %v", err)
		}
		rep, res := syncReport(t, runOpts{}, cfg)
		if res.code != 2 || statuses(rep, 0)["1.0.0"] != "drifted" || rep.Report.Summary.ExitCode != 2 {
			t.Fatalf("exit %d, statuses %v\n%s", res.code, statuses(rep, 0), res.stderr)
		}
		if got := dst.Digest(t, ref); got != pushed.Manifest.Digest {
			t.Errorf("drift was overwritten without overwrite: %s", got)
		}
		res = run(t, runOpts{}, "sync", cfg, "--no-progress")
		if res.code != 2 || !strings.Contains(res.stdout, "! "+repo.URL()+"/demo:1.0.0 (drifted)") {
			t.Errorf("text: exit %d\n%s", res.code, res.stdout)
		}
		rep, res = syncReport(t, runOpts{}, cfg, "--dry-run", "--overwrite")
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "would-overwrite" {
			t.Errorf("dry-run overwrite: exit %d, statuses %v", res.code, statuses(rep, 0))
		}
		if got := dst.Digest(t, ref); got != pushed.Manifest.Digest {
			t.Errorf("dry-run wrote %s", got)
		}
	})

	t.Run("--overwrite replaces it with the source tarball", func(t *testing.T) {
		rep, res := syncReport(t, runOpts{}, cfg, "--overwrite")
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "overwritten" {
			t.Fatalf("exit %d, statuses %v\n%s", res.code, statuses(rep, 0), res.stderr)
		}
		p := assertHelmChart(t, "oci://"+ref, want, "demo", "1.0.0", "1.0.0")
		if len(p.manifest.Annotations) != 0 {
			t.Errorf("flux-mirror's manifest carries annotations %v; it must be deterministic", p.manifest.Annotations)
		}
		rep, res = syncReport(t, runOpts{}, cfg)
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "skipped" {
			t.Errorf("after overwrite: exit %d, statuses %v", res.code, statuses(rep, 0))
		}
	})
}

func TestChartSyncDestinationNotAChart(t *testing.T) {
	repo := helmtest.NewServer(t)
	tarball := repo.AddChart("demo", "1.0.0")
	dst := registrytest.NewDistribution(t)
	ref := dst.Host() + "/charts/demo:1.0.0"
	image := dst.PushRandomImage(t, ref, 1, 256)
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/charts", "")))

	rep, res := syncReport(t, runOpts{}, cfg, "--dry-run")
	if res.code != 1 || statuses(rep, 0)["1.0.0"] != "failed" {
		t.Errorf("dry-run: exit %d, statuses %v", res.code, statuses(rep, 0))
	}
	rep, res = syncReport(t, runOpts{}, cfg)
	tag := rep.Report.Results[0].Tags[0]
	if res.code != 1 || tag.Status != report.StatusFailed {
		t.Fatalf("exit %d, tag %+v", res.code, tag)
	}
	for _, want := range []string{ref, "is not a Helm chart", "overwrite"} {
		if !strings.Contains(tag.Error, want) {
			t.Errorf("error %q does not say %q", tag.Error, want)
		}
	}
	if strings.Contains(tag.Error, "attempts") {
		t.Errorf("a destination that is not a chart must not be retried: %s", tag.Error)
	}
	if got := dst.Digest(t, ref); got != image {
		t.Fatalf("the image was replaced without overwrite: %s", got)
	}

	rep, res = syncReport(t, runOpts{}, cfg, "--overwrite")
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "overwritten" {
		t.Fatalf("--overwrite: exit %d, statuses %v\n%s", res.code, statuses(rep, 0), res.stderr)
	}
	assertHelmChart(t, "oci://"+ref, tarball, "demo", "1.0.0", "1.0.0")
}

func TestChartSyncDryRunWouldCopy(t *testing.T) {
	repo := helmtest.NewServer(t)
	tarball := repo.AddChart("demo", "0.1.0")
	dst := registrytest.NewDistribution(t)
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/charts", "")))
	rep, res := syncReport(t, runOpts{}, cfg, "--dry-run")
	if res.code != 0 || rep.Report.Summary.WouldCopy != 1 || rep.Report.Summary.Copied != 0 {
		t.Fatalf("exit %d, summary %+v\n%s", res.code, rep.Report.Summary, res.stderr)
	}
	if tag := rep.Report.Results[0].Tags[0]; tag.Status != report.StatusWouldCopy || tag.Digest != sha256Of(tarball) {
		t.Errorf("tag %+v", tag)
	}
	if tags := dst.Tags(t, dst.Host()+"/charts/demo"); len(tags) != 0 {
		t.Errorf("dry-run pushed %v", tags)
	}
	if dst.HasBlob(t, dst.Host()+"/charts/demo", sha256Of(tarball)) {
		t.Error("dry-run uploaded the chart layer")
	}
}

func TestChartSyncHTTPSBasicAuth(t *testing.T) {
	const password = "chart-pass-7f3a"
	repo := helmtest.NewServer(t, helmtest.WithTLS(), helmtest.WithBasicAuth("alice", password))
	tarball := repo.AddChart("demo", "1.0.0")
	dst := registrytest.NewDistribution(t)
	config := func(dstPath string) string {
		return writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/"+dstPath, "")))
	}

	t.Run("credentials and CA from repositories.yaml", func(t *testing.T) {
		helmConfig := helmtest.WriteRepositoryConfig(t, repo.Entry("private"))
		rep, res := syncReport(t, runOpts{env: map[string]string{"HELM_REPOSITORY_CONFIG": helmConfig}}, config("ok"))
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
			t.Fatalf("exit %d, statuses %v\n%s", res.code, statuses(rep, 0), res.stderr)
		}
		assertHelmChart(t, "oci://"+dst.Host()+"/ok/demo:1.0.0", tarball, "demo", "1.0.0", "1.0.0")
	})

	t.Run("wrong password", func(t *testing.T) {
		e := repo.Entry("private")
		e.Password = "wrong-pass-91c2"
		env := map[string]string{"HELM_REPOSITORY_CONFIG": helmtest.WriteRepositoryConfig(t, e)}
		res := run(t, runOpts{env: env}, "sync", config("bad"), "--no-progress", "--verbose")
		if res.code != 1 || !strings.Contains(res.stdout, "✗ "+repo.URL()+"/demo — plan failed: ") {
			t.Fatalf("exit %d\n%s", res.code, res.stdout)
		}
		rep, res2 := syncReport(t, runOpts{env: env}, config("bad"))
		r := rep.Report.Results[0]
		if res2.code != 1 || r.Status != report.EntryFailed {
			t.Fatalf("exit %d, result %+v", res2.code, r)
		}
		for _, want := range []string{repo.URL(), "401", "private"} {
			if !strings.Contains(r.Error, want) {
				t.Errorf("error %q does not name %q", r.Error, want)
			}
		}
		for _, out := range []string{res.stdout, res.stderr, res2.stdout, res2.stderr} {
			if strings.Contains(out, "wrong-pass-91c2") || strings.Contains(out, password) {
				t.Fatalf("a password leaked into the output:\n%s", out)
			}
		}
		if dst.HasManifest(t, dst.Host()+"/bad/demo:1.0.0") {
			t.Error("a failed entry pushed a chart")
		}
	})

	t.Run("no repositories.yaml: the CA is unknown", func(t *testing.T) {
		rep, res := syncReport(t, runOpts{}, config("noca"))
		r := rep.Report.Results[0]
		if res.code != 1 || r.Status != report.EntryFailed || !strings.Contains(r.Error, repo.URL()) || !strings.Contains(r.Error, "certificate") {
			t.Errorf("exit %d, error %q", res.code, r.Error)
		}
	})
}

func TestChartSyncBadRepository(t *testing.T) {
	dst := registrytest.NewDistribution(t)
	tests := []struct {
		name  string
		setup func(*helmtest.Server)
		// chart is the name to mirror; "" means demo, the chart served.
		chart string
		// entry tells whether planning fails (else the version does).
		entry bool
		want  []string
	}{
		{
			name: "index is neither YAML nor JSON",
			setup: func(s *helmtest.Server) {
				s.SetRawIndex([]byte("<html><body>\n  <h1>Service Unavailable</h1>\n</body></html>\n"))
			},
			entry: true,
			want:  []string{"index.yaml", "classic Helm repository"},
		},
		{
			name:  "index is a YAML document but not an index",
			setup: func(s *helmtest.Server) { s.SetRawIndex([]byte("apiVersion: v1\nkind: ConfigMap\n")) },
			entry: true,
			want:  []string{"index.yaml", `no "entries"`},
		},
		{
			name:  "chart missing from the index",
			setup: func(*helmtest.Server) {},
			chart: "nginx",
			entry: true,
			want:  []string{`chart "nginx" is not in the index`, "it lists 1 chart"},
		},
		{
			name:  "tarball answers 404",
			setup: func(s *helmtest.Server) { s.DeleteTarball("demo", "1.0.0") },
			want:  []string{"demo-1.0.0.tgz", "404"},
		},
		{
			name:  "tarball digest disagrees with the index",
			setup: func(s *helmtest.Server) { s.CorruptDigest("demo", "1.0.0") },
			want:  []string{"demo-1.0.0.tgz", "digest mismatch", strings.Repeat("0", 64)},
		},
		{
			name:  "oversized index",
			setup: func(s *helmtest.Server) { s.PadIndex(64<<20 + 1) },
			entry: true,
			want:  []string{"index.yaml", "too large"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := helmtest.NewServer(t)
			repo.AddChart("demo", "1.0.0")
			tt.setup(repo)
			name := tt.chart
			if name == "" {
				name = "demo"
			}
			dstRepo := fmt.Sprintf("%s/case%d", dst.Host(), i)
			cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem(name, repo.URL(), "oci://"+dstRepo, "")))
			rep, res := syncReport(t, runOpts{}, cfg, "--retries", "1")
			if res.code != 1 || rep.Report.Summary.Failed != 1 || rep.Report.Summary.ExitCode != 1 {
				t.Fatalf("exit %d, summary %+v\n%s", res.code, rep.Report.Summary, res.stdout)
			}
			r := rep.Report.Results[0]
			msg := r.Error
			if tt.entry {
				if r.Status != report.EntryFailed || len(r.Tags) != 0 {
					t.Fatalf("planning must fail the entry: %+v", r)
				}
			} else {
				if r.Status != report.EntryCompleted || len(r.Tags) != 1 || r.Tags[0].Status != report.StatusFailed {
					t.Fatalf("the version must fail: %+v", r)
				}
				msg = r.Tags[0].Error
			}
			for _, want := range append([]string{repo.URL()}, tt.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			if tags := dst.Tags(t, dstRepo+"/"+name); len(tags) != 0 {
				t.Errorf("a failed entry pushed %v", tags)
			}
		})
	}
}

func TestChartSyncJSONIndex(t *testing.T) {
	repo := helmtest.NewServer(t, helmtest.WithJSONIndex(), helmtest.WithPathPrefix("/stable"))
	repo.AddChart("demo", "0.9.0")
	tarball := repo.AddChart("demo", "1.0.0", withAppVersion("v1"))
	dst := registrytest.NewDistribution(t)
	cfg := writeFile(t, t.TempDir(), "c.yaml", chartsConfig(chartItem("demo", repo.URL(), "oci://"+dst.Host()+"/charts", "    version: \">=1.0.0\"\n    limit: 0\n")))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	r := rep.Report.Results[0]
	if r.Source != repo.URL()+"/demo" || len(r.Tags) != 1 || r.Tags[0].Status != report.StatusCopied || r.Tags[0].Digest != sha256Of(tarball) {
		t.Fatalf("result %+v", r)
	}
	assertHelmChart(t, "oci://"+dst.Host()+"/charts/demo:1.0.0", tarball, "demo", "1.0.0", "v1")
}
