package helmrepo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo"
	"github.com/fluxcd/flux-mirror/adapters/helmrepo/helmtest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// noConfig is a repositories.yaml path that does not exist: no credentials.
func noConfig(t *testing.T) string { return filepath.Join(t.TempDir(), "repositories.yaml") }

func newSource(t *testing.T, opts helmrepo.Options) *helmrepo.Source {
	t.Helper()
	if opts.RepositoryConfig == "" {
		opts.RepositoryConfig = noConfig(t)
	}
	s, err := helmrepo.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func versionOf(t *testing.T, versions []mirror.ChartVersion, v string) mirror.ChartVersion {
	t.Helper()
	for _, cv := range versions {
		if cv.Version == v {
			return cv
		}
	}
	t.Fatalf("version %s not in %+v", v, versions)
	return mirror.ChartVersion{}
}

func TestChartVersionsAndDownload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []helmtest.Option
		suffix  string // appended to the repository URL
		absURLs bool
	}{
		{name: "yaml index"},
		{name: "json index", opts: []helmtest.Option{helmtest.WithJSONIndex()}},
		{name: "trailing slash", suffix: "/"},
		{name: "path", opts: []helmtest.Option{helmtest.WithPathPrefix("charts/stable")}},
		{name: "path and trailing slash", opts: []helmtest.Option{helmtest.WithPathPrefix("charts/stable")}, suffix: "/"},
		{name: "absolute urls", opts: []helmtest.Option{helmtest.WithPathPrefix("charts")}, absURLs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := helmtest.NewServer(t, tt.opts...)
			tgz := srv.AddChart("demo", "1.2.3+build.1")
			srv.AddChart("demo", "1.0.0")
			srv.AddChart("demo", "2.0.0-rc.1")
			srv.AddChart("other", "0.1.0")
			if tt.absURLs {
				srv.SetChartBaseURL(srv.URL())
			}
			repoURL := srv.URL() + tt.suffix
			src := newSource(t, helmrepo.Options{})
			ctx := context.Background()

			versions, err := src.ChartVersions(ctx, repoURL, "demo")
			if err != nil {
				t.Fatalf("ChartVersions: %v", err)
			}
			if len(versions) != 3 {
				t.Fatalf("got %d versions, want 3: %+v", len(versions), versions)
			}
			v := versionOf(t, versions, "1.2.3+build.1")
			wantURL := srv.URL() + "/demo-1.2.3+build.1.tgz"
			if v.Name != "demo" || len(v.URLs) != 1 || v.URLs[0] != wantURL || v.Digest != sha256Hex(tgz) {
				t.Errorf("version = %+v, want URL %s and digest %s", v, wantURL, sha256Hex(tgz))
			}

			pkg, err := src.DownloadChart(ctx, repoURL, v)
			if err != nil {
				t.Fatalf("DownloadChart: %v", err)
			}
			if !bytes.Equal(pkg.Tarball, tgz) {
				t.Error("tarball differs from the one the repository serves")
			}
			if !bytes.Contains(pkg.ConfigJSON, []byte(`"version":"1.2.3+build.1"`)) ||
				!bytes.Contains(pkg.ConfigJSON, []byte(`"name":"demo"`)) {
				t.Errorf("config = %s", pkg.ConfigJSON)
			}
		})
	}
}

