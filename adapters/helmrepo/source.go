package helmrepo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// Default size limits.
const (
	// DefaultMaxIndexSize bounds an index.yaml: 64 MiB is several times the
	// largest public indexes (tens of thousands of versions).
	DefaultMaxIndexSize int64 = 64 << 20
	// DefaultMaxChartSize bounds a chart tarball: 32 MiB is far above real
	// charts, and Helm itself refuses charts that decompress beyond 100 MiB.
	DefaultMaxChartSize int64 = 32 << 20
)

// Options configure a Source. The zero value is usable.
type Options struct {
	// RepositoryConfig is the path of Helm's repositories.yaml. Empty means
	// $HELM_REPOSITORY_CONFIG, else Helm's default (DefaultRepositoryConfig).
	// A file that does not exist means no credentials.
	RepositoryConfig string
	// HTTPClient sends every request; nil means a client on a clone of
	// http.DefaultTransport. When a repository needs TLS settings (caFile,
	// certFile, insecure_skip_tls_verify, Insecure), its transport must be
	// nil or an *http.Transport, which is cloned.
	HTTPClient *http.Client
	// Insecure skips TLS certificate verification for every repository
	// (development only). Plain http:// repositories work without it.
	Insecure bool
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// MaxIndexSize bounds an index.yaml, in bytes; 0 means DefaultMaxIndexSize.
	MaxIndexSize int64
	// MaxChartSize bounds a chart tarball, in bytes; 0 means DefaultMaxChartSize.
	MaxChartSize int64
	// UserAgent is sent with every request; empty keeps Go's default.
	UserAgent string
}

// Source reads charts from classic HTTP/S Helm repositories. It fetches each
// repository's index once (concurrent callers share one request) and keeps
// it for the Source's lifetime, which is meant to be one run. It is safe for
// concurrent use.
type Source struct {
	log          *slog.Logger
	base         *http.Client
	insecure     bool
	maxIndex     int64
	maxChart     int64
	maxPart      int
	userAgent    string
	configPath   string
	repositories []*repoEntry

	mu      sync.Mutex
	indexes map[string]*indexCall    // by repoKey
	clients map[string]*clientsEntry // by repoKey
}

var _ mirror.ChartSource = (*Source)(nil)

// indexCall is one index fetch that concurrent callers share.
type indexCall struct {
	done chan struct{}
	idx  *cachedIndex
	err  error
}

type clientsEntry struct {
	once sync.Once
	rc   *repoClients
	err  error
}

