package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

func TestContractDistribution(t *testing.T) {
	t.Parallel()
	RunContract(t, registrytest.NewDistribution)
}

func TestContractOCI(t *testing.T) {
	t.Parallel()
	RunContract(t, registrytest.NewOCI)
}

func TestContractOCIWithoutReferrersAPI(t *testing.T) {
	t.Parallel()
	RunContract(t, func(t testing.TB, opts ...registrytest.Option) *registrytest.Server {
		return registrytest.NewOCI(t, append(opts, registrytest.WithoutReferrersAPI())...)
	})
}

// RunContract exercises every mirror.Registry method of the adapter
// against registries newServer starts, including the exact requests each
// method sends, error mapping, authentication, TLS and chunked uploads.
func RunContract(t *testing.T, newServer newServerFunc) {
	t.Run("RoundTripAndRequestCounts", func(t *testing.T) { t.Parallel(); testRoundTrip(t, newServer) })
	t.Run("ListTagsPagination", func(t *testing.T) { t.Parallel(); testPagination(t, newServer) })
	t.Run("NotFound", func(t *testing.T) { t.Parallel(); testNotFound(t, newServer) })
	t.Run("Unauthorized", func(t *testing.T) { t.Parallel(); testUnauthorized(t, newServer) })
	t.Run("Denied", func(t *testing.T) { t.Parallel(); testDenied(t, newServer) })
	t.Run("RetryAfter", func(t *testing.T) { t.Parallel(); testRetryAfter(t, newServer) })
	t.Run("BearerOnlyHost", func(t *testing.T) { t.Parallel(); testBearerOnly(t, newServer) })
	t.Run("BasicChallenge", func(t *testing.T) { t.Parallel(); testBasic(t, newServer) })
	t.Run("TokenAuth", func(t *testing.T) { t.Parallel(); testToken(t, newServer) })
	t.Run("TLS", func(t *testing.T) { t.Parallel(); testTLS(t, newServer) })
	t.Run("MutualTLS", func(t *testing.T) { t.Parallel(); testMTLS(t, newServer) })
	t.Run("ChunkedUpload", func(t *testing.T) { t.Parallel(); testChunked(t, newServer) })
	t.Run("Mount", func(t *testing.T) { t.Parallel(); testMount(t, newServer) })
	t.Run("Referrers", func(t *testing.T) { t.Parallel(); testReferrers(t, newServer) })
	t.Run("Streaming", func(t *testing.T) { t.Parallel(); testStreaming(t, newServer) })
	t.Run("NoCredentialsOnCrossHostRedirect", func(t *testing.T) { t.Parallel(); testRedirect(t, newServer) })
	t.Run("Logging", func(t *testing.T) { t.Parallel(); testLogging(t, newServer) })
}

