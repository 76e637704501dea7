package registrytest

import (
	"net/http"
	"slices"
	"testing"
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
