package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// testIdle is the idle timeout of the stall tests: short, so that a
// stalled attempt fails quickly, and several times the pace of the
// slow-but-moving transfers.
const testIdle = 300 * time.Millisecond

// noWait is a retry policy's Sleep that does not wait: the tests count
// attempts, not backoff.
func noWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// stall is a middleware that makes the first request it matches stop
// moving: it holds the connection open and sends nothing more (nor reads
// the request body) until the client gives up. It records the client
// address of every matched request, to tell connections apart.
type stall struct {
	match func(*http.Request) bool
	// after is how many response body bytes pass before the stall; -1
	// stalls before the response headers, without reading the request.
	after int64

	mu    sync.Mutex
	addrs []string
	done  chan struct{}
}

func newStall(match func(*http.Request) bool, after int64) *stall {
	return &stall{match: match, after: after, done: make(chan struct{})}
}

// release ends every held request; register it with t.Cleanup after the
// server, so that it runs before the server waits for its handlers.
func (s *stall) release() { close(s.done) }

func (s *stall) addresses() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.addrs...)
}

func (s *stall) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.match(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		s.addrs = append(s.addrs, r.RemoteAddr)
		first := len(s.addrs) == 1
		s.mu.Unlock()
		switch {
		case !first:
			next.ServeHTTP(w, r)
		case s.after < 0:
			s.hold(r)
		default:
			next.ServeHTTP(&stallWriter{ResponseWriter: w, left: s.after, hold: func() { s.hold(r) }}, r)
		}
	})
}

func (s *stall) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

var errStalled = errors.New("stalled by the test")

// stallWriter passes left bytes of a response body, then holds.
type stallWriter struct {
	http.ResponseWriter
	left int64
	hold func()
	held bool
}

func (w *stallWriter) Write(p []byte) (int, error) {
	if w.held {
		return 0, errStalled
	}
	if int64(len(p)) <= w.left {
		w.left -= int64(len(p))
		return w.ResponseWriter.Write(p)
	}
	n, _ := w.ResponseWriter.Write(p[:w.left])
	w.left = 0
	http.NewResponseController(w.ResponseWriter).Flush() //nolint:errcheck // best effort before holding
	w.held = true
	w.hold()
	return n, errStalled
}

func isBlobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

func isTagList(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/tags/list") }

func isUploadPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/")
}

// readBlob opens a blob and checks its digest.
func readBlob(ctx context.Context, c *registry.Client, repo oci.Repository, digest string) error {
	rc, err := c.OpenBlob(ctx, repo, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return err
	}
	if got := digestOf(h); got != digest {
		return fmt.Errorf("read %s, want %s", got, digest)
	}
	return nil
}