func testRoundTrip(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	ctx := t.Context()
	repo := repoOf(t, s, "team/app")
	img := newImage(t, 1000, 2000)

	// Warm up: the first request pings /v2/ once per host.
	if _, err := c.BlobExists(ctx, repo, oci.Digest(img.config)); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, rec, map[string]int{"GET ping": 1, "HEAD blobs": 1})

	rec.Reset()
	img.push(t, c, repo, "1.0")
	wantCounts(t, rec, map[string]int{"POST uploads": 3, "PUT uploads": 3, "PUT manifests": 1})

	rec.Reset()
	d, err := c.HeadManifest(ctx, repo, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	want := oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: img.digest, Size: int64(len(img.manifest))}
	if d.MediaType != want.MediaType || d.Digest != want.Digest || d.Size != want.Size {
		t.Fatalf("HeadManifest = %+v, want %+v", d, want)
	}
	wantCounts(t, rec, map[string]int{"HEAD manifests": 1})
	if acc := rec.Requests()[0].Header.Get("Accept"); !strings.Contains(acc, oci.MediaTypeImageIndex) || !strings.Contains(acc, oci.MediaTypeDockerManifest) {
		t.Errorf("Accept = %q, want every manifest media type", acc)
	}

	for _, ref := range []string{"1.0", img.digest} {
		rec.Reset()
		d, body, err := c.GetManifest(ctx, repo, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, img.manifest) || d.Digest != img.digest || d.Size != int64(len(body)) || d.MediaType != oci.MediaTypeImageManifest {
			t.Fatalf("GetManifest(%s) = %+v, %d bytes; want the pushed manifest", ref, d, len(body))
		}
		wantCounts(t, rec, map[string]int{"GET manifests": 1})
	}

	for _, b := range img.blobs() {
		rec.Reset()
		ok, err := c.BlobExists(ctx, repo, oci.Digest(b))
		if err != nil || !ok {
			t.Fatalf("BlobExists = %v, %v", ok, err)
		}
		wantCounts(t, rec, map[string]int{"HEAD blobs": 1})
		rec.Reset()
		rc, err := c.OpenBlob(ctx, repo, oci.Digest(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("OpenBlob: %d bytes, %v; want %d bytes", len(got), err, len(b))
		}
		wantCounts(t, rec, map[string]int{"GET blobs": 1})
	}

	rec.Reset()
	missing := oci.Digest([]byte("missing"))
	if ok, err := c.BlobExists(ctx, repo, missing); err != nil || ok {
		t.Fatalf("BlobExists(missing) = %v, %v", ok, err)
	}
	wantCounts(t, rec, map[string]int{"HEAD blobs": 1})

	rec.Reset()
	tags, err := c.ListTags(ctx, repo)
	if err != nil || !slices.Equal(tags, []string{"1.0"}) {
		t.Fatalf("ListTags = %v, %v", tags, err)
	}
	wantCounts(t, rec, map[string]int{"GET tags": 1})

	// A manifest put by digest.
	rec.Reset()
	if err := c.PutManifest(ctx, repo, img.digest, oci.MediaTypeImageManifest, img.manifest); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, rec, map[string]int{"PUT manifests": 1})
}

func testPagination(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithMiddleware(rec.Middleware), registrytest.WithMaxTags(2))
	c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) { o.TagPageSize = 3 })
	repo := repoOf(t, s, "paged")
	img := newImage(t, 10)
	img.push(t, c, repo, "v0")
	want := []string{"v0"}
	for i := 1; i < 8; i++ {
		tag := fmt.Sprintf("v%d", i)
		if err := c.PutManifest(t.Context(), repo, tag, oci.MediaTypeImageManifest, img.manifest); err != nil {
			t.Fatal(err)
		}
		want = append(want, tag)
	}
	rec.Reset()
	tags, err := c.ListTags(t.Context(), repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if !slices.Equal(tags, want) {
		t.Fatalf("ListTags = %v, want %v", tags, want)
	}
	pages := counts(rec)["GET tags"]
	if pages < 3 {
		t.Fatalf("ListTags used %d requests for 8 tags with n=3 (and a server cap of 2): pagination not exercised:\n%s", pages, rec.Summary())
	}
	for _, r := range rec.Requests() {
		if !strings.Contains(r.RawQuery, "n=") {
			t.Errorf("page request %s lacks n=", r)
		}
	}
}

func testNotFound(t *testing.T, newServer newServerFunc) {
	s := newServer(t)
	c := clientFor(t, s)
	ctx := t.Context()
	repo := repoOf(t, s, "app")
	img := newImage(t, 10)
	img.push(t, c, repo, "1.0")

	_, _, err := c.GetManifest(ctx, repo, "nope")
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetManifest(missing) = %v, want ErrNotFound", err)
	}
	he := httpError(t, err)
	if he.Method != http.MethodGet || he.StatusCode != 404 || !strings.Contains(he.URL, "/v2/app/manifests/nope") || he.Code == "" {
		t.Errorf("HTTPError = %+v", he)
	}
	if !strings.Contains(err.Error(), "get manifest "+s.Host()+"/app:nope") {
		t.Errorf("error %q lacks context", err)
	}
	if _, err := c.HeadManifest(ctx, repo, "nope"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("HeadManifest(missing) = %v, want ErrNotFound", err)
	}
	if _, err := c.OpenBlob(ctx, repo, oci.Digest([]byte("x"))); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("OpenBlob(missing) = %v, want ErrNotFound", err)
	}
	if _, err := c.ListTags(ctx, repoOf(t, s, "no/such/repo")); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ListTags(missing repo) = %v, want ErrNotFound", err)
	}
	// Bad references never reach the wire.
	if _, err := c.HeadManifest(ctx, repo, "../x"); err == nil || errors.Is(err, core.ErrNotFound) || retry.Retryable(err) {
		t.Fatalf("HeadManifest(../x) = %v, want a final validation error", err)
	}
	if _, err := c.HeadManifest(ctx, repo, "sha256:abc"); err == nil {
		t.Fatal("HeadManifest(bad digest) succeeded")
	}
}

