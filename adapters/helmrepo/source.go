package helmrepo

import (
	"context"
	"errors"
	"fmt"
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
	done   chan struct{}
	charts map[string][]mirror.ChartVersion
	err    error
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
func (s *Source) ChartVersions(ctx context.Context, repoURL, name string) ([]mirror.ChartVersion, error) {
	repo, err := parseRepoURL(repoURL)
	if err != nil {
		return nil, err
	}
	charts, err := s.index(ctx, repo)
	if err != nil {
		return nil, err
	}
	versions, ok := charts[name]
	if !ok {
		return nil, fmt.Errorf("chart %q is not in Helm repository %s%s: %w", name, redact(repo), suggest(charts, name), core.ErrNotFound)
	}
	out := make([]mirror.ChartVersion, len(versions))
	for i, v := range versions {
		v.URLs = slices.Clone(v.URLs)
		out[i] = v
	}
	return out, nil
}

// suggest names charts whose names differ from name only by case, or
// counts the charts, to help fix a typo.
func suggest(charts map[string][]mirror.ChartVersion, name string) string {
	var similar []string
	for n := range charts {
		if strings.EqualFold(n, name) {
			similar = append(similar, n)
		}
	}
	if len(similar) > 0 {
		sort.Strings(similar)
		return fmt.Sprintf(" (did you mean %q?)", similar[0])
	}
	if len(charts) == 1 {
		return " (its index lists 1 chart)"
	}
	return fmt.Sprintf(" (its index lists %d charts)", len(charts))
}

// index returns the parsed index of a repository, fetching it on first use.
// Concurrent callers for the same repository share one fetch. A failed fetch
// is not kept, so a later call (a retry) fetches again; a caller whose fetch
// was abandoned because another caller's context ended fetches itself.
func (s *Source) index(ctx context.Context, repo *url.URL) (map[string][]mirror.ChartVersion, error) {
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
			call.charts, call.err = s.fetchIndex(ctx, repo)
			if call.err != nil {
				s.mu.Lock()
				delete(s.indexes, key)
				s.mu.Unlock()
			}
			close(call.done)
			return call.charts, call.err
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("fetch index of Helm repository %s: %w", redact(repo), context.Cause(ctx))
		}
		if call.err == nil {
			return call.charts, nil
		}
		if ctx.Err() == nil && (errors.Is(call.err, context.Canceled) || errors.Is(call.err, context.DeadlineExceeded)) {
			continue
		}
		return nil, call.err
	}
}

// fetchIndex downloads and parses a repository's index.yaml.
func (s *Source) fetchIndex(ctx context.Context, repo *url.URL) (map[string][]mirror.ChartVersion, error) {
	rc, err := s.repoClients(repo)
	if err != nil {
		return nil, err
	}
	indexURL, err := url.Parse(mustResolve(repo, "index.yaml"))
	if err != nil {
		return nil, fmt.Errorf("index URL of Helm repository %s: %w", redact(repo), err)
	}
	s.log.Debug("fetching Helm repository index", "url", redact(indexURL), "credentials", rc.entry.hasCredentials())
	body, err := s.get(ctx, request{client: rc.client, url: indexURL, limit: s.maxIndex})
	if err != nil {
		return nil, fmt.Errorf("fetch index of Helm repository %s: %w%s", redact(repo), err, s.hint(err, rc.entry, repo))
	}
	charts, err := parseIndex(body, repo)
	if err != nil {
		// The repository answered with content that is not an index: asking
		// again within the same run cannot help.
		return nil, retry.Permanent(fmt.Errorf("read index of Helm repository %s (%s): %w; check that the URL points at a classic Helm repository that serves index.yaml", redact(repo), redact(indexURL), err))
	}
	s.log.Debug("fetched Helm repository index", "url", redact(indexURL), "bytes", len(body), "charts", len(charts))
	return charts, nil
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
			return fmt.Sprintf(" (the credentials of repository %q in %s were rejected; update them with 'helm repo add %s %s --username <user> --password-stdin --force-update')", e.Name, config, e.Name, redact(repo))
		}
		return fmt.Sprintf(" (no credentials for this repository in %s; add them with 'helm repo add <name> %s --username <user> --password-stdin')", config, redact(repo))
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
// blob. Credentials go to repoURL's own scheme and host only, unless its
// repositories.yaml entry sets pass_credentials_all.
func (s *Source) DownloadChart(ctx context.Context, repoURL string, v mirror.ChartVersion) (mirror.ChartPackage, error) {
	repo, err := parseRepoURL(repoURL)
	if err != nil {
		return mirror.ChartPackage{}, err
	}
	what := fmt.Sprintf("chart %s %s from Helm repository %s", v.Name, v.Version, redact(repo))
	if len(v.URLs) == 0 {
		return mirror.ChartPackage{}, fmt.Errorf("download %s: the index lists no URL for this version", what)
	}
	raw, err := resolveReference(repo, v.URLs[0])
	if err != nil {
		return mirror.ChartPackage{}, fmt.Errorf("download %s: %w", what, err)
	}
	chartURL, err := url.Parse(raw)
	if err != nil {
		return mirror.ChartPackage{}, fmt.Errorf("download %s: parse chart URL %s: %w", what, redactString(raw), err)
	}
	if chartURL.Scheme != "http" && chartURL.Scheme != "https" {
		return mirror.ChartPackage{}, fmt.Errorf("download %s: chart URL %s: only http and https URLs are supported", what, redact(chartURL))
	}
	digest := v.Digest
	if digest != "" {
		digest = normalizeDigest(digest)
		if !validDigest(digest) {
			return mirror.ChartPackage{}, fmt.Errorf("download %s: the index announces digest %q, which is not a sha256 hex digest", what, v.Digest)
		}
	}
	rc, err := s.repoClients(repo)
	if err != nil {
		return mirror.ChartPackage{}, err
	}
	trusted := rc.trusted(chartURL)
	s.log.Debug("downloading Helm chart", "chart", v.Name, "version", v.Version, "url", redact(chartURL), "credentials", trusted && rc.entry.hasCredentials())
	body, err := s.get(ctx, request{client: rc.client, url: chartURL, limit: s.maxChart})
	if err != nil {
		hint := s.hint(err, rc.entry, repo)
		if !trusted && rc.entry.hasCredentials() && errors.Is(err, core.ErrUnauthorized) {
			hint = fmt.Sprintf(" (the chart is on another host than the repository, so the credentials of repository %q were not sent; set pass_credentials_all: true for it, e.g. with 'helm repo add --pass-credentials', if that host needs them)", rc.entry.Name)
		}
		return mirror.ChartPackage{}, fmt.Errorf("download %s: %w%s", what, err, hint)
	}
	if digest != "" {
		if got := sha256Hex(body); got != digest {
			return mirror.ChartPackage{}, fmt.Errorf("download %s: %w: %s has sha256 %s, the index announces %s (the repository index is stale or the tarball was replaced)",
				what, core.ErrDigestMismatch, redact(chartURL), got, digest)
		}
	}
	config, err := chartConfig(body, v.Name, v.Version)
	if err != nil {
		return mirror.ChartPackage{}, fmt.Errorf("download %s: %s: %w", what, redact(chartURL), err)
	}
	return mirror.ChartPackage{Tarball: body, ConfigJSON: config}, nil
}