// TestIdleTimeout stalls a real registry mid-exchange: the attempt fails
// after the idle timeout with an *IdleError naming the host, and the
// retry, on a fresh connection, completes.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const blobSize = 256 << 10
	// More than the send buffer (smallSendBuffers) and the receive buffer
	// of a connection whose server reads nothing hold.
	const uploadSize = 1 << 20
	tests := []struct {
		name  string
		match func(*http.Request) bool
		after int64
		// attempt runs one try against the registry, where seed put a
		// blob of blobSize bytes with the digest given.
		attempt func(ctx context.Context, c *registry.Client, repo oci.Repository, digest string) error
		writing bool
	}{
		{
			name: "blob body stalls mid-stream", match: isBlobGet, after: blobSize / 4,
			attempt: readBlob,
		},
		{
			name: "no response headers", match: isTagList, after: -1,
			attempt: func(ctx context.Context, c *registry.Client, repo oci.Repository, _ string) error {
				tags, err := c.ListTags(ctx, repo)
				if err == nil && len(tags) != 1 {
					return fmt.Errorf("tags %v, want one", tags)
				}
				return err
			},
		},
		{
			name: "upload not read", match: isUploadPut, after: -1, writing: true,
			attempt: func(ctx context.Context, c *registry.Client, repo oci.Repository, _ string) error {
				desc := oci.Descriptor{Digest: patternDigest(t, uploadSize, 7), Size: uploadSize}
				return c.PushBlob(ctx, repo, desc, newPatternReader(uploadSize, 7))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStall(tc.match, tc.after)
			s := registrytest.NewDistribution(t, registrytest.WithFilesystem(), registrytest.WithMiddleware(st.middleware))
			t.Cleanup(st.release)
			c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) {
				o.IdleTimeout = testIdle
				o.Transport = smallSendBuffers()
			})
			repo := repoOf(t, s, "app")
			blob := registrytest.RandomBytes(t, blobSize)
			digest := oci.Digest(blob)
			if !tc.writing {
				seed := clientFor(t, s) // the default idle timeout: seeding is not under test
				img := newImage(t)
				img.push(t, seed, repo, "1.0")
				if err := seed.PushBlob(t.Context(), repo, oci.Descriptor{Digest: digest, Size: blobSize}, bytes.NewReader(blob)); err != nil {
					t.Fatal(err)
				}
			}

			var failures []error
			var took []time.Duration
			p := retry.Policy{Retries: 2, Sleep: noWait, OnRetry: func(_ int, _ time.Duration, err error) { failures = append(failures, err) }}
			err := retry.Do(t.Context(), p, func(ctx context.Context) error {
				start := time.Now()
				defer func() { took = append(took, time.Since(start)) }()
				return tc.attempt(ctx, c, repo, digest)
			})
			if err != nil {
				t.Fatalf("after the retry: %v", err)
			}
			if len(failures) != 1 {
				t.Fatalf("%d failed attempts (%v), want 1", len(failures), failures)
			}
			var ie *registry.IdleError
			if !errors.As(failures[0], &ie) || ie.Host != s.Host() || ie.Idle != testIdle || ie.Writing != tc.writing {
				t.Fatalf("first attempt: %v (%T), want an *IdleError for %s, writing %v", failures[0], failures[0], s.Host(), tc.writing)
			}
			want := fmt.Sprintf("no data from %s for 300ms", s.Host())
			if tc.writing {
				want = fmt.Sprintf("no progress writing to %s for 300ms", s.Host())
			}
			if msg := failures[0].Error(); !strings.Contains(msg, want) {
				t.Errorf("first attempt: %q, want it to say %q", msg, want)
			}
			if clause, ok := mirrortest.RepeatedClause(failures[0].Error()); ok {
				t.Errorf("first attempt: %q repeats %q", failures[0], clause)
			}
			if took[0] < testIdle {
				t.Errorf("the stalled attempt failed after %s, before the idle timeout", took[0])
			}
			if addrs := st.addresses(); len(addrs) != 2 || addrs[0] == addrs[1] {
				t.Errorf("matched requests came from %v, want two connections", addrs)
			}
		})
	}
}

// paced is a middleware that slows matching exchanges down without
// stopping them: response bodies go out in pieces, request bodies are
// read in pieces, one piece per tick.
func paced(match func(*http.Request) bool, piece int, tick time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			t := time.NewTicker(tick)
			defer t.Stop()
			r.Body = &pacedReader{ReadCloser: r.Body, piece: piece, tick: t.C}
			next.ServeHTTP(&pacedWriter{ResponseWriter: w, piece: piece, tick: t.C}, r)
		})
	}
}

