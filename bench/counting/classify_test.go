package counting

import (
	"slices"
	"testing"
)

func TestClassify(t *testing.T) {
	const d = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		method, path, query string
		want                Kind
	}{
		{"GET", "/v2/", "", Ping},
		{"HEAD", "/v2/", "", Ping},
		{"GET", "/v2", "", Ping},
		{"POST", "/v2/", "", Other},
		{"GET", "/token", "scope=repository:a:pull", Token},
		{"GET", "/v2/_catalog", "n=10", Catalog},
		{"GET", "/v2/app/tags/list", "", TagList},
		{"GET", "/v2/org/team/app/tags/list", "n=100&last=1.0", TagList},
		{"DELETE", "/v2/app/tags/list", "", Other},
		{"HEAD", "/v2/app/manifests/1.0", "", ManifestHead},
		{"GET", "/v2/app/manifests/" + d, "", ManifestGet},
		{"PUT", "/v2/a/b/c/manifests/latest", "", ManifestPut},
		{"DELETE", "/v2/app/manifests/" + d, "", ManifestDelete},
		{"HEAD", "/v2/app/blobs/" + d, "", BlobHead},
		{"GET", "/v2/app/blobs/" + d, "", BlobGet},
		{"DELETE", "/v2/app/blobs/" + d, "", BlobDelete},
		{"POST", "/v2/app/blobs/uploads/", "", UploadPost},
		{"POST", "/v2/app/blobs/uploads/", "digest=" + d, UploadPost},
		{"POST", "/v2/app/blobs/uploads/", "mount=" + d + "&from=other", Mount},
		{"POST", "/v2/app/blobs/uploads/", "mount=&from=other", UploadPost},
		{"PATCH", "/v2/app/blobs/uploads/0b1c-uuid", "_state=x", UploadPatch},
		{"PUT", "/v2/app/blobs/uploads/0b1c-uuid", "_state=x&digest=" + d, UploadPut},
		{"GET", "/v2/app/blobs/uploads/0b1c-uuid", "", UploadStatus},
		{"DELETE", "/v2/app/blobs/uploads/0b1c-uuid", "", UploadCancel},
		{"GET", "/v2/app/referrers/" + d, "artifactType=x", Referrers},
		// Repository names whose components look like route words.
		{"GET", "/v2/blobs/manifests/1.0", "", ManifestGet},
		{"HEAD", "/v2/manifests/blobs/" + d, "", BlobHead},
		{"GET", "/v2/tags/list/tags/list", "", TagList},
		{"POST", "/v2/blobs/uploads/blobs/uploads/", "", UploadPost},
		{"PUT", "/v2/x/blobs/uploads/blobs/uploads/id", "", UploadPut},
		{"GET", "/v2/referrers/referrers/" + d, "", Referrers},
		// Not routes.
		{"GET", "/v2/manifests/1.0", "", Other},
		{"GET", "/v2//manifests/1.0", "", Other},
		{"GET", "/v2/app/manifests/", "", Other},
		{"GET", "/v2/app/blobs/", "", Other},
		{"POST", "/v2/app/blobs/uploads", "", Other},
		{"GET", "/v2/app", "", Other},
		{"GET", "/healthz", "", Other},
		{"GET", "/", "", Other},
	} {
		if got := Classify(tc.method, tc.path, tc.query); got != tc.want {
			t.Errorf("Classify(%s %s?%s) = %s, want %s", tc.method, tc.path, tc.query, got, tc.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/a/b/manifests/x", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/id", "/v2//", "/v2/a//tags/list"} {
		f.Add("GET", s, "mount=x&from=y")
	}
	f.Fuzz(func(t *testing.T, method, path, query string) {
		k := Classify(method, path, query)
		if !slices.Contains(Kinds, k) {
			t.Fatalf("Classify returned %q, which is not in Kinds", k)
		}
	})
}
