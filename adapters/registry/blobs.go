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
	"github.com/fluxcd/flux-mirror/core/retry"
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
	return false, h.wrap("mount blob", target+" from "+from.Path, h.writeError("blob mount", repo, resp))
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
//
// When reading content fails, the upload is aborted and the error wraps
// the reader's error as the cause, not as a failure of the registry. A
// registry that refuses writes (403, 405) yields a *WriteRefusedError.
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
	src := &contentReader{r: content}
	// failed names the cause of a failed upload request: the content's
	// reader when it broke, else the registry.
	failed := func(err error) error {
		if cerr := src.failure(desc.Size); cerr != nil {
			return fmt.Errorf("push blob %s: upload aborted: %w", target, cerr)
		}
		return h.wrap("push blob", target, err)
	}
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
			return h.wrap("push blob", target, h.writeError("blob upload", repo, resp))
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
		final.body, final.length = src, desc.Size
	} else {
		for off := int64(0); off < desc.Size; {
			n := min(chunk, desc.Size-off)
			resp, err := c.do(ctx, h, call{
				method:      http.MethodPatch,
				access:      write,
				url:         loc,
				contentType: "application/octet-stream",
				header:      http.Header{"Content-Range": {fmt.Sprintf("%d-%d", off, off+n-1)}},
				body:        io.LimitReader(src, n),
				length:      n,
			})
			if err != nil {
				return failed(fmt.Errorf("chunk at offset %d: %w", off, err))
			}
			if resp.StatusCode != http.StatusAccepted {
				return h.wrap("push blob", target, fmt.Errorf("chunk at offset %d: %w", off, h.writeError("blob upload", repo, resp)))
			}
			if next, err := location(resp); err == nil {
				loc = next
			}
			drain(resp)
			off += n
		}
		if extra, _ := io.ReadFull(src, make([]byte, 1)); extra > 0 {
			return fmt.Errorf("push blob %s: content is longer than the descriptor's %d bytes: %w", target, desc.Size, core.ErrDigestMismatch)
		}
		if src.err != nil {
			return fmt.Errorf("push blob %s: upload aborted: %w", target, src.err)
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
		return failed(err)
	}
	if resp.StatusCode/100 != 2 {
		return h.wrap("push blob", target, h.writeError("blob upload", repo, resp))
	}
	drain(resp)
	return nil
}

// contentReader passes a blob's content to the upload requests and
// remembers how it ended, so that a failed request can be blamed on the
// content's reader (a source registry, a verifier) when it broke.
type contentReader struct {
	r   io.Reader
	n   int64
	eof bool
	err error // the first read error other than io.EOF
}

func (c *contentReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case err == io.EOF:
		c.eof = true
	case err != nil && c.err == nil:
		c.err = err
	}
	return n, err
}

// failure returns the reader's error, or an error wrapping
// core.ErrDigestMismatch when it ended before size bytes; nil when the
// content is not to blame.
func (c *contentReader) failure(size int64) error {
	switch {
	case c.err != nil:
		return c.err
	case c.eof && c.n < size:
		return fmt.Errorf("content ended after %d of the descriptor's %d bytes: %w", c.n, size, core.ErrDigestMismatch)
	}
	return nil
}

// location returns an upload response's Location, resolved against the
// request URL.
func location(resp *http.Response) (*url.URL, error) {
	// Both are protocol violations a second attempt repeats.
	v := resp.Header.Get("Location")
	if v == "" {
		return nil, retry.Permanent(errors.New("the registry answered without an upload Location header"))
	}
	u, err := url.Parse(v)
	if err != nil {
		// The parse error without the value, which may carry upload state.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, retry.Permanent(fmt.Errorf("the registry answered with a malformed upload Location header: %w", err))
	}
	if resp.Request != nil && resp.Request.URL != nil {
		u = resp.Request.URL.ResolveReference(u)
	}
	return u, nil
}
