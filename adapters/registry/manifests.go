package registry

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// maxManifestSize bounds the manifests read into memory.
const maxManifestSize = 8 << 20

// acceptManifests is the Accept header of manifest requests.
var acceptManifests = strings.Join(oci.ManifestMediaTypes, ", ")

// checkReference accepts a tag or a well-formed digest.
func checkReference(ref string) error {
	if oci.ValidDigest(ref) {
		return nil
	}
	if strings.Contains(ref, ":") {
		return fmt.Errorf("reference %q is not a valid sha256 or sha512 digest", ref)
	}
	if !validTag(ref) {
		return fmt.Errorf("reference %q is not a valid tag (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')", ref)
	}
	return nil
}

// validTag implements the distribution spec's tag grammar
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func validTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// HeadManifest resolves reference to its descriptor with one HEAD request.
func (c *Client) HeadManifest(ctx context.Context, repo oci.Repository, reference string) (oci.Descriptor, error) {
	target := describe(repo, reference)
	if err := checkReference(reference); err != nil {
		return oci.Descriptor{}, invalid("head manifest %s: %w", target, err)
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return oci.Descriptor{}, fmt.Errorf("head manifest %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	resp, err := c.do(ctx, h, call{
		method: http.MethodHead,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/manifests/" + reference,
		accept: acceptManifests,
	})
	if err != nil {
		return oci.Descriptor{}, h.wrap("head manifest", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return oci.Descriptor{}, h.wrap("head manifest", target, responseError(resp))
	}
	resp.Body.Close()
	d := oci.Descriptor{
		MediaType: mediaType(resp.Header.Get("Content-Type")),
		Digest:    resp.Header.Get("Docker-Content-Digest"),
		Size:      resp.ContentLength,
	}
	if oci.ValidDigest(reference) {
		if d.Digest != "" && d.Digest != reference {
			return oci.Descriptor{}, fmt.Errorf("head manifest %s: the registry answered with digest %s: %w", target, d.Digest, core.ErrDigestMismatch)
		}
		d.Digest = reference
	}
	if !oci.ValidDigest(d.Digest) {
		return oci.Descriptor{}, fmt.Errorf("head manifest %s: the registry sent no valid Docker-Content-Digest header (got %q): %w", target, d.Digest, core.ErrUnsupported)
	}
	if d.Size < 0 {
		return oci.Descriptor{}, fmt.Errorf("head manifest %s: the registry sent no Content-Length: %w", target, core.ErrUnsupported)
	}
	return d, nil
}

// GetManifest returns the descriptor and exact bytes of a manifest with one
// GET request. A manifest fetched by digest is verified against it; one
// fetched by tag is checked against the Docker-Content-Digest header.
func (c *Client) GetManifest(ctx context.Context, repo oci.Repository, reference string) (oci.Descriptor, []byte, error) {
	target := describe(repo, reference)
	if err := checkReference(reference); err != nil {
		return oci.Descriptor{}, nil, invalid("get manifest %s: %w", target, err)
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return oci.Descriptor{}, nil, fmt.Errorf("get manifest %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	resp, err := c.do(ctx, h, call{
		method: http.MethodGet,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/manifests/" + reference,
		accept: acceptManifests,
	})
	if err != nil {
		return oci.Descriptor{}, nil, h.wrap("get manifest", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return oci.Descriptor{}, nil, h.wrap("get manifest", target, responseError(resp))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return oci.Descriptor{}, nil, fmt.Errorf("get manifest %s: read %s: %w", target, redactURL(resp.Request.URL), err)
	}
	if len(body) > maxManifestSize {
		return oci.Descriptor{}, nil, fmt.Errorf("get manifest %s: larger than %d bytes: %w", target, maxManifestSize, core.ErrTooLarge)
	}
	header := resp.Header.Get("Docker-Content-Digest")
	want := header
	if oci.ValidDigest(reference) {
		want = reference
	}
	got := oci.Digest(body)
	if want != "" {
		if alg, _, _ := strings.Cut(want, ":"); alg == "sha512" {
			got = digestSHA512(body)
		}
		// A header with an algorithm we cannot compute is ignored; a
		// reference by digest must be verifiable.
		if oci.ValidDigest(want) && got != want {
			return oci.Descriptor{}, nil, fmt.Errorf("get manifest %s: content has digest %s, expected %s: %w", target, got, want, core.ErrDigestMismatch)
		}
	}
	mt := mediaType(resp.Header.Get("Content-Type"))
	if !isManifestType(mt) {
		if m, _, err := oci.ParseManifest("", body); err == nil {
			mt = m.MediaType
		}
	}
	return oci.Descriptor{MediaType: mt, Digest: got, Size: int64(len(body))}, body, nil
}

// PutManifest stores body under reference with one PUT request.
func (c *Client) PutManifest(ctx context.Context, repo oci.Repository, reference, mediaType string, body []byte) error {
	target := describe(repo, reference)
	if err := checkReference(reference); err != nil {
		return invalid("put manifest %s: %w", target, err)
	}
	if mediaType == "" {
		return invalid("put manifest %s: media type is empty", target)
	}
	// Not every registry checks a digest reference (go-containerregistry's
	// stores the body under its own digest), so the client does.
	if oci.ValidDigest(reference) {
		got := oci.Digest(body)
		if alg, _, _ := strings.Cut(reference, ":"); alg == "sha512" {
			got = digestSHA512(body)
		}
		if got != reference {
			return invalid("put manifest %s: content has digest %s: %w", target, got, core.ErrDigestMismatch)
		}
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return fmt.Errorf("put manifest %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	resp, err := c.do(ctx, h, call{
		method:      http.MethodPut,
		access:      access{repo: repo, push: true},
		path:        "/v2/" + repo.Path + "/manifests/" + reference,
		contentType: mediaType,
		body:        bytes.NewReader(body),
		length:      int64(len(body)),
	})
	if err != nil {
		return h.wrap("put manifest", target, err)
	}
	if resp.StatusCode/100 != 2 {
		return h.wrap("put manifest", target, h.writeError("manifest PUT", repo, resp))
	}
	drain(resp)
	return nil
}

// mediaType returns the media type of a Content-Type header without
// parameters.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		return strings.TrimSpace(mt)
	}
	return mt
}

func isManifestType(mt string) bool {
	for _, m := range oci.ManifestMediaTypes {
		if m == mt {
			return true
		}
	}
	return false
}

func digestSHA512(b []byte) string {
	sum := sha512.Sum512(b)
	return "sha512:" + hex.EncodeToString(sum[:])
}

// drain reads a little of a successful response's body and closes it, so
// that the connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
