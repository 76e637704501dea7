package registry_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// TestErrorMessagesNameEachContextOnce runs the adapter's failure cases
// against real registries and checks that every message names the
// registry host and no context twice (mirrortest.RepeatedClause).
func TestErrorMessagesNameEachContextOnce(t *testing.T) {
	t.Parallel()
	plain := registrytest.NewDistribution(t, registrytest.WithMiddleware(registrytest.Fault(-1, http.StatusInternalServerError, nil, func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/broken/")
	})), registrytest.WithMiddleware(registrytest.Fault(-1, http.StatusForbidden, nil, func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/secret/")
	})))
	basic := registrytest.NewOCI(t, registrytest.WithHtpasswd("alice", "right"))
	token := registrytest.NewDistribution(t, registrytest.WithTokenAuth("bob", "right"))
	tlsServer := registrytest.NewDistribution(t, registrytest.WithTLS())
	otherCA := registrytest.NewDistribution(t, registrytest.WithTLS())
	mtls := registrytest.NewDistribution(t, registrytest.WithClientCA())
	readOnly := registrytest.NewDistribution(t, registrytest.WithReadOnly())
	closed := registrytest.NewDistribution(t)
	closed.Close()

	c := clientFor(t, plain)
	repo := repoOf(t, plain, "app")
	img := newImage(t, 10)
	img.push(t, c, repo, "1.0")
	blob := img.layers[0]
	wrongPassword := func(s *registrytest.Server) *registry.Client {
		return clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.Credentials = staticCred(s.Username(), "wrong") })
	}
	expiredClient := clientFor(t, mtls, func(_ *registry.Options, h *registry.Host) {
		h.TLS.Certificates = nil
	})
	ctx := t.Context()

	tests := []struct {
		name string
		host string
		call func() error
	}{
		{"manifest not found", plain.Host(), func() error { _, _, err := c.GetManifest(ctx, repo, "nope"); return err }},
		{"head not found", plain.Host(), func() error { _, err := c.HeadManifest(ctx, repo, "nope"); return err }},
		{"blob not found", plain.Host(), func() error { _, err := c.OpenBlob(ctx, repo, oci.Digest([]byte("x"))); return err }},
		{"repository not found", plain.Host(), func() error { _, err := c.ListTags(ctx, repoOf(t, plain, "no/such")); return err }},
		{"server error", plain.Host(), func() error { _, err := c.ListTags(ctx, repoOf(t, plain, "broken/app")); return err }},
		{"denied read", plain.Host(), func() error { _, err := c.ListTags(ctx, repoOf(t, plain, "secret/app")); return err }},
		{"invalid reference", plain.Host(), func() error { _, err := c.HeadManifest(ctx, repo, "../x"); return err }},
		{"invalid digest", plain.Host(), func() error { _, err := c.BlobExists(ctx, repo, "sha256:abc"); return err }},
		{"short content", plain.Host(), func() error {
			return c.PushBlob(ctx, repo, oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob)) + 5}, bytes.NewReader(blob))
		}},
		{"basic auth refused", basic.Host(), func() error {
			_, err := wrongPassword(basic).HeadManifest(ctx, repoOf(t, basic, "app"), "1.0")
			return err
		}},
		{"token refused", token.Host(), func() error {
			_, err := wrongPassword(token).ListTags(ctx, repoOf(t, token, "app"))
			return err
		}},
		{"untrusted server", tlsServer.Host(), func() error {
			cl := clientFor(t, tlsServer, func(_ *registry.Options, h *registry.Host) { h.TLS = otherCA.ClientTLSConfig() })
			_, err := cl.ListTags(ctx, repoOf(t, tlsServer, "app"))
			return err
		}},
		{"no client certificate", mtls.Host(), func() error { _, err := expiredClient.ListTags(ctx, repoOf(t, mtls, "app")); return err }},
		{"read-only blob upload", readOnly.Host(), func() error {
			return clientFor(t, readOnly).PushBlob(ctx, repoOf(t, readOnly, "app"), oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob))}, bytes.NewReader(blob))
		}},
		{"read-only manifest", readOnly.Host(), func() error {
			return clientFor(t, readOnly).PutManifest(ctx, repoOf(t, readOnly, "app"), "1.0", oci.MediaTypeImageManifest, img.manifest)
		}},
		{"connection refused", closed.Host(), func() error { _, err := clientFor(t, closed).ListTags(ctx, repoOf(t, closed, "app")); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if clause, ok := mirrortest.RepeatedClause(msg); ok {
				t.Errorf("%q\nrepeats %q", msg, clause)
			}
			if !strings.Contains(msg, tc.host) {
				t.Errorf("%q does not name the registry %s", msg, tc.host)
			}
			if n := strings.Count(msg, " (") - strings.Count(msg, " (possibly because"); n > 1 {
				t.Errorf("%q gives %d hints, want at most one", msg, n)
			}
		})
	}
}

