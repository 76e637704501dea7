package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// emptyDigest is the sha256 digest of no bytes, the subject of the
// referrers API probe.
const emptyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// referrersVerdict is what one referrers API response says about support.
type referrersVerdict int

const (
	referrersUnknown     referrersVerdict = iota // e.g. 404 NAME_UNKNOWN: the route may exist
	referrersSupported                           // 200 with an image index
	referrersUnsupported                         // 404 without a registry error code, or no index
)

// Referrers lists the manifests whose subject is digest: through the OCI
// 1.1 referrers API (following Link pagination), or, where the registry
// does not serve it, from the referrers tag schema (the index tagged
// sha256-<hex>; none when that tag is absent).
func (c *Client) Referrers(ctx context.Context, repo oci.Repository, digest string) ([]oci.Descriptor, error) {
	target := repo.String() + "@" + digest
	if !oci.ValidDigest(digest) {
		return nil, invalid("list referrers of %s: invalid digest (want sha256:<64 hex> or sha512:<128 hex>)", target)
	}
	h, err := c.host(repo.Host)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s: %w", target, err)
	}
	repo = h.apiRepo(repo)
	if supported, known := h.referrersSupport(); !known || supported {
		descs, verdict, err := c.referrersAPI(ctx, h, repo, digest)
		if err != nil {
			return nil, h.wrap("list referrers of", target, err)
		}
		h.setReferrersSupport(verdict)
		if verdict == referrersSupported {
			return descs, nil
		}
	}
	descs, err := c.referrersTag(ctx, h, repo, digest)
	if err != nil {
		return nil, h.wrap("list referrers of", target, err)
	}
	return descs, nil
}

// SupportsReferrersAPI reports whether repo's registry serves the OCI 1.1
// referrers API. The answer is cached per host once the registry gave a
// definite one.
func (c *Client) SupportsReferrersAPI(ctx context.Context, repo oci.Repository) (bool, error) {
	h, err := c.host(repo.Host)
	if err != nil {
		return false, fmt.Errorf("probe the referrers API of %s: %w", repo.Host, err)
	}
	repo = h.apiRepo(repo)
	if supported, known := h.referrersSupport(); known {
		return supported, nil
	}
	_, verdict, err := c.referrersAPI(ctx, h, repo, emptyDigest)
	if err != nil {
		return false, h.wrap("probe the referrers API of", repo.String(), err)
	}
	h.setReferrersSupport(verdict)
	return verdict == referrersSupported, nil
}

func (h *hostState) referrersSupport() (supported, known bool) {
	h.referrersMu.Lock()
	defer h.referrersMu.Unlock()
	if h.referrers == nil {
		return false, false
	}
	return *h.referrers, true
}

func (h *hostState) setReferrersSupport(v referrersVerdict) {
	if v == referrersUnknown {
		return
	}
	b := v == referrersSupported
	h.referrersMu.Lock()
	h.referrers = &b
	h.referrersMu.Unlock()
}

// referrersAPI calls GET /v2/<name>/referrers/<digest> and follows its
// pagination. It returns the verdict on API support; descriptors only when
// supported.
func (c *Client) referrersAPI(ctx context.Context, h *hostState, repo oci.Repository, digest string) ([]oci.Descriptor, referrersVerdict, error) {
	k := call{
		method: http.MethodGet,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/referrers/" + digest,
		accept: oci.MediaTypeImageIndex,
	}
	var descs []oci.Descriptor
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, referrersUnknown, retry.Permanent(fmt.Errorf("more than %d pages", maxPages))
		}
		resp, err := c.do(ctx, h, k)
		if err != nil {
			return nil, referrersUnknown, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusNotFound:
			e := responseError(resp)
			if page > 0 {
				return nil, referrersUnknown, e
			}
			if e.Code == "" || strings.Contains(e.Code, "UNSUPPORTED") || strings.Contains(e.Code, "METHOD_UNKNOWN") {
				return nil, referrersUnsupported, nil
			}
			return nil, referrersUnknown, nil
		default:
			return nil, referrersUnknown, responseError(resp)
		}
		if mediaType(resp.Header.Get("Content-Type")) != oci.MediaTypeImageIndex {
			drain(resp)
			if page > 0 {
				return nil, referrersUnknown, fmt.Errorf("page %d of the referrers API is not an image index", page+1)
			}
			return nil, referrersUnsupported, nil
		}
		idx, err := decodeIndex(resp.Body)
		next := nextLink(resp)
		resp.Body.Close()
		if err != nil {
			return nil, referrersUnknown, fmt.Errorf("decode %s: %w", redactURL(resp.Request.URL), err)
		}
		descs = append(descs, idx...)
		if next == nil {
			return descs, referrersSupported, nil
		}
		seen[resp.Request.URL.String()] = true
		if seen[next.String()] {
			return nil, referrersUnknown, fmt.Errorf("%w: the registry's next link %s leads back to a page already read", core.ErrPaginationLoop, redactURL(next))
		}
		seen[next.String()] = true
		k.url = next
	}
}

// referrersTag reads the referrers tag schema's index for digest.
func (c *Client) referrersTag(ctx context.Context, h *hostState, repo oci.Repository, digest string) ([]oci.Descriptor, error) {
	tag := FallbackTag(digest)
	resp, err := c.do(ctx, h, call{
		method: http.MethodGet,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/manifests/" + tag,
		accept: oci.MediaTypeImageIndex + ", " + oci.MediaTypeDockerList,
	})
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		drain(resp)
		return nil, nil
	default:
		return nil, responseError(resp)
	}
	defer resp.Body.Close()
	descs, err := decodeIndex(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("decode the referrers tag %s: %w", tag, err)
	}
	return descs, nil
}

// FallbackTag returns the referrers tag schema's tag for a digest:
// "<alg>-<hex>", the algorithm truncated to 32 and the hex to 64
// characters.
func FallbackTag(digest string) string {
	alg, hexPart, _ := strings.Cut(digest, ":")
	if len(alg) > 32 {
		alg = alg[:32]
	}
	if len(hexPart) > 64 {
		hexPart = hexPart[:64]
	}
	return alg + "-" + hexPart
}

// decodeIndex decodes an image index and returns its manifests.
func decodeIndex(r io.Reader) ([]oci.Descriptor, error) {
	var idx struct {
		MediaType string           `json:"mediaType"`
		Manifests []oci.Descriptor `json:"manifests"`
	}
	dec := json.NewDecoder(io.LimitReader(r, maxListBody))
	if err := dec.Decode(&idx); err != nil {
		return nil, err
	}
	if idx.MediaType != "" && !oci.IsIndex(idx.MediaType) {
		return nil, fmt.Errorf("media type %q is not an index: %w", idx.MediaType, core.ErrUnsupported)
	}
	for _, d := range idx.Manifests {
		if !oci.ValidDigest(d.Digest) {
			return nil, fmt.Errorf("index lists invalid digest %q", d.Digest)
		}
	}
	return idx.Manifests, nil
}