func TestChartVersionsReturnsCopies(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t)
	srv.AddChart("demo", "1.0.0")
	src := newSource(t, helmrepo.Options{})
	first, err := src.ChartVersions(context.Background(), srv.URL(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	first[0].Version, first[0].URLs[0] = "mutated", "mutated"
	again, err := src.ChartVersions(context.Background(), srv.URL(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Version != "1.0.0" || again[0].URLs[0] == "mutated" {
		t.Errorf("cached index was mutated through a returned slice: %+v", again[0])
	}
}

func TestIndexFetchedOncePerRepository(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t, helmtest.WithPathPrefix("stable"))
	srv.AddChart("demo", "1.0.0")
	srv.AddChart("other", "1.0.0")
	src := newSource(t, helmrepo.Options{})

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			name, repoURL := "demo", srv.URL()
			if i%2 == 1 {
				name, repoURL = "other", srv.URL()+"/"
			}
			if _, err := src.ChartVersions(context.Background(), repoURL, name); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.RequestCount("index.yaml"); n != 1 {
		t.Errorf("index fetched %d times, want once", n)
	}
}

func TestFailedIndexFetchIsNotCached(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t)
	srv.AddChart("demo", "1.0.0")
	srv.SetRawIndex([]byte("<html>maintenance</html>"))
	src := newSource(t, helmrepo.Options{})
	if _, err := src.ChartVersions(context.Background(), srv.URL(), "demo"); err == nil {
		t.Fatal("want an error for a broken index")
	}
	srv.SetRawIndex(nil)
	if _, err := src.ChartVersions(context.Background(), srv.URL(), "demo"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := srv.RequestCount("index.yaml"); n != 2 {
		t.Errorf("index fetched %d times, want 2", n)
	}
}

func TestCancelledWaiterDoesNotPoisonCache(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t)
	srv.AddChart("demo", "1.0.0")
	src := newSource(t, helmrepo.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.ChartVersions(ctx, srv.URL(), "demo"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want context.Canceled", err)
	}
	if _, err := src.ChartVersions(context.Background(), srv.URL(), "demo"); err != nil {
		t.Fatalf("after a cancelled call: %v", err)
	}
}

// captureLogs returns a debug logger writing into a buffer.
func captureLogs() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasicAuthFromRepositoriesYAML(t *testing.T) {
	t.Parallel()
	const user, pass = "alice", "correct-horse-battery-staple"
	srv := helmtest.NewServer(t, helmtest.WithBasicAuth(user, pass))
	tgz := srv.AddChart("demo", "1.0.0")
	ctx := context.Background()

	t.Run("credentials", func(t *testing.T) {
		log, logs := captureLogs()
		e := srv.Entry("private")
		e.URL += "/" // as a user may have typed it in helm repo add
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e), Logger: log, UserAgent: "flux-mirror/test"})
		wantFirstTarball(t, src, srv.URL(), "demo", tgz)
		for _, r := range srv.Requests() {
			if r.Authorization != basic(user, pass) || r.UserAgent != "flux-mirror/test" {
				t.Errorf("request %s: Authorization %q, User-Agent %q", r.Path, r.Authorization, r.UserAgent)
			}
		}
		if strings.Contains(logs.String(), pass) {
			t.Errorf("the password is in the logs:\n%s", logs)
		}
		if !strings.Contains(logs.String(), "credentials=true") {
			t.Errorf("logs do not say credentials were used:\n%s", logs)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wrong-secret-value"
		e := srv.Entry("private")
		e.Password = wrong
		cfg := helmtest.WriteRepositoryConfig(t, e)
		log, logs := captureLogs()
		src := newSource(t, helmrepo.Options{RepositoryConfig: cfg, Logger: log})
		_, err := src.ChartVersions(ctx, srv.URL(), "demo")
		var he *core.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized || !errors.Is(err, core.ErrUnauthorized) {
			t.Fatalf("error %v, want a 401 core.HTTPError", err)
		}
		msg := err.Error()
		for _, want := range []string{srv.URL() + "/index.yaml", "401 Unauthorized", `repository "private"`, cfg, "helm repo add"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
		for _, secret := range []string{wrong, pass, base64.StdEncoding.EncodeToString([]byte(user + ":" + wrong))} {
			if strings.Contains(msg, secret) || strings.Contains(logs.String(), secret) {
				t.Errorf("a secret leaked into the error or logs: %q / %q", msg, logs)
			}
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		src := newSource(t, helmrepo.Options{})
		_, err := src.ChartVersions(ctx, srv.URL(), "demo")
		if !errors.Is(err, core.ErrUnauthorized) || !strings.Contains(err.Error(), "no credentials for this repository") {
			t.Fatalf("error %v, want 401 with a hint", err)
		}
	})

	t.Run("username without password is not sent", func(t *testing.T) {
		e := srv.Entry("private")
		e.Password = ""
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e)})
		if _, err := src.ChartVersions(ctx, srv.URL(), "demo"); !errors.Is(err, core.ErrUnauthorized) {
			t.Fatalf("error %v, want 401", err)
		}
	})
}

