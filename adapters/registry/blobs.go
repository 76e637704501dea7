package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// BlobExists reports whether repo holds the blob, with one HEAD request.
func (c *Client) BlobExists(ctx context.Context, repo oci.Repository, digest string) (bool, error) {
	target := repo.String() + "@" + digest
	if !oci.ValidDigest(digest) {
		return false, invalid("check blob %s: invalid digest (want sha256:<64 hex> or sha512:<128 hex>)", target)
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return false, fmt.Errorf("check blob %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	resp, err := c.do(ctx, h, call{
		method: http.MethodHead,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/blobs/" + digest,
	})
	if err != nil {
		return false, h.wrap("check blob", target, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		resp.Body.Close()
		return true, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return false, nil
	}
	return false, h.wrap("check blob", target, responseError(resp))
}

// OpenBlob streams a blob with one GET request, following redirects (to
// blob storage, without the registry's credentials). The caller closes
// the reader and verifies the digest.
func (c *Client) OpenBlob(ctx context.Context, repo oci.Repository, digest string) (io.ReadCloser, error) {
	target := repo.String() + "@" + digest
	if !oci.ValidDigest(digest) {
		return nil, invalid("open blob %s: invalid digest (want sha256:<64 hex> or sha512:<128 hex>)", target)
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	resp, err := c.do(ctx, h, call{
		method: http.MethodGet,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/blobs/" + digest,
	})
	if err != nil {
		return nil, h.wrap("open blob", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, h.wrap("open blob", target, responseError(resp))
	}
	return resp.Body, nil
}

// MountBlob asks the registry to link digest from another repository of
// the same host with one POST. It returns true when the registry mounted
// it (201). On 202 the registry opened an upload session instead; the next
// PushBlob of the digest to repo uploads into that session.
func (c *Client) MountBlob(ctx context.Context, repo, from oci.Repository, digest string) (bool, error) {
	target := repo.String() + "@" + digest
	if !oci.ValidDigest(digest) {
		return false, invalid("mount blob %s: invalid digest (want sha256:<64 hex> or sha512:<128 hex>)", target)
	}
	if from.Host != repo.Host || from.Path == repo.Path {
		return false, nil
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return false, fmt.Errorf("mount blob %s from %s: %w", target, from.Path, err)
	}
	repo, from = h.apiRepo(repo), h.apiRepo(from)
	resp, err := c.do(ctx, h, call{
		method: http.MethodPost,
		access: access{repo: repo, push: true, from: from.Path},
		path:   "/v2/" + repo.Path + "/blobs/uploads/",
		query:  url.Values{"mount": {digest}, "from": {from.Path}},
		body:   http.NoBody,
	})
	if err != nil {
		return false, h.wrap("mount blob", target+" from "+from.Path, err)
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		drain(resp)
		return true, nil
	case http.StatusAccepted:
		loc, err := location(resp)
		drain(resp)
		if err == nil {
			c.sessionsMu.Lock()
			c.sessions[sessionKey{repo.Host, repo.Path, digest}] = loc
			c.sessionsMu.Unlock()
		}
		return false, nil
	}
	return false, h.wrap("mount blob", target+" from "+from.Path, responseError(resp))
}

// takeSession returns and forgets the upload session a mount left open.
func (c *Client) takeSession(repo oci.Repository, digest string) *url.URL {
	c.sessionsMu.Lock()
	defer c.sessionsMu.Unlock()
	k := sessionKey{repo.Host, repo.Path, digest}
	u := c.sessions[k]
	delete(c.sessions, k)
	return u
}

// PushBlob uploads content, which must be desc.Size bytes hashing to
// desc.Digest, without buffering it: POST (unless a mount left a session
// open), then either one PUT ?digest= with the whole body (Host.MaxChunkSize
// 0 or not exceeded) or sequential PATCHes of at most MaxChunkSize bytes
// followed by PUT ?digest=.
func (c *Client) PushBlob(ctx context.Context, repo oci.Repository, desc oci.Descriptor, content io.Reader) error {
	target := repo.String() + "@" + desc.Digest
	if !oci.ValidDigest(desc.Digest) {
		return invalid("push blob %s: invalid digest (want sha256:<64 hex> or sha512:<128 hex>)", target)
	}
	if desc.Size < 0 {
		return invalid("push blob %s: negative size %d", target, desc.Size)
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return fmt.Errorf("push blob %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	write := access{repo: repo, push: true}
	loc := c.takeSession(repo, desc.Digest)
	if loc == nil {
		resp, err := c.do(ctx, h, call{
			method: http.MethodPost,
			access: write,
			path:   "/v2/" + repo.Path + "/blobs/uploads/",
			body:   http.NoBody,
		})
		if err != nil {
			return h.wrap("push blob", target, err)
		}
		if resp.StatusCode != http.StatusAccepted {
			return h.wrap("push blob", target, responseError(resp))
		}
		loc, err = location(resp)
		drain(resp)
		if err != nil {
			return fmt.Errorf("push blob %s: %w", target, err)
		}
	}

	chunk := h.cfg.MaxChunkSize
	final := call{method: http.MethodPut, access: write, contentType: "application/octet-stream"}
	if chunk == 0 || desc.Size <= chunk {
		final.body, final.length = content, desc.Size
	} else {
		for off := int64(0); off < desc.Size; {
			n := min(chunk, desc.Size-off)
			resp, err := c.do(ctx, h, call{
				method:      http.MethodPatch,
				access:      write,
				url:         loc,
				contentType: "application/octet-stream",
				header:      http.Header{"Content-Range": {fmt.Sprintf("%d-%d", off, off+n-1)}},
				body:        io.LimitReader(content, n),
				length:      n,
			})
			if err != nil {
				return h.wrap("push blob", target, fmt.Errorf("chunk at offset %d: %w", off, err))
			}
			if resp.StatusCode != http.StatusAccepted {
				return h.wrap("push blob", target, fmt.Errorf("chunk at offset %d: %w", off, responseError(resp)))
			}
			if next, err := location(resp); err == nil {
				loc = next
			}
			drain(resp)
			off += n
		}
		if extra, _ := io.ReadFull(content, make([]byte, 1)); extra > 0 {
			return fmt.Errorf("push blob %s: content is longer than the descriptor's %d bytes: %w", target, desc.Size, core.ErrDigestMismatch)
		}
		final.body, final.length = http.NoBody, 0
	}
	u := *loc
	q := u.Query()
	q.Set("digest", desc.Digest)
	u.RawQuery = q.Encode()
	final.url = &u
	resp, err := c.do(ctx, h, final)
	if err != nil {
		return h.wrap("push blob", target, err)
	}
	if resp.StatusCode/100 != 2 {
		return h.wrap("push blob", target, responseError(resp))
	}
	drain(resp)
	return nil
}

// location returns an upload response's Location, resolved against the
// request URL.
func location(resp *http.Response) (*url.URL, error) {
	v := resp.Header.Get("Location")
	if v == "" {
		return nil, errors.New("the registry answered without an upload Location header")
	}
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("the registry answered with an invalid upload Location: %w", err)
	}
	if resp.Request != nil && resp.Request.URL != nil {
		u = resp.Request.URL.ResolveReference(u)
	}
	return u, nil
}
