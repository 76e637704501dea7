package helmrepo_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v3/pkg/chart"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo"
	"github.com/fluxcd/flux-mirror/adapters/helmrepo/helmtest"
)

// TestConfigJSONMatchesHelmPush pushes each downloaded tarball with Helm's
// own registry client (`helm push`) to a real in-process OCI registry, pulls
// it back with Helm, and requires the config blob Helm wrote to be
// byte-for-byte the ConfigJSON the Source produced.
func TestConfigJSONMatchesHelmPush(t *testing.T) {
	t.Parallel()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	client, err := helmregistry.NewClient(
		helmregistry.ClientOptPlainHTTP(),
		helmregistry.ClientOptWriter(io.Discard),
		helmregistry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")),
	)
	if err != nil {
		t.Fatal(err)
	}

	srv := helmtest.NewServer(t)
	charts := []struct {
		name, version string
		opts          []helmtest.ChartOption
	}{
		{name: "minimal", version: "0.1.0", opts: []helmtest.ChartOption{helmtest.WithMetadata(func(m *chart.Metadata) {
			*m = chart.Metadata{APIVersion: chart.APIVersionV2, Name: m.Name, Version: m.Version}
		})}},
		{name: "build-meta", version: "1.2.3+build.1"},
		{name: "prerelease", version: "2.0.0-rc.1"},
		{name: "rich", version: "6.10.2", opts: []helmtest.ChartOption{helmtest.WithMetadata(func(m *chart.Metadata) {
			m.Home = "https://example.com/<home>?a=1&b=2"
			m.Sources = []string{"https://github.com/example/rich"}
			m.Description = "Unicode ünïcödé, HTML <b>&</b>, quotes \" and a\ttab\nnewline"
			m.Keywords = []string{"b", "a"}
			m.Maintainers = []*chart.Maintainer{{Name: "Jane", Email: "jane@example.com", URL: "https://example.com"}, {Name: "Joe"}}
			m.Icon = "https://example.com/icon.png"
			m.AppVersion = "v6.10.2"
			m.KubeVersion = ">=1.25.0-0"
			m.Deprecated = true
			m.Annotations = map[string]string{"z": "last", "a": "first", "artifacthub.io/changes": "- kind: added\n  description: x\n"}
			m.Dependencies = []*chart.Dependency{{Name: "redis", Version: "17.x", Repository: "https://charts.example.com", Condition: "redis.enabled", Tags: []string{"cache"}, Alias: "cache", ImportValues: []any{"data", map[string]any{"child": "c", "parent": "p"}}}}
			m.Type = "library"
		})}},
		{name: "legacy", version: "0.0.1", opts: []helmtest.ChartOption{
			helmtest.WithMetadata(func(m *chart.Metadata) { m.APIVersion, m.Type = chart.APIVersionV1, "" }),
			helmtest.WithFile("requirements.yaml", []byte("dependencies:\n- name: sub\n  version: ~1.2\n  repository: '@stable'\n")),
		}},
	}
	for _, c := range charts {
		srv.AddChart(c.name, c.version, c.opts...)
	}
	src := newSource(t, helmrepo.Options{})
	ctx := context.Background()
	for _, c := range charts {
		t.Run(c.name, func(t *testing.T) {
			versions, err := src.ChartVersions(ctx, srv.URL(), c.name)
			if err != nil {
				t.Fatal(err)
			}
			pkg, err := src.DownloadChart(ctx, srv.URL(), versions[0])
			if err != nil {
				t.Fatal(err)
			}
			ref := host + "/charts/" + c.name + ":" + c.version
			pushed, err := client.Push(pkg.Tarball, ref)
			if err != nil {
				t.Fatalf("helm push: %v", err)
			}
			if want := "sha256:" + sha256Hex(pkg.ConfigJSON); pushed.Config.Digest != want || pushed.Config.Size != int64(len(pkg.ConfigJSON)) {
				t.Errorf("helm pushed config %s (%d bytes), ConfigJSON is %s (%d bytes)", pushed.Config.Digest, pushed.Config.Size, want, len(pkg.ConfigJSON))
			}
			pulled, err := client.Pull(ref)
			if err != nil {
				t.Fatalf("helm pull: %v", err)
			}
			if !bytes.Equal(pulled.Config.Data, pkg.ConfigJSON) {
				t.Errorf("config blob differs:\nhelm: %s\nours: %s", pulled.Config.Data, pkg.ConfigJSON)
			}
			if !bytes.Equal(pulled.Chart.Data, pkg.Tarball) {
				t.Error("chart layer differs from the tarball")
			}
		})
	}
}
