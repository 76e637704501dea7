package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

const (
	// maxPages bounds pagination against a registry that links in circles.
	maxPages = 10000
	// maxListBody bounds one tags/list or referrers page.
	maxListBody = 32 << 20
)

// ListTags lists every tag of repo, following pagination: the Link header
// and, when Options.TagPageSize is set, ?n=&last= after a full page that
// carries no Link header.
func (c *Client) ListTags(ctx context.Context, repo oci.Repository) ([]string, error) {
	h, err := c.host(repo.Host)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, err)
	}
	repo = h.apiRepo(repo)
	k := call{
		method: http.MethodGet,
		access: access{repo: repo},
		path:   "/v2/" + repo.Path + "/tags/list",
		accept: "application/json",
	}
	if c.opts.TagPageSize > 0 {
		k.query = url.Values{"n": {strconv.Itoa(c.opts.TagPageSize)}}
	}
	var tags []string
	seen, have := map[string]bool{}, map[string]bool{}
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, retry.Permanent(fmt.Errorf("list tags of %s: more than %d pages", repo, maxPages))
		}
		resp, err := c.do(ctx, h, k)
		if err != nil {
			return nil, h.wrap("list tags of", repo.String(), err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, h.wrap("list tags of", repo.String(), responseError(resp))
		}
		var body struct {
			Tags []string `json:"tags"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, maxListBody)).Decode(&body)
		next := nextLink(resp)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: decode %s: %w", repo, redactURL(resp.Request.URL), err)
		}
		added := 0
		for _, tag := range body.Tags {
			if !have[tag] {
				have[tag] = true
				tags = append(tags, tag)
				added++
			}
		}
		if next == nil && c.opts.TagPageSize > 0 && len(body.Tags) == c.opts.TagPageSize && added > 0 {
			// A full page without a Link header: registries that paginate
			// by n/last alone (go-containerregistry's) have more after
			// the page's last tag.
			next = resp.Request.URL.ResolveReference(&url.URL{Path: resp.Request.URL.Path})
			next.RawQuery = url.Values{
				"n":    {strconv.Itoa(c.opts.TagPageSize)},
				"last": {body.Tags[len(body.Tags)-1]},
			}.Encode()
		}
		if next == nil {
			return tags, nil
		}
		seen[resp.Request.URL.String()] = true
		if seen[next.String()] {
			return nil, fmt.Errorf("list tags of %s: %w: the registry's next link %s leads back to a page already read", repo, core.ErrPaginationLoop, redactURL(next))
		}
		seen[next.String()] = true
		k.url = next
	}
}

// nextLink returns the rel="next" target of the response's Link headers,
// resolved against the request URL, or nil.
func nextLink(resp *http.Response) *url.URL {
	for _, v := range resp.Header.Values("Link") {
		for _, link := range splitLinks(v) {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			if !isNextRel(params) {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				continue
			}
			if resp.Request != nil && resp.Request.URL != nil {
				u = resp.Request.URL.ResolveReference(u)
			}
			return u
		}
	}
	return nil
}

// splitLinks splits a Link header value into links at commas outside <>.
func splitLinks(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '<':
			depth++
		case '>':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// isNextRel reports whether link parameters contain rel="next" (rel may
// list several space-separated relation types).
func isNextRel(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
			if strings.EqualFold(r, "next") {
				return true
			}
		}
	}
	return false
}
