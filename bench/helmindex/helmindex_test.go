//go:build linux || darwin

package helmindex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo"
)

// Environment of the child process.
const (
	envChild   = "FLUX_MIRROR_HELMINDEX_CHILD" // the repository URL
	envChart   = "FLUX_MIRROR_HELMINDEX_CHART"
	envMaxSize = "FLUX_MIRROR_HELMINDEX_MAX"
)

// maxRSS is the peak resident set size allowed to the child.
const maxRSS = 128 << 20

// indexSize is the size of the valid generated indexes.
const indexSize = 64 << 20

// TestMain runs the child's work when the benchmark re-executes this test
// binary: read one chart's versions from the repository and print the
// outcome as JSON.
func TestMain(m *testing.M) {
	if repoURL := os.Getenv(envChild); repoURL != "" {
		os.Exit(child(repoURL))
	}
	os.Exit(m.Run())
}

// outcome is what the child reports.
type outcome struct {
	Versions int    `json:"versions"`
	Error    string `json:"error,omitempty"`
	// PeakRSS is the child's VmHWM in bytes (Linux), 0 where unknown.
	PeakRSS int64 `json:"peakRSS"`
}

func child(repoURL string) int {
	maxSize, _ := strconv.ParseInt(os.Getenv(envMaxSize), 10, 64)
	src, err := helmrepo.New(helmrepo.Options{
		RepositoryConfig: filepath.Join(os.TempDir(), "flux-mirror-helmindex-none", "repositories.yaml"),
		MaxIndexSize:     maxSize,
	})
	var out outcome
	if err == nil {
		var versions []struct{}
		vs, verr := src.ChartVersions(context.Background(), repoURL, os.Getenv(envChart))
		versions = make([]struct{}, len(vs))
		out.Versions, err = len(versions), verr
	}
	if err != nil {
		out.Error = err.Error()
	}
	out.PeakRSS = vmHWM()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return 2
	}
	return 0
}

// BenchmarkIndexRSS reads a chart's versions from each index in a child
// process and reports its peak RSS, failing over maxRSS or when the
// outcome is not the expected one.
func BenchmarkIndexRSS(b *testing.B) {
	yamlIndex, yamlVersions := generate(false)
	jsonIndex, jsonVersions := generate(true)
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		max      int64  // MaxIndexSize; 0 is the default (64 MiB)
		want     string // substring of the error; "" expects versions versions
		versions int
	}{
		{name: "valid-yaml-64MiB", handler: serve(yamlIndex), max: indexSize + 1<<20, versions: yamlVersions},
		{name: "valid-json-64MiB", handler: serve(jsonIndex), max: indexSize + 1<<20, versions: jsonVersions},
		{name: "alias-bomb", handler: serve(aliasBomb()), want: "alias"},
		{name: "oversized-300MiB", handler: stream(yamlIndex, 300<<20), want: "too large: more than the limit of 67108864 bytes"},
		{name: "endless-line", handler: endless(), want: "longer than 1048576 bytes"},
		{name: "endless-stream", handler: stream(yamlIndex, -1), want: "too large"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			for b.Loop() {
				out, rss, wall := runChild(b, srv.URL, c.max)
				switch {
				case c.want == "" && (out.Error != "" || out.Versions != c.versions):
					b.Fatalf("child read %d versions (error %q), want %d", out.Versions, out.Error, c.versions)
				case c.want != "" && !strings.Contains(out.Error, c.want):
					b.Fatalf("child error %q, want one containing %q", out.Error, c.want)
				}
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(wall.Seconds(), "s/read")
				if rss > maxRSS {
					b.Errorf("peak RSS %.1f MiB, over the %d MiB budget", float64(rss)/(1<<20), maxRSS>>20)
				}
			}
		})
	}
}

// runChild re-executes the test binary to read the chart "chart-0042"
// from repoURL and returns its outcome, peak RSS in bytes and wall time.
func runChild(b *testing.B, repoURL string, maxSize int64) (outcome, int64, time.Duration) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+repoURL, envChart+"=chart-0042", envMaxSize+"="+strconv.FormatInt(maxSize, 10))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("child: %v\n%s", err, stderr.String())
	}
	wall := time.Since(start)
	var out outcome
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		b.Fatalf("child output %q: %v", stdout.String(), err)
	}
	if out.PeakRSS > 0 {
		return out, out.PeakRSS, wall
	}
	// Without /proc: the rusage of the child (bytes on macOS), which on
	// Linux would also count the parent's pages shared until exec.
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok || runtime.GOOS == "linux" {
		b.Fatal("no peak RSS for the child")
	}
	return out, int64(ru.Maxrss), wall
}

// vmHWM returns this process's peak resident set size from
// /proc/self/status, or 0 without /proc.
func vmHWM() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kib << 10
			}
		}
	}
	return 0
}

