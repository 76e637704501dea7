package faultproxy

import (
	"net/http"
	"regexp"
)

// Class is a kind of request: a method and a path pattern. The zero parts
// match anything: Class{} (like Any) matches every request.
type Class struct {
	// Name identifies the class in messages.
	Name string
	// Method is the HTTP method, or "" for any.
	Method string
	// Path is matched against the URL path (without the query), or nil
	// for any path.
	Path *regexp.Regexp
}

// Match reports whether r belongs to the class.
func (c Class) Match(r *http.Request) bool { return c.match(r.Method, r.URL.Path) }

func (c Class) match(method, path string) bool {
	if c.Method != "" && c.Method != method {
		return false
	}
	return c.Path == nil || c.Path.MatchString(path)
}

// String returns the class's name.
func (c Class) String() string { return c.Name }

// Path patterns of the OCI distribution API. Repository names may contain
// slashes, so the route is anchored at the end of the path.
var (
	blobPath           = regexp.MustCompile(`^/v2/.+/blobs/[a-z0-9]+:[a-f0-9]+$`)
	manifestPath       = regexp.MustCompile(`^/v2/.+/manifests/[^/]+$`)
	manifestTagPath    = regexp.MustCompile(`^/v2/.+/manifests/[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
	manifestDigestPath = regexp.MustCompile(`^/v2/.+/manifests/[a-z0-9]+:[a-f0-9]+$`)
	uploadStartPath    = regexp.MustCompile(`^/v2/.+/blobs/uploads/$`)
	uploadPath         = regexp.MustCompile(`^/v2/.+/blobs/uploads/[^/]+$`)
	tagListPath        = regexp.MustCompile(`^/v2/.+/tags/list$`)
)

// The request classes of a registry mirror's copy.
var (
	// Any is every request.
	Any = Class{Name: "any"}
	// BlobGet streams a blob: GET /v2/<name>/blobs/<digest>.
	BlobGet = Class{Name: "blob GET", Method: http.MethodGet, Path: blobPath}
	// BlobHead checks a blob: HEAD /v2/<name>/blobs/<digest>.
	BlobHead = Class{Name: "blob HEAD", Method: http.MethodHead, Path: blobPath}
	// ManifestGet fetches a manifest by tag or digest.
	ManifestGet = Class{Name: "manifest GET", Method: http.MethodGet, Path: manifestPath}
	// ManifestHead resolves a manifest by tag or digest.
	ManifestHead = Class{Name: "manifest HEAD", Method: http.MethodHead, Path: manifestPath}
	// ManifestPut stores a manifest by tag or digest.
	ManifestPut = Class{Name: "manifest PUT", Method: http.MethodPut, Path: manifestPath}
	// TagPut stores a manifest under a tag: the write that moves a tag.
	TagPut = Class{Name: "tag PUT", Method: http.MethodPut, Path: manifestTagPath}
	// ChildPut stores a manifest by digest (an index's platform image).
	ChildPut = Class{Name: "manifest PUT by digest", Method: http.MethodPut, Path: manifestDigestPath}
	// UploadPost opens a blob upload (or asks for a mount).
	UploadPost = Class{Name: "upload POST", Method: http.MethodPost, Path: uploadStartPath}
	// UploadPatch sends a chunk of a blob upload.
	UploadPatch = Class{Name: "upload PATCH", Method: http.MethodPatch, Path: uploadPath}
	// UploadPut closes a blob upload: the request that commits a blob.
	UploadPut = Class{Name: "upload PUT", Method: http.MethodPut, Path: uploadPath}
	// TagList lists a repository's tags.
	TagList = Class{Name: "tag list", Method: http.MethodGet, Path: tagListPath}
)