// errSource is the failure of a blob's source stream.
var errSource = errors.New("source stream broke")

// failingReader returns n bytes of zeros, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

// TestPushBlobBlamesItsContent breaks the content of an upload midway:
// the error PushBlob returns reaches the reader's error and does not
// present it as the destination's failure.
func TestPushBlobBlamesItsContent(t *testing.T) {
	t.Parallel()
	const size = 256 << 10
	desc := oci.Descriptor{Digest: oci.Digest(make([]byte, size)), Size: size}
	for _, chunk := range []int64{0, 64 << 10} {
		t.Run(map[bool]string{true: "monolithic", false: "chunked"}[chunk == 0], func(t *testing.T) {
			t.Parallel()
			rec := registrytest.NewRecorder()
			s := registrytest.NewDistribution(t, registrytest.WithMiddleware(rec.Middleware))
			c := clientFor(t, s, func(_ *registry.Options, h *registry.Host) { h.MaxChunkSize = chunk })
			err := c.PushBlob(t.Context(), repoOf(t, s, "app"), desc, &failingReader{n: size / 2, err: errSource})
			if !errors.Is(err, errSource) {
				t.Fatalf("PushBlob = %v, want it to wrap the reader's error", err)
			}
			msg := err.Error()
			for _, request := range []string{"PUT ", "PATCH ", "chunk at"} {
				if strings.Contains(msg, request) {
					t.Errorf("%q presents the reader's failure as the registry's (%s)", msg, request)
				}
			}
			if clause, ok := mirrortest.RepeatedClause(msg); ok {
				t.Errorf("%q repeats %q", msg, clause)
			}
		})
	}

	// The same with a real source registry whose blob stream stalls.
	t.Run("stalled source registry", func(t *testing.T) {
		t.Parallel()
		st := newStall(isBlobGet, 64<<10)
		src := registrytest.NewDistribution(t, registrytest.WithMiddleware(st.middleware))
		t.Cleanup(st.release)
		dst := registrytest.NewOCI(t)
		c := clientFor(t, src, func(o *registry.Options, _ *registry.Host) { o.IdleTimeout = testIdle })
		srcRepo, dstRepo := repoOf(t, src, "app"), repoOf(t, dst, "app")
		blob := registrytest.RandomBytes(t, 256<<10)
		d := oci.Descriptor{Digest: oci.Digest(blob), Size: int64(len(blob))}
		if err := clientFor(t, src).PushBlob(t.Context(), srcRepo, d, bytes.NewReader(blob)); err != nil {
			t.Fatal(err)
		}
		rc, err := c.OpenBlob(t.Context(), srcRepo, d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		err = c.PushBlob(t.Context(), dstRepo, d, rc)
		var ie *registry.IdleError
		if !errors.As(err, &ie) || ie.Host != src.Host() {
			t.Fatalf("PushBlob = %v, want the source's *IdleError", err)
		}
		if msg := err.Error(); strings.Contains(msg, "PUT ") || !strings.Contains(msg, "no data from "+src.Host()+" for "+testIdle.String()) {
			t.Errorf("%q: want the source's stall, not a PUT failure", msg)
		}
		if ok, err := c.BlobExists(t.Context(), dstRepo, d.Digest); ok || err != nil {
			t.Errorf("BlobExists at the destination = %v, %v; want absent", ok, err)
		}
	})
}