func testUnauthorized(t *testing.T, newServer newServerFunc) {
	s := newServer(t, registrytest.WithHtpasswd("alice", "right"))
	repo := repoOf(t, s, "app")
	for name, cred := range map[string]auth.Source{
		"anonymous":      nil,
		"wrong password": staticCred("alice", "wrong-secret-value"),
	} {
		c := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.Credentials = cred })
		_, err := c.HeadManifest(t.Context(), repo, "1.0")
		if !errors.Is(err, core.ErrUnauthorized) {
			t.Fatalf("%s: HeadManifest = %v, want ErrUnauthorized", name, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "registry "+s.Host()) || !strings.Contains(msg, "hosts[]") || !strings.Contains(msg, "docker login") {
			t.Errorf("%s: 401 message %q does not name the host and the fix", name, msg)
		}
		if strings.Contains(msg, "wrong-secret-value") {
			t.Errorf("%s: error leaks the secret: %s", name, msg)
		}
		if he := httpError(t, err); he.StatusCode != 401 {
			t.Errorf("%s: status %d", name, he.StatusCode)
		}
	}
}

func testDenied(t *testing.T, newServer newServerFunc) {
	s := newServer(t, registrytest.WithMiddleware(registrytest.Fault(-1, http.StatusForbidden, nil, func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/secret/")
	})))
	c := clientFor(t, s)
	_, err := c.ListTags(t.Context(), repoOf(t, s, "secret"))
	if !errors.Is(err, core.ErrDenied) || errors.Is(err, core.ErrUnauthorized) {
		t.Fatalf("ListTags = %v, want ErrDenied", err)
	}
	if he := httpError(t, err); he.Code != "DENIED" {
		t.Errorf("code = %q", he.Code)
	}
	if !strings.Contains(err.Error(), "lack permission") {
		t.Errorf("403 message %q lacks the hint", err)
	}
}

func testRetryAfter(t *testing.T, newServer newServerFunc) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	s := newServer(t,
		registrytest.WithMiddleware(registrytest.Fault(1, http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, func(r *http.Request) bool {
			return strings.Contains(r.URL.Path, "/manifests/a")
		})),
		registrytest.WithMiddleware(registrytest.Fault(1, http.StatusServiceUnavailable, http.Header{"Retry-After": {date}}, func(r *http.Request) bool {
			return strings.Contains(r.URL.Path, "/manifests/b")
		})),
	)
	c := clientFor(t, s)
	repo := repoOf(t, s, "app")
	_, _, err := c.GetManifest(t.Context(), repo, "a")
	he := httpError(t, err)
	if he.StatusCode != 429 || he.RetryAfter != 7*time.Second || he.Code != "TOOMANYREQUESTS" || !he.Temporary() {
		t.Fatalf("429: %+v", he)
	}
	_, err = c.HeadManifest(t.Context(), repo, "b")
	he = httpError(t, err)
	if he.StatusCode != 503 || he.RetryAfter < 80*time.Second || he.RetryAfter > 91*time.Second {
		t.Fatalf("503: %+v", he)
	}
	// No retry inside the adapter: the next call reaches the registry
	// (which now answers 404 for the absent tag).
	if _, _, err := c.GetManifest(t.Context(), repo, "a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("second GetManifest = %v, want ErrNotFound", err)
	}
}

