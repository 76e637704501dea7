package counting

import (
	"slices"
	"strings"
)

// Kind is the route kind of one OCI distribution API request: what the
// request does, independent of the repository and reference it names.
type Kind string

// The route kinds Classify tells apart.
const (
	// Ping is GET or HEAD /v2/, the API version check clients send first.
	Ping Kind = "ping"
	// Token is a request to a token endpoint (/token, outside /v2/).
	Token Kind = "token"
	// Catalog is GET /v2/_catalog.
	Catalog Kind = "catalog"
	// TagList is GET /v2/<name>/tags/list (one page).
	TagList Kind = "tags"
	// ManifestHead resolves a manifest: HEAD /v2/<name>/manifests/<ref>.
	ManifestHead Kind = "manifest-HEAD"
	// ManifestGet fetches a manifest: GET /v2/<name>/manifests/<ref>.
	ManifestGet Kind = "manifest-GET"
	// ManifestPut stores a manifest: PUT /v2/<name>/manifests/<ref>.
	ManifestPut Kind = "manifest-PUT"
	// ManifestDelete is DELETE /v2/<name>/manifests/<ref>.
	ManifestDelete Kind = "manifest-DELETE"
	// BlobHead checks a blob: HEAD /v2/<name>/blobs/<digest>.
	BlobHead Kind = "blob-HEAD"
	// BlobGet streams a blob: GET /v2/<name>/blobs/<digest>.
	BlobGet Kind = "blob-GET"
	// BlobDelete is DELETE /v2/<name>/blobs/<digest>.
	BlobDelete Kind = "blob-DELETE"
	// UploadPost opens an upload session (or uploads monolithically with
	// ?digest=): POST /v2/<name>/blobs/uploads/ without mount=.
	UploadPost Kind = "upload-POST"
	// Mount asks for a cross-repository mount: POST
	// /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>.
	Mount Kind = "mount"
	// UploadPatch sends a chunk: PATCH /v2/<name>/blobs/uploads/<id>.
	UploadPatch Kind = "upload-PATCH"
	// UploadPut closes an upload: PUT /v2/<name>/blobs/uploads/<id>?digest=.
	UploadPut Kind = "upload-PUT"
	// UploadStatus asks for an upload's progress: GET
	// /v2/<name>/blobs/uploads/<id>.
	UploadStatus Kind = "upload-GET"
	// UploadCancel is DELETE /v2/<name>/blobs/uploads/<id>.
	UploadCancel Kind = "upload-DELETE"
	// Referrers is GET /v2/<name>/referrers/<digest> (OCI 1.1).
	Referrers Kind = "referrers"
	// Other is anything else.
	Other Kind = "other"
)

// Kinds lists every Kind in a stable display order: the read side of a
// copy, then the write side, then the rest.
var Kinds = []Kind{
	Ping, Token, Catalog, TagList, Referrers,
	ManifestHead, ManifestGet, BlobHead, BlobGet,
	Mount, UploadPost, UploadPatch, UploadPut, UploadStatus, UploadCancel,
	ManifestPut, ManifestDelete, BlobDelete, Other,
}

// Classify returns the route kind of a request from its method, URL path
// and raw query. Repository names may contain slashes, and even path
// components such as "blobs" or "manifests", so the route is read from the
// end of the path, where references, digests and upload ids (which never
// contain a slash) sit.
func Classify(method, path, rawQuery string) Kind {
	if !strings.HasPrefix(path, "/v2/") {
		if path == "/v2" && (method == "GET" || method == "HEAD") {
			return Ping
		}
		if path == "/token" || strings.HasPrefix(path, "/token/") {
			return Token
		}
		return Other
	}
	rest := path[len("/v2/"):]
	if rest == "" {
		if method == "GET" || method == "HEAD" {
			return Ping
		}
		return Other
	}
	if rest == "_catalog" {
		return Catalog
	}
	segs := strings.Split(rest, "/")
	last := segs[len(segs)-1]
	// in reports whether segs is a repository name, then the route words,
	// then (with ref) one non-empty reference, digest or upload id.
	in := func(ref bool, words ...string) bool {
		s := segs
		if ref {
			if last == "" {
				return false
			}
			s = s[:len(s)-1]
		}
		return hasRoute(s, words)
	}
	switch {
	case in(false, "tags", "list"):
		if method == "GET" || method == "HEAD" {
			return TagList
		}
	case in(false, "blobs", "uploads", ""):
		if method == "POST" {
			if hasQuery(rawQuery, "mount") {
				return Mount
			}
			return UploadPost
		}
	case in(true, "blobs", "uploads"):
		switch method {
		case "PATCH":
			return UploadPatch
		case "PUT":
			return UploadPut
		case "GET":
			return UploadStatus
		case "DELETE":
			return UploadCancel
		}
	case in(true, "manifests"):
		switch method {
		case "HEAD":
			return ManifestHead
		case "GET":
			return ManifestGet
		case "PUT":
			return ManifestPut
		case "DELETE":
			return ManifestDelete
		}
	case in(true, "blobs"):
		switch method {
		case "HEAD":
			return BlobHead
		case "GET":
			return BlobGet
		case "DELETE":
			return BlobDelete
		}
	case in(true, "referrers"):
		if method == "GET" {
			return Referrers
		}
	}
	return Other
}

// hasRoute reports whether segs is a non-empty repository name (no empty
// component) followed by words.
func hasRoute(segs, words []string) bool {
	name := len(segs) - len(words)
	if name < 1 || !slices.Equal(segs[name:], words) {
		return false
	}
	return !slices.Contains(segs[:name], "")
}

// hasQuery reports whether the raw query has a non-empty parameter key.
func hasQuery(rawQuery, key string) bool {
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k == key && v != "" {
			return true
		}
	}
	return false
}