// New returns a Source. It reads the repositories.yaml once, here: a file
// that is missing holds no credentials; one that cannot be parsed is an
// error naming it.
func New(opts Options) (*Source, error) {
	if opts.MaxIndexSize < 0 || opts.MaxChartSize < 0 {
		return nil, fmt.Errorf("helm repository size limits must not be negative (index %d, chart %d); 0 means the default", opts.MaxIndexSize, opts.MaxChartSize)
	}
	s := &Source{
		log:        opts.Logger,
		base:       opts.HTTPClient,
		insecure:   opts.Insecure,
		maxIndex:   opts.MaxIndexSize,
		maxChart:   opts.MaxChartSize,
		maxPart:    DefaultMaxIndexPart,
		userAgent:  opts.UserAgent,
		configPath: repositoryConfigPath(opts.RepositoryConfig),
		indexes:    map[string]*indexCall{},
		clients:    map[string]*clientsEntry{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.base == nil {
		s.base = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if s.maxIndex == 0 {
		s.maxIndex = DefaultMaxIndexSize
	}
	if s.maxChart == 0 {
		s.maxChart = DefaultMaxChartSize
	}
	var err error
	if s.repositories, err = loadRepositoryConfig(s.configPath); err != nil {
		return nil, err
	}
	s.log.Debug("loaded Helm repositories config", "path", s.configPath, "repositories", len(s.repositories))
	return s, nil
}

// RepositoryConfig returns the path of the repositories.yaml the Source
// read credentials from ("" if none could be determined).
func (s *Source) RepositoryConfig() string { return s.configPath }

// ChartVersions returns every version of the named chart listed in the
// repository's index, in index order, with raw version strings and URLs
// resolved against repoURL. A chart absent from the index wraps
// core.ErrNotFound.
//
// The index is streamed, not held: the first call for a repository reads
// it from the network, keeping the versions of its chart and a compressed
// copy of the index, from which later calls for other charts read theirs.
func (s *Source) ChartVersions(ctx context.Context, repoURL, name string) ([]mirror.ChartVersion, error) {
	repo, err := parseRepoURL(repoURL)
	if err != nil {
		return nil, retry.Permanent(err)
	}
	scan, idx, err := s.index(ctx, repo, name)
	if err != nil {
		return nil, err
	}
	if !scan.found {
		return nil, fmt.Errorf("chart %q is not in the index %s%s: %w", name, core.RedactedURL(idx.url), suggest(scan, name), core.ErrNotFound)
	}
	out := make([]mirror.ChartVersion, len(scan.versions))
	for i, v := range scan.versions {
		v.URLs = slices.Clone(v.URLs)
		out[i] = v
	}
	return out, nil
}

// suggest names charts whose names differ from name only by case, or
// counts the charts, to help fix a typo.
func suggest(scan *chartScan, name string) string {
	if len(scan.similar) > 0 {
		similar := slices.Clone(scan.similar)
		sort.Strings(similar)
		return fmt.Sprintf(" (did you mean %q?)", similar[0])
	}
	if scan.charts == 1 {
		return " (it lists 1 chart)"
	}
	return fmt.Sprintf(" (it lists %d charts)", scan.charts)
}

// index returns what the repository's index holds for the chart name,
// fetching the index on first use. Concurrent callers for the same
// repository share one fetch. A failed fetch is not kept, so a later call (a
// retry) fetches again; a caller whose fetch was abandoned because another
// caller's context ended fetches itself.
func (s *Source) index(ctx context.Context, repo *url.URL, name string) (*chartScan, *cachedIndex, error) {
	key := repoKey(repo)
	for {
		s.mu.Lock()
		call, shared := s.indexes[key]
		if !shared {
			call = &indexCall{done: make(chan struct{})}
			s.indexes[key] = call
		}
		s.mu.Unlock()

		if !shared {
			var scan *chartScan
			call.idx, scan, call.err = s.fetchIndex(ctx, repo, name)
			if call.err != nil {
				s.mu.Lock()
				delete(s.indexes, key)
				s.mu.Unlock()
			}
			close(call.done)
			return scan, call.idx, call.err
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("wait for the index of Helm repository %s: %w", core.RedactedURL(repo), context.Cause(ctx))
		}
		if call.err == nil {
			scan, err := call.idx.chart(name, repo, s.maxPart)
			return scan, call.idx, err
		}
		if ctx.Err() == nil && (errors.Is(call.err, context.Canceled) || errors.Is(call.err, context.DeadlineExceeded)) {
			continue
		}
		return nil, nil, call.err
	}
}

// fetchIndex streams a repository's index.yaml through the reader of the
// chart name, keeping a compressed copy for the other charts.
func (s *Source) fetchIndex(ctx context.Context, repo *url.URL, name string) (*cachedIndex, *chartScan, error) {
	rc, err := s.repoClients(repo)
	if err != nil {
		return nil, nil, err
	}
	indexURL, err := url.Parse(mustResolve(repo, "index.yaml"))
	if err != nil {
		return nil, nil, retry.Permanent(fmt.Errorf("index URL of Helm repository %s: %w", core.RedactedURL(repo), err))
	}
	s.log.Debug("fetching Helm repository index", "url", core.RedactedURL(indexURL), "credentials", rc.entry.hasCredentials())
	body, err := s.open(ctx, request{client: rc.client, url: indexURL, limit: s.maxIndex})
	if err != nil {
		return nil, nil, fmt.Errorf("%w%s", err, s.hint(err, rc.entry, repo))
	}
	defer body.Close()
	idx := &cachedIndex{url: indexURL, scans: map[string]scanResult{}}
	copyTo, err := gzip.NewWriterLevel(&idx.gz, gzip.BestSpeed)
	if err != nil {
		return nil, nil, fmt.Errorf("compress index: %w", err)
	}
	scan, err := scanIndex(io.TeeReader(body, copyTo), repo, name, s.maxPart)
	if err == nil {
		err = copyTo.Close()
	}
	if err != nil {
		if rerr := body.err; rerr != nil {
			// The transfer failed (or went over the limit), not the index.
			return nil, nil, fmt.Errorf("GET %s: %w", core.RedactedURL(indexURL), rerr)
		}
		// The repository answered with content that is not an index (or
		// one this reader refuses): asking again cannot help.
		return nil, nil, retry.Permanent(fmt.Errorf("read %s: %w; check that the URL points at a classic Helm repository that serves index.yaml", core.RedactedURL(indexURL), err))
	}
	idx.scans[name] = scanResult{scan: scan}
	s.log.Debug("fetched Helm repository index", "url", core.RedactedURL(indexURL), "bytes", body.n, "compressed", idx.gz.Len(), "charts", scan.charts)
	return idx, scan, nil
}

// cachedIndex is a repository's index kept for the Source's lifetime: a
// gzip copy of its bytes and what was read from it for each chart asked.
type cachedIndex struct {
	url *url.URL
	gz  bytes.Buffer

	mu    sync.Mutex
	scans map[string]scanResult
}

type scanResult struct {
	scan *chartScan
	err  error
}

// chart returns what the index holds for the chart name, reading the
// compressed copy on the first call for that name.
func (c *cachedIndex) chart(name string, repo *url.URL, maxPart int) (*chartScan, error) {
	c.mu.Lock()
	r, ok := c.scans[name]
	c.mu.Unlock()
	if ok {
		return r.scan, r.err
	}
	zr, err := gzip.NewReader(bytes.NewReader(c.gz.Bytes()))
	if err == nil {
		r.scan, err = scanIndex(zr, repo, name, maxPart)
	}
	if err != nil {
		r.err = retry.Permanent(fmt.Errorf("read %s: %w", core.RedactedURL(c.url), err))
	}
	c.mu.Lock()
	c.scans[name] = r
	c.mu.Unlock()
	return r.scan, r.err
}

// mustResolve resolves a reference that always parses.
func mustResolve(base *url.URL, ref string) string {
	u, err := resolveReference(base, ref)
	if err != nil {
		panic(err) // ref is a constant relative path
	}
	return u
}

// hint tells how to fix an HTTP failure of a repository.
func (s *Source) hint(err error, e *repoEntry, repo *url.URL) string {
	var he *core.HTTPError
	if !errors.As(err, &he) {
		return ""
	}
	config := s.configPath
	if config == "" {
		config = "Helm's repositories.yaml"
	}
	switch he.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if e.hasCredentials() {
			return fmt.Sprintf(" (the credentials of repository %q in %s were rejected; update them with 'helm repo add %s %s --username <user> --password-stdin --force-update')", e.Name, config, e.Name, core.RedactedURL(repo))
		}
		return fmt.Sprintf(" (no credentials for this repository in %s; add them with 'helm repo add <name> %s --username <user> --password-stdin')", config, core.RedactedURL(repo))
	case http.StatusNotFound:
		if strings.HasSuffix(he.URL, "/index.yaml") {
			return " (is this the URL of a classic Helm repository? it must serve index.yaml)"
		}
	}
	return ""
}

// repoClients returns the HTTP clients for a repository, built once.
func (s *Source) repoClients(repo *url.URL) (*repoClients, error) {
	key := repoKey(repo)
	s.mu.Lock()
	ce, ok := s.clients[key]
	if !ok {
		ce = &clientsEntry{}
		s.clients[key] = ce
	}
	s.mu.Unlock()
	ce.once.Do(func() {
		ce.rc, ce.err = newRepoClients(s.base, s.insecure, repo, findEntry(s.repositories, repo), s.configPath)
	})
	return ce.rc, ce.err
}

// DownloadChart downloads a chart version from the first of its URLs, checks
// it against the index (sha256 digest, chart name and version in
// Chart.yaml), and returns the tarball unchanged with its Helm OCI config
// blob. Credentials go to repoURL's own origin only (on every redirect
// hop), unless its repositories.yaml entry sets pass_credentials_all.
//
// Errors name the URL and the cause, not the chart and version: the caller
// says which chart it was downloading. Failures that another attempt cannot
// fix (a malformed or non-HTTP URL, a 4xx other than 408 and 429, a TLS
// certificate error, a redirect loop, a digest mismatch, content that is
// not a chart) are marked permanent (retry.Permanent or a core sentinel).
func (s *Source) DownloadChart(ctx context.Context, repoURL string, v mirror.ChartVersion) (mirror.ChartPackage, error) {
	repo, err := parseRepoURL(repoURL)
	if err != nil {
		return mirror.ChartPackage{}, retry.Permanent(err)
	}
	if len(v.URLs) == 0 {
		return mirror.ChartPackage{}, retry.Permanent(fmt.Errorf("the index of Helm repository %s lists no URL for this version", core.RedactedURL(repo)))
	}
	raw, err := resolveReference(repo, v.URLs[0])
	if err != nil {
		return mirror.ChartPackage{}, retry.Permanent(err)
	}
	chartURL, err := url.Parse(raw)
	if err != nil {
		return mirror.ChartPackage{}, retry.Permanent(fmt.Errorf("parse chart URL %s: %w", core.RedactURL(raw), err))
	}
	if chartURL.Scheme != "http" && chartURL.Scheme != "https" {
		return mirror.ChartPackage{}, retry.Permanent(fmt.Errorf("chart URL %s: only http and https URLs are supported", core.RedactedURL(chartURL)))
	}
	digest := v.Digest
	if digest != "" {
		digest = normalizeDigest(digest)
		if !validDigest(digest) {
			return mirror.ChartPackage{}, retry.Permanent(fmt.Errorf("the index of Helm repository %s announces digest %q, which is not a sha256 hex digest", core.RedactedURL(repo), v.Digest))
		}
	}
	rc, err := s.repoClients(repo)
	if err != nil {
		return mirror.ChartPackage{}, err
	}
	trusted := rc.trusted(chartURL)
	s.log.Debug("downloading Helm chart", "chart", v.Name, "version", v.Version, "url", core.RedactedURL(chartURL), "credentials", trusted && rc.entry.hasCredentials())
	body, err := s.get(ctx, request{client: rc.client, url: chartURL, limit: s.maxChart})
	if err != nil {
		hint := s.hint(err, rc.entry, repo)
		if !trusted && rc.entry.hasCredentials() && errors.Is(err, core.ErrUnauthorized) {
			hint = fmt.Sprintf(" (the chart is on another host than the repository, so the credentials of repository %q were not sent; set pass_credentials_all: true for it, e.g. with 'helm repo add --pass-credentials', if that host needs them)", rc.entry.Name)
		}
		return mirror.ChartPackage{}, fmt.Errorf("%w%s", err, hint)
	}
	if digest != "" {
		if got := sha256Hex(body); got != digest {
			return mirror.ChartPackage{}, fmt.Errorf("%w: %s has sha256 %s, the index announces %s (the repository index is stale or the tarball was replaced)",
				core.ErrDigestMismatch, core.RedactedURL(chartURL), got, digest)
		}
	}
	config, err := chartConfig(body, v.Name, v.Version)
	if err != nil {
		// The bytes are what the repository serves: another download
		// brings the same.
		return mirror.ChartPackage{}, retry.Permanent(fmt.Errorf("%s: %w", core.RedactedURL(chartURL), err))
	}
	return mirror.ChartPackage{Tarball: body, ConfigJSON: config}, nil
}