func testBearerOnly(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithMiddleware(rec.Middleware), registrytest.WithMiddleware(requireHeader("Bearer x-token")))
	var calls atomic.Int32
	c := clientFor(t, s, func(_ *registry.Options, h *registry.Host) {
		h.Credentials = auth.SourceFunc(func(context.Context) (auth.Credential, error) {
			calls.Add(1)
			return auth.Credential{Secret: "x-token"}, nil
		})
	})
	repo := repoOf(t, s, "app")
	img := newImage(t, 100)
	img.push(t, c, repo, "1.0")
	if _, _, err := c.GetManifest(t.Context(), repo, "1.0"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.Requests() {
		if r.Header.Get("Authorization") != "Bearer x-token" || r.Status == 401 {
			t.Errorf("request %s without the bearer token", r)
		}
	}
	if calls.Load() < int32(len(rec.Requests())-1) {
		t.Errorf("credential resolved %d times for %d requests; want once per request", calls.Load(), len(rec.Requests()))
	}
	// A wrong token is a 401.
	bad := clientFor(t, s, func(_ *registry.Options, h *registry.Host) {
		h.Credentials = auth.SourceFunc(func(context.Context) (auth.Credential, error) { return auth.Credential{Secret: "nope"}, nil })
	})
	if _, err := bad.HeadManifest(t.Context(), repo, "1.0"); !errors.Is(err, core.ErrUnauthorized) {
		t.Fatalf("wrong bearer: %v", err)
	}
	// A failing credential source is reported with the host.
	broken := clientFor(t, s, func(_ *registry.Options, h *registry.Host) {
		h.Credentials = auth.SourceFunc(func(context.Context) (auth.Credential, error) {
			return auth.Credential{}, errors.New("token file missing")
		})
	})
	if _, err := broken.HeadManifest(t.Context(), repo, "1.0"); err == nil || !strings.Contains(err.Error(), "token file missing") || !strings.Contains(err.Error(), s.Host()) {
		t.Fatalf("broken source: %v", err)
	}
}

func testBasic(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithHtpasswd("alice", "pw"), registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	repo := repoOf(t, s, "app")
	img := newImage(t, 100)
	img.push(t, c, repo, "1.0")
	rec.Reset()
	if _, err := c.HeadManifest(t.Context(), repo, "1.0"); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, rec, map[string]int{"HEAD manifests": 1})
	if !strings.HasPrefix(rec.Requests()[0].Header.Get("Authorization"), "Basic ") {
		t.Fatalf("no Basic credentials sent")
	}
}

func testToken(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithTokenAuth("bob", "pw"), registrytest.WithTokenTTL(time.Minute), registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	var clock atomic.Int64 // what the client's token cache sees, as an offset from now
	registry.SetClock(c, func() time.Time { return time.Now().Add(time.Duration(clock.Load())) })
	ctx := t.Context()
	repo := repoOf(t, s, "app")
	img := newImage(t, 100)
	img.push(t, c, repo, "1.0")
	if s.TokensIssued() == 0 {
		t.Fatal("no token issued")
	}
	// Reads need a pull token, then reuse it.
	rec.Reset()
	for range 3 {
		if _, err := c.HeadManifest(ctx, repo, "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	got := counts(rec)
	if got["HEAD manifests"] != 3 || got["GET token"] > 1 {
		t.Fatalf("3 HEADs with a cached token: %v\n%s", got, rec.Summary())
	}
	// The token expires: the registry refuses it from now on and the
	// client, whose clock has passed the token's expires_in, exchanges a
	// new one before the request instead of after a 401.
	s.ExpireTokens()
	clock.Store(int64(time.Minute))
	rec.Reset()
	if _, err := c.HeadManifest(ctx, repo, "1.0"); err != nil {
		t.Fatal(err)
	}
	if got := counts(rec); got["GET token"] != 1 || got["HEAD manifests"] != 1 {
		t.Fatalf("after expiry want one new token and one HEAD: %v\n%s", got, rec.Summary())
	}
	// Wrong password: the token endpoint's 401.
	bad := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.Credentials = staticCred("bob", "wrong") })
	_, err := bad.HeadManifest(ctx, repo, "1.0")
	if !errors.Is(err, core.ErrUnauthorized) || !strings.Contains(err.Error(), "/token") {
		t.Fatalf("wrong token password: %v", err)
	}
}