type pacedWriter struct {
	http.ResponseWriter
	piece int
	tick  <-chan time.Time
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		<-w.tick
		n, err := w.ResponseWriter.Write(p[:min(w.piece, len(p))])
		written += n
		if err != nil {
			return written, err
		}
		if err := http.NewResponseController(w.ResponseWriter).Flush(); err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

type pacedReader struct {
	io.ReadCloser
	piece int
	tick  <-chan time.Time
}

func (r *pacedReader) Read(p []byte) (int, error) {
	<-r.tick
	return r.ReadCloser.Read(p[:min(r.piece, len(p))])
}

// TestIdleTimeoutSparesMovingTransfers runs transfers that take several
// idle timeouts but never pause for one, and a pooled connection that
// sits idle longer than the timeout between requests: none is cut.
func TestIdleTimeoutSparesMovingTransfers(t *testing.T) {
	t.Parallel()
	// Longer than testIdle: every request of these transfers (the upload's
	// POST, the registry's final commit) must answer within it on a
	// loaded machine; the pauses between pieces stay a tenth of it.
	const idle = 1 * time.Second
	const piece, tick = 32 << 10, idle / 10
	t.Run("slow download", func(t *testing.T) {
		t.Parallel()
		s := registrytest.NewDistribution(t, registrytest.WithMiddleware(paced(isBlobGet, piece, tick)))
		c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) { o.IdleTimeout = idle })
		repo := repoOf(t, s, "app")
		blob := registrytest.RandomBytes(t, 36*piece) // 36 ticks: 3.6 idle timeouts
		digest := oci.Digest(blob)
		if err := clientFor(t, s).PushBlob(t.Context(), repo, oci.Descriptor{Digest: digest, Size: int64(len(blob))}, bytes.NewReader(blob)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := readBlob(t.Context(), c, repo, digest); err != nil {
			t.Fatalf("slow download: %v", err)
		}
		if d := time.Since(start); d < 3*idle {
			t.Fatalf("the download took %s, not several idle timeouts: the test does not test", d)
		}
	})
	t.Run("slow upload", func(t *testing.T) {
		t.Parallel()
		s := registrytest.NewDistribution(t, registrytest.WithFilesystem(), registrytest.WithMiddleware(paced(isUploadPut, piece, tick)))
		c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) {
			o.IdleTimeout = idle
			o.Transport = smallSendBuffers()
		})
		repo := repoOf(t, s, "app")
		const size = 36 * piece
		start := time.Now()
		if err := c.PushBlob(t.Context(), repo, oci.Descriptor{Digest: patternDigest(t, size, 3), Size: size}, newPatternReader(size, 3)); err != nil {
			t.Fatalf("slow upload: %v", err)
		}
		if d := time.Since(start); d < 3*idle {
			t.Fatalf("the upload took %s, not several idle timeouts: the test does not test", d)
		}
	})
	t.Run("idle pooled connection", func(t *testing.T) {
		t.Parallel()
		rec := registrytest.NewRecorder()
		var mu sync.Mutex
		var addrs []string
		s := registrytest.NewOCI(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				addrs = append(addrs, r.RemoteAddr)
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		}), registrytest.WithMiddleware(rec.Middleware))
		c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) { o.IdleTimeout = testIdle })
		repo := repoOf(t, s, "app")
		digest := oci.Digest([]byte("absent"))
		if _, err := c.BlobExists(t.Context(), repo, digest); err != nil {
			t.Fatal(err)
		}
		// The scenario is a connection left idle in the pool for longer
		// than the idle timeout; nothing else waits on this.
		<-time.After(3 * testIdle)
		if _, err := c.BlobExists(t.Context(), repo, digest); err != nil {
			t.Fatalf("after the pause: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(addrs) != 3 || addrs[1] != addrs[2] {
			t.Fatalf("requests came from %v; want the ping and both checks on one kept-alive connection (%s)", addrs, rec.Summary())
		}
	})
}

// TestReadOnlyDestination pushes to registries that refuse writes: the
// error names the registry and what to check, is classified as denied
// and final, and each write is sent once.
func TestReadOnlyDestination(t *testing.T) {
	t.Parallel()
	deny := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost || r.Method == http.MethodPut {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	tests := []struct {
		name   string
		start  func(t testing.TB, opts ...registrytest.Option) *registrytest.Server
		opts   []registrytest.Option
		status int
	}{
		{"distribution read-only mode", registrytest.NewDistribution, []registrytest.Option{registrytest.WithReadOnly()}, http.StatusMethodNotAllowed},
		{"ggcr behind a read-only guard", registrytest.NewOCI, []registrytest.Option{registrytest.WithReadOnly()}, http.StatusMethodNotAllowed},
		{"credentials without push", registrytest.NewOCI, []registrytest.Option{registrytest.WithMiddleware(deny)}, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := registrytest.NewRecorder()
			s := tc.start(t, append([]registrytest.Option{registrytest.WithMiddleware(rec.Middleware)}, tc.opts...)...)
			c := clientFor(t, s)
			repo := repoOf(t, s, "team/app")
			img := newImage(t, 100)
			blob := img.layers[0]
			// Reads work; the ping is behind us.
			if ok, err := c.BlobExists(t.Context(), repo, oci.Digest(blob)); ok || err != nil {
				t.Fatalf("BlobExists = %v, %v", ok, err)
			}
			for _, w := range []struct {
				operation string
				write     func() error
				request   string
			}{
				{"blob upload", func() error {
					return c.PushBlob(t.Context(), repo, oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob))}, bytes.NewReader(blob))
				}, "POST uploads"},
				{"manifest PUT", func() error {
					return c.PutManifest(t.Context(), repo, "1.0", oci.MediaTypeImageManifest, img.manifest)
				}, "PUT manifests"},
			} {
				rec.Reset()
				attempts := 0
				err := retry.Do(t.Context(), retry.Policy{Retries: 3, Sleep: noWait}, func(context.Context) error {
					attempts++
					return w.write()
				})
				var refused *registry.WriteRefusedError
				if !errors.As(err, &refused) || refused.Err.StatusCode != tc.status || !errors.Is(err, core.ErrDenied) {
					t.Fatalf("%s: %v (%T), want a *WriteRefusedError with HTTP %d that is core.ErrDenied", w.operation, err, err, tc.status)
				}
				want := fmt.Sprintf("destination registry %s refuses writes (HTTP %d on %s to repo team/app): check the registry is not read-only or a pull-through cache and that the credentials may push",
					s.Host(), tc.status, w.operation)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %q\nwant it to contain %q", w.operation, err, want)
				}
				if clause, ok := mirrortest.RepeatedClause(err.Error()); ok {
					t.Errorf("%s: %q repeats %q", w.operation, err, clause)
				}
				if attempts != 1 || rec.Count("", "") != 1 || counts(rec)[w.request] != 1 {
					t.Errorf("%s: %d attempts, requests:\n%s\nwant one attempt of one %s", w.operation, attempts, rec.Summary(), w.request)
				}
			}
		})
	}
}

