package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/google/go-containerregistry/pkg/authn"
)

// noKeychain resolves every host to anonymous, so that tests never read
// the developer's Docker config.
var noKeychain = authn.NewMultiKeychain()

// newServerFunc starts a test registry.
type newServerFunc func(t testing.TB, opts ...registrytest.Option) *registrytest.Server

// clientFor returns a Client configured for s: its TLS settings and, where
// the server has a user, a username/password credential.
func clientFor(t testing.TB, s *registrytest.Server, edit ...func(*registry.Options, *registry.Host)) *registry.Client {
	t.Helper()
	h := registry.Host{TLS: s.ClientTLSConfig()}
	if s.Username() != "" {
		h.Credentials = staticCred(s.Username(), s.Password())
	}
	opts := registry.Options{Keychain: noKeychain}
	for _, e := range edit {
		e(&opts, &h)
	}
	if opts.Hosts == nil {
		opts.Hosts = map[string]registry.Host{}
	}
	opts.Hosts[s.Host()] = h
	c, err := registry.New(opts)
	if err != nil {
		t.Fatalf("registry.New: %v", err)
	}
	return c
}

func staticCred(user, secret string) auth.Source {
	return auth.SourceFunc(func(context.Context) (auth.Credential, error) {
		return auth.Credential{Username: user, Secret: secret}, nil
	})
}

func repoOf(t testing.TB, s *registrytest.Server, path string) oci.Repository {
	t.Helper()
	r, err := oci.ParseRepository(s.Host() + "/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// image is a small OCI image built in memory.
type image struct {
	config   []byte
	layers   [][]byte
	manifest []byte
	digest   string
}

func newImage(t testing.TB, layerSizes ...int64) image {
	t.Helper()
	img := image{config: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)}
	m := oci.Manifest{
		SchemaVersion: 2,
		MediaType:     oci.MediaTypeImageManifest,
		Config:        &oci.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: oci.Digest(img.config), Size: int64(len(img.config))},
	}
	for _, n := range layerSizes {
		l := registrytest.RandomBytes(t, n)
		img.layers = append(img.layers, l)
		m.Layers = append(m.Layers, oci.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: oci.Digest(l), Size: n})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	img.manifest, img.digest = b, oci.Digest(b)
	return img
}

func (img image) blobs() [][]byte { return append([][]byte{img.config}, img.layers...) }

// push uploads the image's blobs and puts its manifest under tag.
func (img image) push(t testing.TB, c *registry.Client, repo oci.Repository, tag string) {
	t.Helper()
	ctx := t.Context()
	for _, b := range img.blobs() {
		if err := c.PushBlob(ctx, repo, oci.Descriptor{Digest: oci.Digest(b), Size: int64(len(b))}, bytes.NewReader(b)); err != nil {
			t.Fatalf("PushBlob: %v", err)
		}
	}
	if err := c.PutManifest(ctx, repo, tag, oci.MediaTypeImageManifest, img.manifest); err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
}

// counts returns the recorded requests as "METHOD kind" counts, where kind
// is the route (manifests, blobs, uploads, tags, referrers, ping, token).
func counts(rec *registrytest.Recorder) map[string]int {
	m := map[string]int{}
	for _, r := range rec.Requests() {
		m[r.Method+" "+route(r.Path)]++
	}
	return m
}

func route(p string) string {
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping"
	case p == "/token":
		return "token"
	case strings.Contains(p, "/blobs/uploads/"):
		return "uploads"
	case strings.Contains(p, "/blobs/"):
		return "blobs"
	case strings.Contains(p, "/manifests/"):
		return "manifests"
	case strings.Contains(p, "/tags/"):
		return "tags"
	case strings.Contains(p, "/referrers/"):
		return "referrers"
	}
	return p
}

func wantCounts(t testing.TB, rec *registrytest.Recorder, want map[string]int) {
	t.Helper()
	got := counts(rec)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d requests, want %d; all requests:\n%s", k, got[k], v, rec.Summary())
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %d× %s; all requests:\n%s", v, k, rec.Summary())
		}
	}
}

func httpError(t testing.TB, err error) *core.HTTPError {
	t.Helper()
	var he *core.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T) is not a *core.HTTPError", err, err)
	}
	return he
}

// patternReader generates n deterministic pseudo-random bytes without
// holding them: the streaming tests push large blobs through it.
type patternReader struct {
	n, off int64
	state  uint64
	word   [8]byte
	used   int // bytes of word already handed out
	// produced, if set, counts the bytes handed out.
	produced *atomic.Int64
}

func newPatternReader(n int64, seed uint64) *patternReader {
	return &patternReader{n: n, state: seed | 1, used: 8}
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	i := 0
	for i < len(b) {
		if p.used == 8 {
			p.state ^= p.state << 13
			p.state ^= p.state >> 7
			p.state ^= p.state << 17
			binary.LittleEndian.PutUint64(p.word[:], p.state)
			p.used = 0
		}
		n := copy(b[i:], p.word[p.used:])
		p.used += n
		i += n
	}
	p.off += int64(len(b))
	if p.produced != nil {
		p.produced.Add(int64(len(b)))
	}
	return len(b), nil
}

func patternDigest(t testing.TB, n int64, seed uint64) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, newPatternReader(n, seed)); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// logBuffer collects slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// requireHeader is a middleware that answers 401 unless the request has
// the Authorization header want.
func requireHeader(want string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != want {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bearer token required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// countingBody reports each read of a request body.
type countingBody struct {
	io.ReadCloser
	onRead func(n int)
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.onRead(n)
	return n, err
}

// countingWriter counts the bytes a handler writes. With a limit, it
// refuses to write more than limit bytes until the channel until is
// closed, and records that in overrun.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64

	limit   int64
	until   <-chan struct{}
	overrun *atomic.Bool
}

func (w *countingWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), 256<<10)] // a handler may write a whole blob at once
		if w.limit > 0 && w.n.Load()+int64(len(chunk)) > w.limit {
			select {
			case <-w.until:
			default:
				w.overrun.Store(true)
				return written, errors.New("more than the limit written before the client read anything")
			}
		}
		n, err := w.ResponseWriter.Write(chunk)
		w.n.Add(int64(n))
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