// generate writes a valid index of about indexSize bytes, as Helm writes
// it (YAML, or JSON with WriteJSONFile's layout): 400 charts with
// realistic entries. It returns the index and how many versions
// chart-0042 has.
func generate(asJSON bool) ([]byte, int) {
	const charts = 400
	var entry bytes.Buffer
	var buf bytes.Buffer
	buf.Grow(indexSize + 1<<20)
	if asJSON {
		buf.WriteString("{\n  \"apiVersion\": \"v1\",\n  \"entries\": {\n")
	} else {
		buf.WriteString("apiVersion: v1\nentries:\n")
	}
	// Size one version entry to fill indexSize evenly.
	writeEntry(&entry, asJSON, "chart-0000", 0, 0)
	perVersion := entry.Len()
	versions := (indexSize - 4096) / perVersion / charts
	for c := range charts {
		name := fmt.Sprintf("chart-%04d", c)
		if asJSON {
			sep := ","
			if c == charts-1 {
				sep = ""
			}
			fmt.Fprintf(&buf, "    %q: [\n", name)
			for v := range versions {
				writeEntry(&buf, true, name, v, versions)
			}
			fmt.Fprintf(&buf, "    ]%s\n", sep)
			continue
		}
		fmt.Fprintf(&buf, "  %s:\n", name)
		for v := range versions {
			writeEntry(&buf, false, name, v, versions)
		}
	}
	if asJSON {
		buf.WriteString("  },\n  \"generated\": \"2026-01-01T00:00:00Z\"\n}\n")
	} else {
		buf.WriteString("generated: \"2026-01-01T00:00:00Z\"\nserverInfo: {}\n")
	}
	return buf.Bytes(), versions
}

func writeEntry(w *bytes.Buffer, asJSON bool, name string, v, of int) {
	version := fmt.Sprintf("%d.%d.%d", v/100, v%100, v%7)
	digest := fmt.Sprintf("%064x", uint64(v)*2654435761+uint64(len(name))*977)
	desc := "A Helm chart for Kubernetes that deploys " + name + " with sensible defaults, monitoring and autoscaling"
	if asJSON {
		sep := ","
		if v == of-1 {
			sep = ""
		}
		fmt.Fprintf(w, `      {"annotations": {"category": "Infrastructure", "licenses": "Apache-2.0"}, "apiVersion": "v2", "appVersion": %q, "created": "2026-01-01T00:00:00.000000000Z", "description": %q, "digest": %q, "home": "https://example.com/%s", "icon": "https://example.com/%s.svg", "keywords": ["kubernetes", "infrastructure", %q], "maintainers": [{"name": "Example Maintainers", "url": "https://example.com/team"}], "name": %q, "sources": ["https://github.com/example/%s"], "urls": ["https://charts.example.com/%s-%s.tgz"], "version": %q}%s`+"\n",
			version, desc, digest, name, name, name, name, name, name, version, version, sep)
		return
	}
	fmt.Fprintf(w, `  - annotations:
      category: Infrastructure
      licenses: Apache-2.0
    apiVersion: v2
    appVersion: %s
    created: "2026-01-01T00:00:00.000000000Z"
    description: %s
    digest: %s
    home: https://example.com/%s
    icon: https://example.com/%s.svg
    keywords:
    - kubernetes
    - infrastructure
    - %s
    maintainers:
    - name: Example Maintainers
      url: https://example.com/team
    name: %s
    sources:
    - https://github.com/example/%s
    urls:
    - https://charts.example.com/%s-%s.tgz
    version: %s
`, version, desc, digest, name, name, name, name, name, name, version, version)
}

// aliasBomb is a small index whose chart-0042 entry expands nine levels of
// ten aliases (a billion strings).
func aliasBomb() []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n  chart-0042:\n  - l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "    l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	b.WriteString("    version: 1.0.0\n")
	return []byte(b.String())
}

// serve serves index as index.yaml with a Content-Length.
func serve(index []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/index.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(index)))
		_, _ = w.Write(index)
	}
}

// stream serves a valid-looking index of size bytes (forever if size < 0)
// without a Content-Length: the index's header and its entries, repeated.
func stream(index []byte, size int64) http.HandlerFunc {
	body := index[:bytes.LastIndex(index, []byte("\ngenerated:"))+1]
	head := bytes.Index(body, []byte("  chart-"))
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/index.yaml" {
			http.NotFound(w, r)
			return
		}
		n, err := w.Write(body)
		for written := int64(n); err == nil && (size < 0 || written < size); written += int64(n) {
			n, err = w.Write(body[head:])
		}
	}
}

// endless serves an index whose last line never ends.
func endless() http.HandlerFunc {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/index.yaml" {
			http.NotFound(w, r)
			return
		}
		_, err := io.WriteString(w, "apiVersion: v1\nentries:\n  chart-0042:\n  - version: 1.0.0\n    description: ")
		for err == nil {
			_, err = w.Write(chunk)
		}
	}
}
