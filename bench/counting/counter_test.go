package counting

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// TestCounterOnARealRegistry pushes and pulls an image through a counted
// distribution registry with go-containerregistry and checks the kinds and
// bytes it saw, then a cross-repository mount, then the latency.
func TestCounterOnARealRegistry(t *testing.T) {
	t.Parallel()
	c := New()
	srv := registrytest.NewDistribution(t, registrytest.WithMiddleware(c.Middleware))
	layers := []v1.Layer{
		static.NewLayer(bytes.Repeat([]byte("a"), 3000), types.OCILayer),
		static.NewLayer(bytes.Repeat([]byte("b"), 5000), types.OCILayer),
	}
	srv.PushImage(t, "app:1.0", layers)

	got := c.Snapshot()
	// ggcr: ping, then per blob (2 layers + config) HEAD, POST, PATCH, PUT,
	// then the manifest PUT.
	for k, n := range map[Kind]int{BlobHead: 3, UploadPost: 3, UploadPatch: 3, UploadPut: 3, ManifestPut: 1} {
		if got.Requests[k] != n {
			t.Errorf("%s = %d, want %d (all: %s)", k, got.Requests[k], n, got)
		}
	}
	if got.Requests[Ping] < 1 || got.Requests[Other] != 0 {
		t.Errorf("ping %d, other %d (all: %s)", got.Requests[Ping], got.Requests[Other], got)
	}
	if got.BytesIn < 8000 {
		t.Errorf("BytesIn = %d, want at least the 8000 layer bytes", got.BytesIn)
	}
	if len(got.Log) != got.Total() || !strings.HasPrefix(got.Log[len(got.Log)-1], "PUT /v2/app/manifests/1.0 -> 201") {
		t.Errorf("log %q", got.Log)
	}

	c.Reset()
	ref, err := name.ParseReference(srv.Ref("app:1.0"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithTransport(srv.Transport()))
	if err != nil {
		t.Fatal(err)
	}
	l, _ := img.LayerByDigest(mustDigest(t, layers[1]))
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	got = c.Snapshot()
	if got.Requests[ManifestGet] != 1 || got.Requests[BlobGet] != 1 || got.BytesOut < 5000 || got.BytesIn != 0 {
		t.Errorf("pull: %s, in %d, out %d", got, got.BytesIn, got.BytesOut)
	}

	// A mount from another repository of the same registry.
	c.Reset()
	d := mustDigest(t, layers[0])
	resp := do(t, srv.Transport(), http.MethodPost, srv.URL()+"/v2/other/blobs/uploads/?mount="+d.String()+"&from=app")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mount: %s", resp.Status)
	}
	if got := c.Snapshot(); got.Requests[Mount] != 1 || got.Total() != 1 {
		t.Errorf("mount: %s", got)
	}

	// Latency delays each request; the request is counted once handled.
	c.Reset()
	c.SetLatency(60 * time.Millisecond)
	start := time.Now()
	do(t, srv.Transport(), http.MethodGet, srv.URL()+"/v2/")
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Errorf("request took %v with 60ms latency", el)
	}
	c.SetLatency(0)
	if got := c.Snapshot(); got.Requests[Ping] != 1 {
		t.Errorf("after latency: %s", got)
	}
}

func TestCountsString(t *testing.T) {
	c := Counts{Requests: map[Kind]int{ManifestPut: 2, Ping: 1, TagList: 1, BlobGet: 0}}
	if got, want := c.String(), "ping 1, tags 1, manifest-PUT 2"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if c.Total() != 4 {
		t.Errorf("Total = %d", c.Total())
	}
	if got := (Counts{}).String(); got != "none" {
		t.Errorf("empty String = %q", got)
	}
}

func mustDigest(t *testing.T, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func do(t *testing.T, rt http.RoundTripper, method, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