func TestHTTPS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := helmtest.NewServer(t, helmtest.WithTLS())
	tgz := srv.AddChart("demo", "1.0.0")

	download := func(t *testing.T, src *helmrepo.Source) error {
		t.Helper()
		versions, err := src.ChartVersions(ctx, srv.URL(), "demo")
		if err != nil {
			return err
		}
		pkg, err := src.DownloadChart(ctx, srv.URL(), versions[0])
		if err == nil && !bytes.Equal(pkg.Tarball, tgz) {
			t.Error("tarball differs")
		}
		return err
	}

	t.Run("caFile", func(t *testing.T) {
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, srv.Entry("tls"))})
		if err := download(t, src); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		err := download(t, newSource(t, helmrepo.Options{}))
		if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), srv.URL()) {
			t.Fatalf("error %v, want a certificate error naming the URL", err)
		}
	})
	t.Run("another server's CA", func(t *testing.T) {
		other := helmtest.NewServer(t, helmtest.WithTLS())
		e := srv.Entry("tls")
		e.CAFile = other.CAFile()
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e)})
		if err := download(t, src); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v, want a certificate error", err)
		}
	})
	t.Run("insecure_skip_tls_verify", func(t *testing.T) {
		e := srv.Entry("tls")
		e.CAFile, e.InsecureSkipTLSverify = "", true
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e)})
		if err := download(t, src); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Insecure option", func(t *testing.T) {
		if err := download(t, newSource(t, helmrepo.Options{Insecure: true})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing caFile", func(t *testing.T) {
		e := srv.Entry("tls")
		e.CAFile = filepath.Join(t.TempDir(), "absent.crt")
		cfg := helmtest.WriteRepositoryConfig(t, e)
		err := download(t, newSource(t, helmrepo.Options{RepositoryConfig: cfg}))
		if err == nil || !strings.Contains(err.Error(), "caFile") || !strings.Contains(err.Error(), cfg) {
			t.Fatalf("error %v, want one naming caFile and %s", err, cfg)
		}
	})
	t.Run("custom transport cannot take TLS settings", func(t *testing.T) {
		client := &http.Client{Transport: roundTripFunc(http.DefaultTransport.RoundTrip)}
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, srv.Entry("tls")), HTTPClient: client})
		if err := download(t, src); err == nil || !strings.Contains(err.Error(), "*http.Transport") {
			t.Fatalf("error %v, want one about the transport", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := helmtest.NewServer(t, helmtest.WithClientAuth(), helmtest.WithBasicAuth("bob", "pw"))
	tgz := srv.AddChart("demo", "1.0.0")

	src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, srv.Entry("mtls"))})
	wantFirstTarball(t, src, srv.URL(), "demo", tgz)
	for _, r := range srv.Requests() {
		if !r.ClientCert {
			t.Errorf("request %s without a client certificate", r.Path)
		}
	}

	e := srv.Entry("mtls")
	e.KeyFile = ""
	cfg := helmtest.WriteRepositoryConfig(t, e)
	_, err := newSource(t, helmrepo.Options{RepositoryConfig: cfg}).ChartVersions(ctx, srv.URL(), "demo")
	if err == nil || !strings.Contains(err.Error(), "certFile and keyFile must be set together") || !strings.Contains(err.Error(), cfg) {
		t.Fatalf("error %v, want one about certFile/keyFile naming %s", err, cfg)
	}
}

func TestPassCredentialsAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const user, pass = "carol", "s3cret"
	for _, passAll := range []bool{false, true} {
		t.Run(fmt.Sprint("pass_credentials_all=", passAll), func(t *testing.T) {
			t.Parallel()
			srv := helmtest.NewServer(t, helmtest.WithBasicAuth(user, pass))
			cdn := helmtest.NewServer(t) // another host:port that records Authorization
			tgz := srv.AddChart("demo", "1.0.0")
			cdn.PutFile("demo-1.0.0.tgz", tgz)
			srv.SetChartBaseURL(cdn.URL())

			e := srv.Entry("repo")
			e.PassCredentialsAll = passAll
			src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, e)})
			versions, err := src.ChartVersions(ctx, srv.URL(), "demo")
			if err != nil {
				t.Fatal(err)
			}
			if got := versions[0].URLs[0]; got != cdn.URL()+"/demo-1.0.0.tgz" {
				t.Fatalf("URL %s, want the other host", got)
			}
			pkg, err := src.DownloadChart(ctx, srv.URL(), versions[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pkg.Tarball, tgz) {
				t.Error("tarball differs")
			}
			reqs := cdn.Requests()
			if len(reqs) != 1 {
				t.Fatalf("other host got %d requests", len(reqs))
			}
			want := ""
			if passAll {
				want = basic(user, pass)
			}
			if reqs[0].Authorization != want {
				t.Errorf("other host got Authorization %q, want %q", reqs[0].Authorization, want)
			}
		})
	}

	t.Run("other host asks for credentials", func(t *testing.T) {
		t.Parallel()
		srv := helmtest.NewServer(t, helmtest.WithBasicAuth(user, pass))
		cdn := helmtest.NewServer(t, helmtest.WithBasicAuth(user, pass))
		cdn.PutFile("demo-1.0.0.tgz", srv.AddChart("demo", "1.0.0"))
		srv.SetChartBaseURL(cdn.URL())
		src := newSource(t, helmrepo.Options{RepositoryConfig: helmtest.WriteRepositoryConfig(t, srv.Entry("repo"))})
		versions, err := src.ChartVersions(ctx, srv.URL(), "demo")
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.DownloadChart(ctx, srv.URL(), versions[0])
		if !errors.Is(err, core.ErrUnauthorized) || !strings.Contains(err.Error(), "pass_credentials_all") {
			t.Fatalf("error %v, want 401 with a pass_credentials_all hint", err)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	random := make([]byte, 64<<10)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		setup   func(srv *helmtest.Server)
		opts    helmrepo.Options
		chart   string // default "demo"
		pull    bool   // the error comes from DownloadChart
		wantIs  error
		wantMsg []string // substrings; "$URL" is replaced by the repository URL
	}{
		{
			name:    "index not YAML or JSON",
			setup:   func(s *helmtest.Server) { s.SetRawIndex([]byte("<!doctype html><html><body>hello</body></html>")) },
			wantMsg: []string{"$URL/index.yaml", "neither a YAML nor a JSON", "classic Helm repository"},
		},
		{
			name:    "index without entries",
			setup:   func(s *helmtest.Server) { s.SetRawIndex([]byte("apiVersion: v1\nkind: Config\n")) },
			wantMsg: []string{"$URL/index.yaml", `no "entries"`},
		},
		{
			name:    "empty index",
			setup:   func(s *helmtest.Server) { s.SetRawIndex([]byte{}) },
			wantMsg: []string{"$URL/index.yaml", "empty"},
		},
		{
			name:    "chart not in index",
			chart:   "Demo",
			wantIs:  core.ErrNotFound,
			wantMsg: []string{`chart "Demo"`, "$URL", `did you mean "demo"`},
		},
		{
			name:    "oversized index",
			setup:   func(s *helmtest.Server) { s.PadIndex(200 << 10) },
			opts:    helmrepo.Options{MaxIndexSize: 100 << 10},
			wantIs:  core.ErrTooLarge,
			wantMsg: []string{"$URL/index.yaml", "102400"},
		},
		{
			name:    "tarball 404",
			setup:   func(s *helmtest.Server) { s.DeleteTarball("demo", "1.0.0") },
			pull:    true,
			wantIs:  core.ErrNotFound,
			wantMsg: []string{"GET $URL/demo-1.0.0.tgz: 404 Not Found"},
		},
		{
			name:    "digest mismatch",
			setup:   func(s *helmtest.Server) { s.CorruptDigest("demo", "1.0.0") },
			pull:    true,
			wantIs:  core.ErrDigestMismatch,
			wantMsg: []string{"$URL/demo-1.0.0.tgz", strings.Repeat("0", 64)},
		},
		{
			name:    "oversized tarball",
			setup:   func(s *helmtest.Server) { s.AddChart("demo", "1.0.0", helmtest.WithFile("blob.bin", random)) },
			opts:    helmrepo.Options{MaxChartSize: 16 << 10},
			pull:    true,
			wantIs:  core.ErrTooLarge,
			wantMsg: []string{"$URL/demo-1.0.0.tgz", "16384"},
		},
		{
			name: "Chart.yaml version differs from the index",
			setup: func(s *helmtest.Server) {
				s.EditIndex(func(idx *repo.IndexFile) { idx.Entries["demo"][0].Version = "1.0.1" })
			},
			pull:    true,
			wantMsg: []string{`Chart.yaml is chart "demo" version "1.0.0"`, `"demo" version "1.0.1"`, "helm repo index"},
		},
		{
			name: "Chart.yaml name differs from the index",
			setup: func(s *helmtest.Server) {
				s.EditIndex(func(idx *repo.IndexFile) {
					idx.Entries["renamed"] = idx.Entries["demo"]
					delete(idx.Entries, "demo")
				})
			},
			chart:   "renamed",
			pull:    true,
			wantMsg: []string{`Chart.yaml is chart "demo"`, `"renamed" version "1.0.0"`},
		},
		{
			name: "not a chart archive",
			setup: func(s *helmtest.Server) {
				s.EditIndex(func(idx *repo.IndexFile) {
					cv := idx.Entries["demo"][0]
					cv.URLs, cv.Digest = []string{"garbage.tgz"}, ""
				})
				s.PutFile("garbage.tgz", []byte("not gzip"))
			},
			pull:    true,
			wantMsg: []string{"$URL/garbage.tgz", "not a valid Helm chart archive"},
		},
		{
			name: "non-http chart URL",
			setup: func(s *helmtest.Server) {
				s.EditIndex(func(idx *repo.IndexFile) { idx.Entries["demo"][0].URLs = []string{"file:///etc/passwd"} })
			},
			pull:    true,
			wantMsg: []string{"file:///etc/passwd", "only http and https"},
		},
		{
			name: "no URL",
			setup: func(s *helmtest.Server) {
				s.EditIndex(func(idx *repo.IndexFile) { idx.Entries["demo"][0].URLs = nil })
			},
			pull:    true,
			wantMsg: []string{"lists no URL", "$URL"},
		},
		{
			name: "malformed digest",
			setup: func(s *helmtest.Server) {
				s.EditIndex(func(idx *repo.IndexFile) { idx.Entries["demo"][0].Digest = "md5:abc" })
			},
			pull:    true,
			wantMsg: []string{`"md5:abc"`, "not a sha256"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := helmtest.NewServer(t)
			srv.AddChart("demo", "1.0.0")
			if tt.setup != nil {
				tt.setup(srv)
			}
			src := newSource(t, tt.opts)
			chartName := tt.chart
			if chartName == "" {
				chartName = "demo"
			}
			versions, err := src.ChartVersions(ctx, srv.URL(), chartName)
			if tt.pull {
				if err != nil {
					t.Fatalf("ChartVersions: %v", err)
				}
				_, err = src.DownloadChart(ctx, srv.URL(), versions[0])
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			for _, want := range tt.wantMsg {
				want = strings.ReplaceAll(want, "$URL", srv.URL())
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			// The engine adds its own context (core/mirror's chart.go);
			// together they must still say each thing once.
			wrapped := fmt.Errorf("read chart %s from the index of %s: %w", chartName, srv.URL(), err)
			if tt.pull {
				wrapped = fmt.Errorf("download chart %s %s: %w", versions[0].Name, versions[0].Version, err)
			}
			checkWrappedOnce(t, wrapped)
		})
	}
}

// checkWrappedOnce fails when a context clause of err's message appears
// twice, e.g. "download chart x 1.0: download chart x 1.0 from ...":
// no clause repeats another, or starts with the same three words.
func checkWrappedOnce(t *testing.T, err error) {
	t.Helper()
	clauses := strings.Split(err.Error(), ": ")
	for i, a := range clauses {
		for _, b := range clauses[i+1:] {
			if a == b || strings.HasPrefix(b, a+" ") || strings.HasPrefix(a, b+" ") || sameStart(a, b, 3) {
				t.Errorf("error %q repeats the context %q", err, a)
			}
		}
	}
}

func sameStart(a, b string, n int) bool {
	wa, wb := strings.Fields(a), strings.Fields(b)
	return len(wa) >= n && len(wb) >= n && slices.Equal(wa[:n], wb[:n])
}

func TestHTTPErrorsAreClassified(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy/index.yaml":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/forbidden/index.yaml":
			w.WriteHeader(http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	src := newSource(t, helmrepo.Options{})
	ctx := context.Background()

	_, err := src.ChartVersions(ctx, srv.URL+"/busy", "demo")
	var he *core.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 503 || !he.Temporary() || he.RetryAfter.Seconds() != 7 {
		t.Errorf("503: %v (%+v)", err, he)
	}
	if _, err = src.ChartVersions(ctx, srv.URL+"/forbidden", "demo"); !errors.Is(err, core.ErrDenied) {
		t.Errorf("403: %v", err)
	}
	_, err = src.ChartVersions(ctx, srv.URL+"/nothing/", "demo")
	if !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "it must serve index.yaml") {
		t.Errorf("404: %v", err)
	}
}

func TestSecretsInURLsAreRedacted(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t, helmtest.WithBasicAuth("u", "url-password"))
	srv.AddChart("demo", "1.0.0")
	srv.SetRawIndex([]byte("<html>"))
	repoURL := strings.Replace(srv.URL(), "http://", "http://u:url-password@", 1) + "/?token=query-secret"
	src := newSource(t, helmrepo.Options{})
	_, err := src.ChartVersions(context.Background(), repoURL, "demo")
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "url-password") || strings.Contains(err.Error(), "query-secret") {
		t.Errorf("error leaks a secret: %v", err)
	}
	if !strings.Contains(err.Error(), srv.URL()+"/index.yaml?token=REDACTED") {
		t.Errorf("error does not name the redacted URL: %v", err)
	}
}

func TestInvalidRepositoryURL(t *testing.T) {
	t.Parallel()
	src := newSource(t, helmrepo.Options{})
	for _, u := range []string{"oci://ghcr.io/org/charts", "charts.example.com", "https://", "http://a b/"} {
		_, err := src.ChartVersions(context.Background(), u, "demo")
		if err == nil || !strings.Contains(err.Error(), "invalid Helm repository URL") {
			t.Errorf("%s: error %v", u, err)
		}
		_, err = src.DownloadChart(context.Background(), u, mirror.ChartVersion{Name: "demo", Version: "1", URLs: []string{"x.tgz"}})
		if err == nil || !strings.Contains(err.Error(), "invalid Helm repository URL") {
			t.Errorf("%s: error %v", u, err)
		}
	}
}

func TestRepositoryConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "repositories.yaml")
	if err := os.WriteFile(bad, []byte("repositories:\n- name: x\n  password: [unclosed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := helmrepo.New(helmrepo.Options{RepositoryConfig: bad})
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "unclosed") {
		t.Errorf("malformed file: error %v, want one naming the file without its content", err)
	}
	_, err = helmrepo.New(helmrepo.Options{RepositoryConfig: dir})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: error %v", err)
	}
	if _, err := helmrepo.New(helmrepo.Options{RepositoryConfig: filepath.Join(dir, "absent.yaml")}); err != nil {
		t.Errorf("missing file: %v", err)
	}
	if _, err := helmrepo.New(helmrepo.Options{RepositoryConfig: filepath.Join(dir, "absent.yaml"), MaxChartSize: -1}); err == nil {
		t.Error("negative limit accepted")
	}
}

