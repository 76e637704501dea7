package helmrepo

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
)

// parseRepoURL parses a Helm repository URL and checks that it is an
// absolute http or https URL.
func parseRepoURL(repoURL string) (*url.URL, error) {
	u, err := url.Parse(repoURL)
	if err != nil {
		return nil, fmt.Errorf("invalid Helm repository URL %q: it must be an absolute http:// or https:// URL", core.RedactURL(repoURL))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid Helm repository URL %s: the scheme must be http or https (charts in OCI registries belong under artifacts)", core.RedactedURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid Helm repository URL %s: it has no host", core.RedactedURL(u))
	}
	return u, nil
}

// repoKey normalizes a repository URL for caching and for matching
// repositories.yaml entries: the scheme and host are lower-cased, the path
// ends with one slash and there is no fragment. URLs that differ only by a
// trailing slash are the same repository, as Helm's urlutil.Equal treats them.
func repoKey(u *url.URL) string {
	k := *u
	k.Scheme = strings.ToLower(k.Scheme)
	k.Host = strings.ToLower(k.Host)
	k.Path = strings.TrimRight(k.Path, "/") + "/"
	k.RawPath = ""
	if u.RawPath != "" {
		k.RawPath = strings.TrimRight(u.RawPath, "/") + "/"
	}
	k.Fragment, k.RawFragment = "", ""
	return k.String()
}

// resolveReference resolves a chart URL from an index against the
// repository URL exactly as Helm's repo.ResolveReferenceURL does: an
// absolute URL is kept as is; a relative one is resolved against the
// repository URL with a trailing slash, and takes the repository URL's query.
func resolveReference(base *url.URL, ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("parse chart URL %q: %w", core.RedactURL(ref), err)
	}
	if r.IsAbs() {
		return ref, nil
	}
	b := *base
	b.RawPath = strings.TrimSuffix(b.RawPath, "/") + "/"
	b.Path = strings.TrimSuffix(b.Path, "/") + "/"
	resolved := b.ResolveReference(r)
	resolved.RawQuery = b.RawQuery
	return resolved.String(), nil
}
