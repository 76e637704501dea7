// Command demo (tools/demo) runs flux-mirror's main job end to end on this
// machine with nothing but Go: it starts two CNCF distribution registries and
// a Helm repository on loopback, seeds the source with a multi-arch image, a
// few tags and a Flux-style artifact, runs a real `flux-mirror sync`, runs it
// again (everything is skipped), and prints the report. `make demo` runs it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sirupsen/logrus"
)

func main() {
	bin := flag.String("bin", "bin/flux-mirror", "flux-mirror binary to run")
	keep := flag.Bool("keep", false, "keep the registries running until Ctrl-C after the demo")
	flag.Parse()
	if err := run(*bin, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "✗ demo: %v\n", err)
		os.Exit(1)
	}
}

func run(bin string, keep bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s not found: run `make build` first (make demo does)", bin)
	}
	dir, err := os.MkdirTemp("", "flux-mirror-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	src, err := startRegistry(ctx, filepath.Join(dir, "src"))
	if err != nil {
		return err
	}
	dst, err := startRegistry(ctx, filepath.Join(dir, "dst"))
	if err != nil {
		return err
	}
	charts, err := startHelmRepo("podinfo", "6.5.0", "6.6.0", "6.7.0+build.1")
	if err != nil {
		return err
	}
	step("source registry %s, destination registry %s, Helm repository %s", src, dst, charts)

	step("seeding %s/demo/podinfo with a multi-arch image under tags 6.5.0, 6.5.1, 6.6.0, 7.0.0-rc.1 and a Flux artifact", src)
	if err := seed(src); err != nil {
		return fmt.Errorf("seed the source registry: %w", err)
	}

	cfgPath := filepath.Join(dir, "flux-mirror.yaml")
	cfg := fmt.Sprintf(`apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
artifacts:
  - source: %[1]s/demo/podinfo
    destination: %[2]s/mirror/podinfo
    selector:
      semver: ">=6.5.0 <7.0.0"
      limit: 0
  - source: %[1]s/demo/manifests
    destination: %[2]s/mirror/manifests
    selector:
      regex:
        pattern: '^main-[0-9a-f]+-(?P<ts>\d+)$'
        extract: '$ts'
      sortBy: numerical
      limit: 2
charts:
  - name: podinfo
    source: %[3]s
    destination: oci://%[2]s/charts
    version: "6.x"
    limit: 2
`, src, dst, charts)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	step("the config (%s):\n\n%s", cfgPath, indent(cfg))

	step("flux-mirror sync: the first run copies")
	if code := runCLI(ctx, bin, dir, "sync", cfgPath, "--no-progress"); code != 0 {
		return fmt.Errorf("first sync exited %d", code)
	}
	step("flux-mirror sync again: nothing changed upstream, so every tag is skipped (one tag list per entry, one HEAD per tag per side)")
	if code := runCLI(ctx, bin, dir, "sync", cfgPath, "-o", "yaml"); code != 0 {
		return fmt.Errorf("second sync exited %d", code)
	}
	step("checking the mirror with go-containerregistry: every destination digest equals its source digest")
	for _, tag := range []string{"6.5.0", "6.5.1", "6.6.0"} {
		s, err := digestOf(src + "/demo/podinfo:" + tag)
		if err != nil {
			return err
		}
		d, err := digestOf(dst + "/mirror/podinfo:" + tag)
		if err != nil {
			return err
		}
		if s != d {
			return fmt.Errorf("podinfo:%s: destination %s differs from source %s", tag, d, s)
		}
		fmt.Printf("  ✔ podinfo:%s %s\n", tag, s)
	}
	if keep {
		step("registries keep running; press Ctrl-C to stop")
		select {}
	}
	step("done")
	return nil
}