// TestRepositoryConfigFromEnvironment changes the environment, so it does
// not run in parallel.
func TestRepositoryConfigFromEnvironment(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("HELM_REPOSITORY_CONFIG", "")
	t.Setenv("HELM_CONFIG_HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	if got, want := helmrepo.DefaultRepositoryConfig(), filepath.Join(home, ".config", "helm", "repositories.yaml"); got != want {
		t.Errorf("default = %s, want %s", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got, want := helmrepo.DefaultRepositoryConfig(), filepath.Join("/xdg", "helm", "repositories.yaml"); got != want {
		t.Errorf("with XDG_CONFIG_HOME = %s, want %s", got, want)
	}
	t.Setenv("HELM_CONFIG_HOME", "/helmcfg")
	if got, want := helmrepo.DefaultRepositoryConfig(), filepath.Join("/helmcfg", "repositories.yaml"); got != want {
		t.Errorf("with HELM_CONFIG_HOME = %s, want %s", got, want)
	}

	srv := helmtest.NewServer(t, helmtest.WithBasicAuth("env", "pw"))
	srv.AddChart("demo", "1.0.0")
	cfg := helmtest.WriteRepositoryConfig(t, srv.Entry("env"))
	t.Setenv("HELM_REPOSITORY_CONFIG", cfg)
	src, err := helmrepo.New(helmrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.RepositoryConfig() != cfg {
		t.Errorf("RepositoryConfig() = %s, want %s", src.RepositoryConfig(), cfg)
	}
	if _, err := src.ChartVersions(context.Background(), srv.URL(), "demo"); err != nil {
		t.Fatalf("credentials from $HELM_REPOSITORY_CONFIG: %v", err)
	}
}

func TestChartMetadataVariants(t *testing.T) {
	t.Parallel()
	srv := helmtest.NewServer(t)
	srv.AddChart("legacy", "0.1.0", helmtest.WithMetadata(func(m *chart.Metadata) {
		m.APIVersion = chart.APIVersionV1
		m.Type = ""
	}), helmtest.WithFile("requirements.yaml", []byte("dependencies:\n- name: sub\n  version: 1.x\n  repository: https://charts.example.com\n")))
	src := newSource(t, helmrepo.Options{})
	versions, err := src.ChartVersions(context.Background(), srv.URL(), "legacy")
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := src.DownloadChart(context.Background(), srv.URL(), versions[0])
	if err != nil {
		t.Fatal(err)
	}
	// Helm's loader folds a v1 chart's requirements.yaml into the metadata,
	// so helm push puts the dependencies into the config blob.
	if !bytes.Contains(pkg.ConfigJSON, []byte(`"dependencies":[{"name":"sub","version":"1.x","repository":"https://charts.example.com"}]`)) {
		t.Errorf("config = %s", pkg.ConfigJSON)
	}
}

// TestMalformedIndexIsPermanent: a repository that serves something other
// than an index fails at once; retries cannot change the content.
func TestMalformedIndexIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body>not an index</body></html>")
	}))
	t.Cleanup(srv.Close)
	s, err := helmrepo.New(helmrepo.Options{RepositoryConfig: filepath.Join(t.TempDir(), "none.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ChartVersions(context.Background(), srv.URL, "demo")
	if err == nil || retry.Retryable(err) {
		t.Fatalf("error %v: want a permanent (not retryable) error", err)
	}
	if !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("error %q does not name the repository", err)
	}
}

// wantFirstTarball lists the chart's versions in repoURL, downloads the
// first and checks that its tarball is want, byte for byte.
func wantFirstTarball(t *testing.T, src *helmrepo.Source, repoURL, name string, want []byte) {
	t.Helper()
	versions, err := src.ChartVersions(context.Background(), repoURL, name)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := src.DownloadChart(context.Background(), repoURL, versions[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pkg.Tarball, want) {
		t.Error("tarball differs")
	}
}