func testTLS(t *testing.T, newServer newServerFunc) {
	s := newServer(t, registrytest.WithTLS())
	c := clientFor(t, s)
	repo := repoOf(t, s, "app")
	newImage(t, 100).push(t, c, repo, "1.0")
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	// Without the CA the server is not trusted.
	plain := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.TLS = nil })
	_, err := plain.HeadManifest(t.Context(), repo, "1.0")
	if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "hosts[].tls.serverAuth") {
		t.Fatalf("untrusted CA: %v", err)
	}
	if retry.Retryable(err) {
		t.Errorf("an untrusted server certificate is retryable: %v", err)
	}
	// Insecure skips verification (development only).
	insecure := clientFor(t, s, func(o *registry.Options, h *registry.Host) { h.TLS, o.Insecure = nil, true })
	if _, err := insecure.HeadManifest(t.Context(), repo, "1.0"); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}

func testMTLS(t *testing.T, newServer newServerFunc) {
	s := newServer(t, registrytest.WithClientCA())
	repo := repoOf(t, s, "app")
	c := clientFor(t, s)
	newImage(t, 100).push(t, c, repo, "1.0")

	noCert := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.TLS.Certificates = nil })
	_, err := noCert.HeadManifest(t.Context(), repo, "1.0")
	if err == nil || !errors.Is(err, core.ErrUnauthorized) || !strings.Contains(err.Error(), "hosts[].tls.clientAuth") || retry.Retryable(err) {
		t.Fatalf("a request without a client certificate: %v", err)
	}
	expired := clientFor(t, s, func(_ *registry.Options, h *registry.Host) {
		h.TLS.Certificates = []tls.Certificate{s.ExpiredClientCertificate()}
	})
	_, err = expired.HeadManifest(t.Context(), repo, "1.0")
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), s.Host()) || retry.Retryable(err) {
		t.Fatalf("expired client certificate: %v", err)
	}
}

func testChunked(t *testing.T, newServer newServerFunc) {
	const limit = 64 << 10
	rec := registrytest.NewRecorder()
	tooLarge := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && r.ContentLength > limit {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	s := newServer(t, registrytest.WithMiddleware(rec.Middleware), registrytest.WithMiddleware(tooLarge))
	repo := repoOf(t, s, "big")
	blob := registrytest.RandomBytes(t, 3*limit+123)
	desc := oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob))}

	mono := clientFor(t, s)
	err := mono.PushBlob(t.Context(), repo, desc, bytes.NewReader(blob))
	if he := httpError(t, err); he.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("monolithic upload through a %d-byte body limit: %v", limit, err)
	}

	chunked := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.MaxChunkSize = limit })
	if _, err := chunked.BlobExists(t.Context(), repo, desc.Digest); err != nil { // warm the ping
		t.Fatal(err)
	}
	rec.Reset()
	if err := chunked.PushBlob(t.Context(), repo, desc, bytes.NewReader(blob)); err != nil {
		t.Fatalf("chunked upload: %v", err)
	}
	wantCounts(t, rec, map[string]int{"POST uploads": 1, "PATCH uploads": 4, "PUT uploads": 1})
	var offsets []string
	for _, r := range rec.Requests() {
		if r.Method == http.MethodPatch {
			offsets = append(offsets, r.Header.Get("Content-Range"))
			if r.ContentLength > limit {
				t.Errorf("chunk of %d bytes", r.ContentLength)
			}
		}
	}
	wantRanges := []string{"0-65535", "65536-131071", "131072-196607", "196608-196730"}
	if !slices.Equal(offsets, wantRanges) {
		t.Errorf("Content-Range = %v, want %v", offsets, wantRanges)
	}
	if got := s.Blob(t, "big", desc.Digest); !bytes.Equal(got, blob) {
		t.Fatal("stored blob differs")
	}
	// A blob that fits in one chunk goes monolithic.
	small := []byte("small blob")
	rec.Reset()
	if err := chunked.PushBlob(t.Context(), repo, oci.Descriptor{Digest: oci.Digest(small), Size: int64(len(small))}, bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, rec, map[string]int{"POST uploads": 1, "PUT uploads": 1})
	// Content longer than the descriptor is refused.
	long := append(bytes.Repeat([]byte("x"), 2*limit), 'y')
	d := oci.Descriptor{Digest: oci.Digest(long[:2*limit]), Size: 2 * limit}
	if err := chunked.PushBlob(t.Context(), repo, d, bytes.NewReader(long)); err == nil {
		t.Fatal("pushing more bytes than the descriptor's size succeeded")
	}
	// A wrong digest is refused by the registry.
	d = oci.Descriptor{Digest: oci.Digest([]byte("other")), Size: int64(len(small))}
	if err := mono.PushBlob(t.Context(), repo, d, bytes.NewReader(small)); err == nil {
		t.Fatal("pushing content with a wrong digest succeeded")
	}
}