func step(format string, args ...any) {
	fmt.Printf("\n▶ "+format+"\n", args...)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

func runCLI(ctx context.Context, bin, dir string, args ...string) int {
	fmt.Printf("$ flux-mirror %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// An empty Docker config: the demo registries need no credentials.
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir, "HELM_REPOSITORY_CONFIG="+filepath.Join(dir, "repositories.yaml"))
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "✗ %v\n", err)
		return 1
	}
	return 0
}

// startRegistry serves a CNCF distribution registry with filesystem storage
// on a random loopback port and returns its host:port.
func startRegistry(ctx context.Context, root string) (string, error) {
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": root}}
	cfg.HTTP.Secret = "flux-mirror-demo"
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	// NewApp leaves logging to its caller; the demo keeps the registries quiet.
	logrus.SetOutput(io.Discard)
	app := handlers.NewApp(ctx, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, app) //nolint:errcheck // ends with the process
	return ln.Addr().String(), nil
}

func digestOf(ref string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(r)
	if err != nil {
		return "", fmt.Errorf("head %s: %w", ref, err)
	}
	return d.Digest.String(), nil
}

// seed pushes a multi-arch image whose platforms share a base layer under
// four tags (each tag a distinct index), and two Flux-style artifacts.
func seed(host string) error {
	base, err := random.Layer(2<<20, types.OCILayer)
	if err != nil {
		return err
	}
	for _, tag := range []string{"6.5.0", "6.5.1", "6.6.0", "7.0.0-rc.1"} {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, arch := range []string{"amd64", "arm64"} {
			img, err := random.Image(512<<10, 1)
			if err != nil {
				return err
			}
			img, err = mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1), base)
			if err != nil {
				return err
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		}
		ref, err := name.ParseReference(host+"/demo/podinfo:"+tag, name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(ref, idx); err != nil {
			return err
		}
	}
	for i, tag := range []string{"main-3f2a9c1-1700000000", "main-8b7e6d5-1700003600", "main-1c2d3e4-1700007200"} {
		layer := static.NewLayer([]byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo-%d\n", i)), "application/vnd.cncf.flux.content.v1.tar+gzip")
		img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, "application/vnd.cncf.flux.config.v1+json"), types.OCIManifestSchema1), layer)
		if err != nil {
			return err
		}
		ref, err := name.ParseReference(host+"/demo/manifests:"+tag, name.Insecure)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img); err != nil {
			return err
		}
	}
	return nil
}

// startHelmRepo serves a classic Helm repository (index.yaml and chart
// tarballs) with the given chart versions on loopback.
func startHelmRepo(chartName string, versions ...string) (string, error) {
	files := map[string][]byte{}
	var entries strings.Builder
	fmt.Fprintf(&entries, "  %s:\n", chartName)
	for _, v := range versions {
		tgz, err := packageChart(chartName, v)
		if err != nil {
			return "", err
		}
		file := fmt.Sprintf("%s-%s.tgz", chartName, v)
		files["/"+file] = tgz
		sum := sha256.Sum256(tgz)
		fmt.Fprintf(&entries, "    - apiVersion: v2\n      name: %s\n      version: %s\n      appVersion: %q\n      digest: %s\n      created: \"2026-01-02T03:04:05Z\"\n      urls:\n        - %s\n",
			chartName, v, v, hex.EncodeToString(sum[:]), file)
	}
	files["/index.yaml"] = []byte("apiVersion: v1\nentries:\n" + entries.String() + "generated: \"2026-01-02T03:04:05Z\"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { //nolint:errcheck // ends with the process
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(b))
	}))
	return "http://" + ln.Addr().String(), nil
}

// packageChart writes a minimal chart as `helm package` lays it out: a
// gzipped tar with <name>/Chart.yaml, values.yaml and a template.
func packageChart(chartName, version string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := []struct{ path, body string }{
		{"Chart.yaml", fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %q\ndescription: A demo chart mirrored by flux-mirror\ntype: application\n", chartName, version, version)},
		{"values.yaml", "replicaCount: 1\n"},
		{"templates/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"},
	}
	for _, f := range files {
		hdr := &tar.Header{Name: chartName + "/" + f.path, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