// TestPermanentFailuresAreNotRetried produces failures no retry fixes with
// real servers and checks that the adapter's error says so: under a retry
// policy, the failing request is sent once.
func TestPermanentFailuresAreNotRetried(t *testing.T) {
	t.Parallel()
	// Middleware that make a real registry misbehave on one route.
	loopingTags := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isTagList(r) {
				w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, r.URL.Path))
			}
			next.ServeHTTP(w, r)
		})
	}
	redirectLoop := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case isBlobGet(r):
				http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
			case r.URL.Path == "/loop":
				http.Redirect(w, r, "/loop?again", http.StatusTemporaryRedirect)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	badRedirect := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isBlobGet(r) {
				w.Header().Set("Location", "/storage/%zz")
				w.WriteHeader(http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	uploadLocation := func(loc string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/") {
					w = &locationRewriter{ResponseWriter: w, location: loc}
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	blob := []byte("permanent")
	digest := oci.Digest(blob)
	listTags := func(ctx context.Context, c *registry.Client, repo oci.Repository) error {
		_, err := c.ListTags(ctx, repo)
		return err
	}
	openBlob := func(ctx context.Context, c *registry.Client, repo oci.Repository) error {
		return readBlob(ctx, c, repo, digest)
	}
	pushBlob := func(ctx context.Context, c *registry.Client, repo oci.Repository) error {
		return c.PushBlob(ctx, repo, oci.Descriptor{Digest: digest, Size: int64(len(blob))}, bytes.NewReader(blob))
	}
	tests := []struct {
		name    string
		mw      func(http.Handler) http.Handler
		op      func(context.Context, *registry.Client, oci.Repository) error
		is      error
		want    string
		request string // the route requested once
		seed    bool   // push an image first
	}{
		{"tag list pagination loop", loopingTags, listTags, core.ErrPaginationLoop, "leads back to a page already read", "GET tags", true},
		{"redirect loop", redirectLoop, openBlob, core.ErrRedirectLoop, "stopped after 10 redirects", "GET blobs", false},
		{"malformed redirect Location", badRedirect, openBlob, nil, "redirected to a malformed Location header", "GET blobs", false},
		{"malformed upload Location", uploadLocation("/upload/%zz"), pushBlob, nil, "malformed upload Location header", "POST uploads", false},
		{"missing upload Location", uploadLocation(""), pushBlob, nil, "without an upload Location header", "POST uploads", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := registrytest.NewRecorder()
			s := registrytest.NewDistribution(t, registrytest.WithMiddleware(rec.Middleware), registrytest.WithMiddleware(tc.mw))
			c := clientFor(t, s)
			repo := repoOf(t, s, "app")
			if tc.seed {
				newImage(t, 10).push(t, c, repo, "1.0")
			}
			rec.Reset()
			attempts := 0
			err := retry.Do(t.Context(), retry.Policy{Retries: 3, Sleep: noWait}, func(ctx context.Context) error {
				attempts++
				return tc.op(ctx, c, repo)
			})
			if err == nil || retry.Retryable(err) || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want a final error saying %q (is %v)", err, tc.want, tc.is)
			}
			if clause, ok := mirrortest.RepeatedClause(err.Error()); ok {
				t.Errorf("%q repeats %q", err, clause)
			}
			if attempts != 1 || counts(rec)[tc.request] != 1 {
				t.Errorf("%d attempts; requests:\n%s\nwant one attempt with one %s", attempts, rec.Summary(), tc.request)
			}
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		t.Parallel()
		rec := registrytest.NewRecorder()
		s := registrytest.NewDistribution(t, registrytest.WithTLS(), registrytest.WithMiddleware(rec.Middleware))
		other := registrytest.NewDistribution(t, registrytest.WithTLS()) // another CA
		c := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.TLS = other.ClientTLSConfig() })
		attempts := 0
		err := retry.Do(t.Context(), retry.Policy{Retries: 3, Sleep: noWait}, func(ctx context.Context) error {
			attempts++
			return listTags(ctx, c, repoOf(t, s, "app"))
		})
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) || retry.Retryable(err) || attempts != 1 || rec.Count("", "") != 0 {
			t.Fatalf("error %v after %d attempts, %d requests: want one attempt failing on x509.UnknownAuthorityError", err, attempts, rec.Count("", ""))
		}
		if clause, ok := mirrortest.RepeatedClause(err.Error()); ok {
			t.Errorf("%q repeats %q", err, clause)
		}
	})

	t.Run("no such host", func(t *testing.T) {
		t.Parallel()
		dns := newNXDomainServer(t)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Resolver: dns.resolver()}).DialContext
		c, err := registry.New(registry.Options{Keychain: noKeychain, Transport: tr, Hosts: map[string]registry.Host{
			"registry.flux-mirror.test": {TLS: &tls.Config{MinVersion: tls.VersionTLS12}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		repo, err := oci.ParseRepository("registry.flux-mirror.test/app")
		if err != nil {
			t.Fatal(err)
		}
		attempts := 0
		err = retry.Do(t.Context(), retry.Policy{Retries: 3, Sleep: noWait}, func(ctx context.Context) error {
			attempts++
			return listTags(ctx, c, repo)
		})
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound || retry.Retryable(err) || attempts != 1 {
			t.Fatalf("error %v (%T) after %d attempts: want one attempt failing on a *net.DNSError that IsNotFound", err, err, attempts)
		}
		if !strings.Contains(err.Error(), "registry.flux-mirror.test") {
			t.Errorf("%q does not name the host", err)
		}
		if clause, ok := mirrortest.RepeatedClause(err.Error()); ok {
			t.Errorf("%q repeats %q", err, clause)
		}
		if q := dns.queries(); q == 0 {
			t.Errorf("the DNS server saw no query")
		}
	})
}

// locationRewriter replaces the Location header of a response.
type locationRewriter struct {
	http.ResponseWriter
	location string
	done     bool
}

func (w *locationRewriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		if w.location == "" {
			w.Header().Del("Location")
		} else {
			w.Header().Set("Location", w.location)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *locationRewriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// nxdomainServer is a DNS server on loopback UDP that answers every
// query with NXDOMAIN: the name does not exist.
type nxdomainServer struct {
	conn net.PacketConn
	mu   sync.Mutex
	n    int
}

func newNXDomainServer(t *testing.T) *nxdomainServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &nxdomainServer{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, addr, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			s.mu.Lock()
			s.n++
			s.mu.Unlock()
			resp := append([]byte(nil), buf[:n]...)
			resp[2] = 0x80 | resp[2]&0x79 // QR, keep opcode and RD
			resp[3] = 0x80 | 3            // RA, RCODE 3 (NXDOMAIN)
			// No answer, authority or additional records; the question stays.
			resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 0, 0, 0, 0, 0
			_, _ = conn.WriteTo(resp[:12+questionLen(resp[12:])], addr)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

// questionLen returns the length of the first question of a DNS message
// body (name, type, class).
func questionLen(b []byte) int {
	i := 0
	for i < len(b) && b[i] != 0 {
		i += int(b[i]) + 1
	}
	return min(i+1+4, len(b))
}

func (s *nxdomainServer) queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// resolver asks only this server.
func (s *nxdomainServer) resolver() *net.Resolver {
	addr := s.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}