func testMount(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	ctx := t.Context()
	from, to := repoOf(t, s, "source/app"), repoOf(t, s, "dest/app")
	blob := registrytest.RandomBytes(t, 5000)
	desc := oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob))}
	if err := c.PushBlob(ctx, from, desc, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	rec.Reset()
	mounted, err := c.MountBlob(ctx, to, from, desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if r := rec.Requests(); len(r) != 1 || r[0].Method != http.MethodPost ||
		!strings.Contains(r[0].RawQuery, "mount="+strings.Replace(desc.Digest, ":", "%3A", 1)) || !strings.Contains(r[0].RawQuery, "from=source%2Fapp") {
		t.Fatalf("mount requests:\n%s", rec.Summary())
	}
	if mounted != s.SupportsMount() {
		t.Fatalf("MountBlob = %v, want %v", mounted, s.SupportsMount())
	}
	if !mounted {
		// The session the 202 opened is reused: PUT only, no second POST.
		rec.Reset()
		if err := c.PushBlob(ctx, to, desc, bytes.NewReader(blob)); err != nil {
			t.Fatal(err)
		}
		wantCounts(t, rec, map[string]int{"PUT uploads": 1})
	}
	if ok, err := c.BlobExists(ctx, to, desc.Digest); err != nil || !ok {
		t.Fatalf("blob not in destination after mount: %v, %v", ok, err)
	}
	// Another host or the same repository: no request, not mounted.
	rec.Reset()
	other := oci.Repository{Host: "other.example:5000", Path: "x"}
	if ok, err := c.MountBlob(ctx, to, other, desc.Digest); ok || err != nil {
		t.Fatalf("cross-host mount = %v, %v", ok, err)
	}
	if len(rec.Requests()) != 0 {
		t.Fatalf("cross-host mount sent requests:\n%s", rec.Summary())
	}
}

func testReferrers(t *testing.T, newServer newServerFunc) {
	rec := registrytest.NewRecorder()
	s := newServer(t, registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	ctx := t.Context()
	repo := repoOf(t, s, "app")
	subject := s.PushRandomImage(t, "app:1.0", 1, 100)
	sig := s.PushReferrer(t, "app:1.0", "application/vnd.dev.cosign.artifact.sig.v1+json")
	sbom := s.PushReferrer(t, "app:1.0", "application/spdx+json")

	rec.Reset()
	supported, err := c.SupportsReferrersAPI(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if supported != s.SupportsReferrersAPI() {
		t.Fatalf("SupportsReferrersAPI = %v, want %v", supported, s.SupportsReferrersAPI())
	}
	wantCounts(t, rec, map[string]int{"GET ping": 1, "GET referrers": 1})
	rec.Reset()
	if again, err := c.SupportsReferrersAPI(ctx, repoOf(t, s, "other")); err != nil || again != supported {
		t.Fatalf("second probe = %v, %v", again, err)
	}
	if len(rec.Requests()) != 0 {
		t.Fatalf("the probe is not cached per host:\n%s", rec.Summary())
	}

	rec.Reset()
	descs, err := c.Referrers(ctx, repo, subject)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range descs {
		got = append(got, d.Digest)
		if d.MediaType != oci.MediaTypeImageManifest || d.Size <= 0 {
			t.Errorf("referrer descriptor %+v", d)
		}
	}
	slices.Sort(got)
	want := []string{sig, sbom}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Referrers = %v, want %v", got, want)
	}
	if supported {
		wantCounts(t, rec, map[string]int{"GET referrers": 1})
	} else {
		wantCounts(t, rec, map[string]int{"GET manifests": 1}) // straight to the fallback tag
	}

	// A subject without referrers has none, through either path.
	fresh := newClientLike(t, s)
	if descs, err := fresh.Referrers(ctx, repo, oci.Digest([]byte("no referrers"))); err != nil || len(descs) != 0 {
		t.Fatalf("Referrers(no referrers) = %v, %v", descs, err)
	}
	if _, err := fresh.Referrers(ctx, repo, "sha256:zz"); err == nil {
		t.Fatal("invalid digest accepted")
	}
	if registry.FallbackTag(subject) != "sha256-"+strings.TrimPrefix(subject, "sha256:") {
		t.Fatalf("FallbackTag(%s) = %s", subject, registry.FallbackTag(subject))
	}
}

func newClientLike(t testing.TB, s *registrytest.Server) *registry.Client { return clientFor(t, s) }

func testStreaming(t *testing.T, newServer newServerFunc) {
	if testing.Short() {
		t.Skip("64 MiB streaming test skipped with -short")
	}
	const size = 64 << 20
	// The middleware measures how far the client's reading of the content
	// runs ahead of what the registry has received (push), and how much the
	// registry could write before the client read anything (pull). A
	// client that buffered the blob would run 64 MiB ahead.
	var produced, received, maxLead, written atomic.Int64
	reading := make(chan struct{}) // closed when the client starts reading the pulled blob
	var overrun atomic.Bool
	measure := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil {
				r.Body = &countingBody{ReadCloser: r.Body, onRead: func(n int) {
					lead := produced.Load() - received.Add(int64(n))
					for {
						m := maxLead.Load()
						if lead <= m || maxLead.CompareAndSwap(m, lead) {
							break
						}
					}
				}}
			}
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				w = &countingWriter{ResponseWriter: w, n: &written, limit: 32 << 20, until: reading, overrun: &overrun}
			}
			next.ServeHTTP(w, r)
		})
	}
	s := newServer(t, registrytest.WithFilesystem(), registrytest.WithMiddleware(measure))
	c := clientFor(t, s)
	repo := repoOf(t, s, "stream")
	digest := patternDigest(t, size, 42)
	desc := oci.Descriptor{Digest: digest, Size: size}

	src := newPatternReader(size, 42)
	src.produced = &produced
	if err := c.PushBlob(t.Context(), repo, desc, src); err != nil {
		t.Fatal(err)
	}
	if received.Load() != size {
		t.Fatalf("registry received %d bytes, want %d", received.Load(), size)
	}
	if lead := maxLead.Load(); lead > 16<<20 {
		t.Fatalf("the client read %d MiB of content ahead of the registry: not streaming", lead>>20)
	}

	// The registry may write at most 32 MiB until the client reads: a
	// client that buffered the blob in OpenBlob would make it write all
	// 64 MiB before OpenBlob returns, and the writer refuses that.
	rc, err := c.OpenBlob(t.Context(), repo, digest)
	if overrun.Load() {
		t.Fatalf("the registry had to write more than 32 MiB before the client read anything: OpenBlob buffers (%v)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	close(reading)
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil || n != size || digestOf(h) != digest {
		t.Fatalf("read back %d bytes (%v), digest %s, want %s", n, err, digestOf(h), digest)
	}
}

func testRedirect(t *testing.T, newServer newServerFunc) {
	// Blob storage on another port of 127.0.0.1: it records the headers it
	// receives and serves the content.
	content := []byte("blob content from storage")
	var leaked atomic.Value
	leaked.Store("")
	var storageUploads atomic.Int32
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			leaked.Store(a)
		}
		switch r.Method {
		case http.MethodPatch: // an upload session on another host
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Location", "/upload/next")
			w.WriteHeader(http.StatusAccepted)
		case http.MethodPut:
			_, _ = io.Copy(io.Discard, r.Body)
			storageUploads.Add(1)
			w.WriteHeader(http.StatusCreated)
		default:
			_, _ = w.Write(content)
		}
	}))
	t.Cleanup(storage.Close)
	redirect := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				http.Redirect(w, r, storage.URL+"/storage/blob?X-Amz-Signature=secret", http.StatusTemporaryRedirect)
				return
			}
			if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") {
				w.Header().Set("Location", storage.URL+"/upload/session")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	for _, tc := range []struct {
		name string
		opts []registrytest.Option
		edit func(*registry.Options, *registry.Host)
	}{
		{"bearer", []registrytest.Option{registrytest.WithMiddleware(requireHeader("Bearer hush")), registrytest.WithMiddleware(redirect)},
			func(_ *registry.Options, h *registry.Host) {
				h.Credentials = auth.SourceFunc(func(context.Context) (auth.Credential, error) { return auth.Credential{Secret: "hush"}, nil })
			}},
		{"basic", []registrytest.Option{registrytest.WithHtpasswd("alice", "pw"), registrytest.WithMiddleware(redirect)}, nil},
		{"token", []registrytest.Option{registrytest.WithTokenAuth("bob", "pw"), registrytest.WithMiddleware(redirect)}, nil},
	} {
		leaked.Store("")
		storageUploads.Store(0)
		s := newServer(t, tc.opts...)
		var edits []func(*registry.Options, *registry.Host)
		if tc.edit != nil {
			edits = append(edits, tc.edit)
		}
		c := clientFor(t, s, edits...)
		rc, err := c.OpenBlob(t.Context(), repoOf(t, s, "app"), oci.Digest(content))
		if err != nil {
			t.Fatalf("%s: OpenBlob through a redirect: %v", tc.name, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, content) {
			t.Fatalf("%s: got %q", tc.name, got)
		}
		// Uploads whose Location points at another host: monolithic and chunked.
		blob := []byte("uploaded to another host")
		desc := oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob))}
		if err := c.PushBlob(t.Context(), repoOf(t, s, "app"), desc, bytes.NewReader(blob)); err != nil {
			t.Fatalf("%s: PushBlob to a cross-host Location: %v", tc.name, err)
		}
		chunked := clientFor(t, s, append(edits, func(_ *registry.Options, h *registry.Host) { h.MaxChunkSize = 8 })...)
		if err := chunked.PushBlob(t.Context(), repoOf(t, s, "app"), desc, bytes.NewReader(blob)); err != nil {
			t.Fatalf("%s: chunked PushBlob to a cross-host Location: %v", tc.name, err)
		}
		if l := leaked.Load().(string); l != "" {
			t.Fatalf("%s: the registry credential reached another host (port): %q", tc.name, l)
		}
		if n := storageUploads.Load(); n != 2 {
			t.Fatalf("%s: %d uploads completed on the other host, want 2", tc.name, n)
		}
	}
}

func testLogging(t *testing.T, newServer newServerFunc) {
	s := newServer(t, registrytest.WithHtpasswd("alice", "very-secret-pw"))
	var logs logBuffer
	c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) { o.Logger = logs.logger() })
	repo := repoOf(t, s, "app")
	newImage(t, 10).push(t, c, repo, "1.0")
	out := logs.String()
	for _, want := range []string{"registry request", "method=PUT", "/v2/app/manifests/1.0", "status=201", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"very-secret-pw", "Authorization", "Basic ", "_state="} {
		if strings.Contains(out, secret) && !strings.Contains(out, secret+"REDACTED") {
			t.Errorf("debug log contains %q:\n%s", secret, out)
		}
	}
}
