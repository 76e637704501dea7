package registrytest

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestSeedAndReadBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		new  func(testing.TB, ...Option) *Server
		opts []Option
	}{
		{"distribution", NewDistribution, nil},
		{"distribution-fs-htpasswd-tls", NewDistribution, []Option{WithFilesystem(), WithHtpasswd("alice", "pw"), WithTLS()}},
		{"distribution-token-mtls", NewDistribution, []Option{WithTokenAuth("bob", "pw"), WithClientCA()}},
		{"oci", NewOCI, nil},
		{"oci-noreferrers-basic", NewOCI, []Option{WithoutReferrersAPI(), WithHtpasswd("alice", "pw")}},
		{"oci-token-tls", NewOCI, []Option{WithTokenAuth("bob", "pw"), WithTLS()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := NewRecorder()
			s := tc.new(t, append(tc.opts, WithMiddleware(rec.Middleware))...)
			img := s.PushRandomImage(t, "app:1.0", 2, 1000)
			if got := s.Digest(t, "app:1.0"); got != img {
				t.Fatalf("Digest = %s, want %s", got, img)
			}
			idx := s.PushIndex(t, "app:multi")
			if mt, _ := s.Manifest(t, "app@"+idx); mt != "application/vnd.oci.image.index.v1+json" {
				t.Fatalf("index media type %q", mt)
			}
			art := s.PushArtifact(t, "app:art", "application/vnd.example+json", "", []byte("hello"))
			if !s.HasManifest(t, "app@"+art) || s.HasManifest(t, "app:nope") {
				t.Fatal("HasManifest wrong")
			}
			ref := s.PushReferrer(t, "app:1.0", "application/vnd.example.sig")
			refs := s.Referrers(t, "app", img)
			if len(refs) != 1 || refs[0].Digest.String() != ref {
				t.Fatalf("referrers = %v, want %s", refs, ref)
			}
			tags := s.Tags(t, "app")
			for _, want := range []string{"1.0", "multi", "art"} {
				if !slices.Contains(tags, want) {
					t.Fatalf("tags %v lack %s", tags, want)
				}
			}
			blob := s.PushBlob(t, "other", []byte("blob"))
			if !s.HasBlob(t, "other", blob) || string(s.Blob(t, "other", blob)) != "blob" {
				t.Fatal("blob round trip failed")
			}
			if rec.Count(http.MethodPut, "/manifests/") == 0 {
				t.Fatalf("recorder saw no manifest PUT:\n%s", rec.Summary())
			}
			if (tc.opts != nil) && s.Username() != "" && tc.name != "oci-noreferrers-basic" && tc.name != "distribution-fs-htpasswd-tls" && s.TokensIssued() == 0 {
				t.Fatal("no tokens issued")
			}
		})
	}
}

func TestPushIndexOfSharesLayers(t *testing.T) {
	t.Parallel()
	s := NewDistribution(t)
	base := RandomLayer(t, 1000)
	baseDigest, err := base.Digest()
	if err != nil {
		t.Fatal(err)
	}
	idx := s.PushIndexOf(t, "app:multi",
		PlatformImage{Platform: "linux/amd64", Layers: []v1.Layer{base, RandomLayer(t, 10)}},
		PlatformImage{Platform: "linux/arm/v7", Layers: []v1.Layer{base}},
	)
	_, body := s.Manifest(t, "app@"+idx)
	var index v1.IndexManifest
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 2 || index.Manifests[0].Platform.Architecture != "amd64" ||
		index.Manifests[1].Platform.Architecture != "arm" || index.Manifests[1].Platform.Variant != "v7" {
		t.Fatalf("index manifests %+v, want amd64 then arm/v7", index.Manifests)
	}
	for _, child := range index.Manifests {
		_, body := s.Manifest(t, "app@"+child.Digest.String())
		var m v1.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Layers) == 0 || m.Layers[0].Digest != baseDigest {
			t.Errorf("child %s does not start with the shared base layer %s", child.Digest, baseDigest)
		}
	}
	if !s.HasBlob(t, "app", baseDigest.String()) {
		t.Error("the shared base layer is not in the repository")
	}
}
