package mirrortest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// The engine's tests lean on this registry being as strict as a real one;
// these tests pin that strictness down.
func TestRegistryIsStrict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistry()
	repo := oci.Repository{Host: "r.example.com", Path: "a/b"}
	body, blobs, contents := Image{Layers: []string{"l"}}.Manifest()

	if _, err := r.HeadManifest(ctx, repo, "1"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("HEAD of a missing tag: %v", err)
	}
	if _, err := r.ListTags(ctx, repo); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("tags of a missing repository: %v", err)
	}
	err := r.PutManifest(ctx, repo, "1", oci.MediaTypeImageManifest, body)
	if err == nil || !strings.Contains(err.Error(), "MANIFEST_BLOB_UNKNOWN") {
		t.Errorf("manifest before its blobs: %v", err)
	}
	if err := r.PutManifest(ctx, repo, oci.Digest([]byte("x")), oci.MediaTypeImageManifest, body); err == nil {
		t.Error("manifest under a digest it does not hash to was accepted")
	}
	// A bad stream is not stored.
	bad := blobs[0]
	if err := r.PushBlob(ctx, repo, bad, strings.NewReader("not the content")); err == nil || r.HasBlob(repo.String(), bad.Digest) {
		t.Errorf("blob with wrong content: %v", err)
	}
	if err := r.PushBlob(ctx, repo, bad, io.MultiReader(strings.NewReader(string(contents[0])), errReader{})); err == nil || r.HasBlob(repo.String(), bad.Digest) {
		t.Errorf("blob whose stream failed: %v", err)
	}
	for i, b := range blobs {
		if err := r.PushBlob(ctx, repo, b, strings.NewReader(string(contents[i]))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.PutManifest(ctx, repo, "1", oci.MediaTypeImageManifest, body); err != nil {
		t.Fatal(err)
	}
	d, err := r.HeadManifest(ctx, repo, "1")
	if err != nil || d.Digest != oci.Digest(body) || d.Size != int64(len(body)) || d.MediaType != oci.MediaTypeImageManifest {
		t.Errorf("HEAD %+v, %v", d, err)
	}
	idx := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + oci.Digest([]byte("nope")) + `","size":4}]}`)
	if err := r.PutManifest(ctx, repo, "i", oci.MediaTypeImageIndex, idx); err == nil {
		t.Error("index with a missing child was accepted")
	}
	if got := r.Count(PutManifest); got != 4 {
		t.Errorf("counted %d PutManifest calls", got)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("stream broke") }

func TestRegistryFaultsAndInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistry()
	repo := oci.Repository{Host: "r.example.com", Path: "a"}
	r.SeedImage(repo.String(), "1", Image{Layers: []string{"x"}})
	r.AddFault(Fault{Method: HeadManifest, Err: &core.HTTPError{StatusCode: 503}, Times: 2})
	for i, want := range []bool{false, false, true} {
		_, err := r.HeadManifest(ctx, repo, "1")
		if (err == nil) != want {
			t.Errorf("call %d: %v", i, err)
		}
	}
	r.AddFault(Fault{Method: ListTags, Delay: time.Hour})
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := r.ListTags(cctx, repo); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow call with a deadline: %v", err)
	}
	if r.MaxInFlight() != 1 || r.MaxInFlightOn("r.example.com") != 1 || r.MaxInFlightOf("r.example.com", ListTags) != 1 {
		t.Errorf("in flight %d", r.MaxInFlight())
	}
}

func TestReferrersViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistry()
	r.SetReferrersAPI("noapi.example.com", false)
	for _, host := range []string{"api.example.com", "noapi.example.com"} {
		repo := host + "/a"
		subject := r.SeedImage(repo, "1", Image{Layers: []string{"x"}})
		sig := r.SeedImage(repo, "", Image{ArtifactType: "t/sig", Layers: []string{"s"}, Subject: &subject})
		list, err := r.Referrers(ctx, oci.Repository{Host: host, Path: "a"}, subject.Digest)
		if err != nil || len(list) != 1 || list[0].Digest != sig.Digest || list[0].ArtifactType != "t/sig" {
			t.Errorf("%s: referrers %+v, %v", host, list, err)
		}
		api, _ := r.SupportsReferrersAPI(ctx, oci.Repository{Host: host, Path: "a"})
		if api != (host == "api.example.com") {
			t.Errorf("%s: API %v", host, api)
		}
	}
}

func TestRegistryLostAnswersAndBrokenStreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := NewRegistry()
	repo := oci.Repository{Host: "r.example.com", Path: "a"}
	body, blobs, contents := Image{Layers: []string{"0123456789"}}.Manifest()
	for i, b := range blobs {
		r.SeedBlob(repo.String(), b.MediaType, contents[i])
	}
	reset := errors.New("connection reset by peer")
	r.AddFault(Fault{Method: PutManifest, Err: reset, Lost: true, Times: 1})
	if err := r.PutManifest(ctx, repo, "1", oci.MediaTypeImageManifest, body); err != reset {
		t.Errorf("lost answer: %v", err)
	}
	if r.Digest(repo.String(), "1") != oci.Digest(body) {
		t.Error("a write whose answer was lost did not take effect")
	}
	layer := blobs[1]
	r.AddFault(Fault{Method: OpenBlob, Ref: layer.Digest, StreamErr: io.ErrUnexpectedEOF, StreamAfter: 4, Times: 1})
	for i, want := range []error{io.ErrUnexpectedEOF, nil} {
		rc, err := r.OpenBlob(ctx, repo, layer.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != want || want != nil && string(got) != "0123" || want == nil && string(got) != "0123456789" {
			t.Errorf("read %d: %q, %v; want the stream to break after 4 bytes once", i, got, err)
		}
	}
}
