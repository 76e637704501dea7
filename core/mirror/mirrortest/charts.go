package mirrortest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// Methods of the chart source, as counted.
const (
	ChartVersions = "ChartVersions"
	DownloadChart = "DownloadChart"
)

// Charts is an in-memory set of Helm repositories implementing
// mirror.ChartSource. Charts are real gzipped tarballs holding a
// Chart.yaml.
type Charts struct {
	mu     sync.Mutex
	repos  map[string]map[string][]*chart // repo URL → name → versions
	counts map[string]int

	// Hook, if set, runs at the start of every call (after it is counted)
	// with the method and the repository URL; an error it returns is the
	// call's result, e.g. an injected outage.
	Hook func(method, repoURL string) error
}

type chart struct {
	version    string
	tarball    []byte
	configJSON []byte
	withDigest bool
	// announced, if set, is the digest the index claims instead of the real one.
	announced string
}

var _ mirror.ChartSource = (*Charts)(nil)

// NewCharts returns an empty chart source.
func NewCharts() *Charts {
	return &Charts{repos: map[string]map[string][]*chart{}, counts: map[string]int{}}
}

// Add publishes version of chart name in the repository at repoURL, with a
// tarball whose content depends on name, version and extra. withDigest says
// whether the index announces the tarball's digest. It returns the sha256
// digest of the tarball.
func (c *Charts) Add(repoURL, name, version, extra string, withDigest bool) string {
	tgz := ChartTarball(name, version, extra)
	cfg, _ := json.Marshal(map[string]string{"apiVersion": "v2", "name": name, "version": version, "description": extra})
	c.mu.Lock()
	defer c.mu.Unlock()
	key := strings.TrimRight(repoURL, "/")
	if c.repos[key] == nil {
		c.repos[key] = map[string][]*chart{}
	}
	list := c.repos[key][name]
	list = slices.DeleteFunc(list, func(ch *chart) bool { return ch.version == version })
	c.repos[key][name] = append(list, &chart{version: version, tarball: tgz, configJSON: cfg, withDigest: withDigest})
	return oci.Digest(tgz)
}

// Announce makes the index claim digest (sha256:…) for a version, to
// simulate an index that disagrees with its tarball.
func (c *Charts) Announce(repoURL, name, version, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.repos[strings.TrimRight(repoURL, "/")][name] {
		if ch.version == version {
			ch.announced, ch.withDigest = digest, true
		}
	}
}

// Count returns how many calls of method (ChartVersions, DownloadChart)
// were made.
func (c *Charts) Count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method]
}

// ChartVersions implements mirror.ChartIndexReader.
func (c *Charts) ChartVersions(ctx context.Context, repoURL, name string) ([]mirror.ChartVersion, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[ChartVersions]++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Hook != nil {
		if err := c.Hook(ChartVersions, repoURL); err != nil {
			return nil, err
		}
	}
	key := strings.TrimRight(repoURL, "/")
	repo, ok := c.repos[key]
	if !ok {
		return nil, &core.HTTPError{Method: "GET", URL: key + "/index.yaml", StatusCode: 404}
	}
	list, ok := repo[name]
	if !ok {
		return nil, fmt.Errorf("%w: chart %q is not in the index of %s", core.ErrNotFound, name, key)
	}
	out := make([]mirror.ChartVersion, 0, len(list))
	for _, ch := range list {
		v := mirror.ChartVersion{Name: name, Version: ch.version, URLs: []string{key + "/" + name + "-" + ch.version + ".tgz"}}
		if ch.withDigest {
			v.Digest = strings.TrimPrefix(oci.Digest(ch.tarball), "sha256:")
			if ch.announced != "" {
				v.Digest = strings.TrimPrefix(ch.announced, "sha256:")
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// DownloadChart implements mirror.ChartDownloader.
func (c *Charts) DownloadChart(ctx context.Context, repoURL string, v mirror.ChartVersion) (mirror.ChartPackage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[DownloadChart]++
	if err := ctx.Err(); err != nil {
		return mirror.ChartPackage{}, err
	}
	if c.Hook != nil {
		if err := c.Hook(DownloadChart, repoURL); err != nil {
			return mirror.ChartPackage{}, err
		}
	}
	for _, ch := range c.repos[strings.TrimRight(repoURL, "/")][v.Name] {
		if ch.version == v.Version {
			return mirror.ChartPackage{Tarball: bytes.Clone(ch.tarball), ConfigJSON: bytes.Clone(ch.configJSON)}, nil
		}
	}
	return mirror.ChartPackage{}, &core.HTTPError{Method: "GET", URL: strings.Join(v.URLs, ","), StatusCode: 404}
}

// ChartTarball returns a deterministic gzipped chart tarball holding
// <name>/Chart.yaml.
func ChartTarball(name, version, extra string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := []byte(fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\ndescription: %q\n", name, version, extra))
	hdr := &tar.Header{Name: name + "/Chart.yaml", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		panic(err)
	}
	if _, err := tw.Write(body); err != nil {
		panic(err)
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := gz.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Verifier is a signature verifier with programmed outcomes per digest. A
// digest without one fails verification ("no matching signature").
type Verifier struct {
	mu      sync.Mutex
	results map[string]verifyResult
	calls   int
}

type verifyResult struct {
	v   mirror.Verification
	err error
}

var _ mirror.Verifier = (*Verifier)(nil)

// NewVerifier returns a Verifier that accepts nothing yet.
func NewVerifier() *Verifier {
	return &Verifier{results: map[string]verifyResult{}}
}

// Accept makes digest verify, with a signature integrated at the given time.
func (f *Verifier) Accept(digest, identity string, integrated time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[digest] = verifyResult{v: mirror.Verification{
		Provider: "cosign", Issuer: "https://token.actions.githubusercontent.com", Identity: identity, IntegratedTime: integrated,
	}}
}

// Reject makes digest fail verification with err.
func (f *Verifier) Reject(digest string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results[digest] = verifyResult{err: err}
}

// Calls returns how many verifications were asked for.
func (f *Verifier) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Verify implements mirror.Verifier.
func (f *Verifier) Verify(ctx context.Context, repo oci.Repository, digest string, policy mirror.VerifyPolicy) (mirror.Verification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := ctx.Err(); err != nil {
		return mirror.Verification{}, err
	}
	r, ok := f.results[digest]
	if !ok {
		// A verdict, not a transient failure: marked so it is not retried.
		return mirror.Verification{}, retry.Permanent(fmt.Errorf("no signature of %s@%s matches the policy", repo, digest))
	}
	return r.v, r.err
}
