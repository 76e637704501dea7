package cosign

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// PublicGoodTUFURL is the TUF repository of the Sigstore public-good
// instance, the default source of the trusted root.
const PublicGoodTUFURL = tuf.DefaultMirror

// DefaultTUFCacheDir returns where the public-good TUF metadata and trusted
// root are cached when Options.TUFCacheDir is empty:
// <user cache dir>/flux-mirror/sigstore-tuf, i.e. $XDG_CACHE_HOME (or
// ~/.cache) on Linux, ~/Library/Caches on macOS and %LocalAppData% on
// Windows. It returns "" when the platform has no user cache directory
// (e.g. $HOME unset); the TUF client then keeps its metadata in memory only.
func DefaultTUFCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "flux-mirror", "sigstore-tuf")
}

// loadTrustedMaterial resolves the trust root the options select: the
// given TrustedMaterial, a local trusted_root.json, or the public-good
// instance through TUF.
func (v *Verifier) loadTrustedMaterial() (root.TrustedMaterial, error) {
	switch {
	case v.opts.TrustedRoot != nil:
		return v.opts.TrustedRoot, nil
	case v.opts.TrustedRootPath != "":
		tr, err := root.NewTrustedRootFromPath(v.opts.TrustedRootPath)
		if err != nil {
			return nil, fmt.Errorf("load Sigstore trusted root %s: %w (it must be a trusted_root.json, media type %s, e.g. from `cosign trusted-root create` or the TUF target trusted_root.json)",
				v.opts.TrustedRootPath, err, root.TrustedRootMediaType01)
		}
		v.log.Debug("loaded Sigstore trusted root from file", "path", v.opts.TrustedRootPath)
		return tr, nil
	}

	opts := tuf.DefaultOptions()
	cacheDir := v.opts.TUFCacheDir
	if cacheDir == "" {
		cacheDir = DefaultTUFCacheDir()
	}
	if cacheDir != "" {
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			v.log.Warn("Sigstore TUF cache directory is not writable; keeping TUF metadata in memory", "dir", cacheDir, "error", err)
			cacheDir = ""
		}
	}
	if v.tufFetcher != nil {
		opts.WithFetcher(v.tufFetcher)
	}
	if cacheDir == "" {
		opts.WithDisableLocalCache()
	} else {
		opts.WithCachePath(cacheDir)
	}
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		where := "in memory"
		if cacheDir != "" {
			where = "cache " + cacheDir
		}
		return nil, fmt.Errorf("fetch the Sigstore public-good trusted root through TUF from %s (%s): %w; where it is unreachable (air-gapped, private Sigstore) verify against a local trusted_root.json instead",
			PublicGoodTUFURL, where, err)
	}
	v.log.Debug("loaded Sigstore public-good trusted root through TUF", "url", PublicGoodTUFURL, "cache", cacheDir)
	return tr, nil
}
