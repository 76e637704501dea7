package cosign

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// Limits on what the verifier reads from a registry, so that a hostile
// repository cannot make it read without bound.
const (
	// MaxBundleSize is the largest bundle blob read (real bundles are a few
	// KiB).
	MaxBundleSize = 4 << 20
	// maxManifestSize is the largest referrer manifest read.
	maxManifestSize = 256 << 10
	// MaxBundles is how many bundle candidates are examined per digest.
	MaxBundles = 32
)

// bundleMediaTypePrefix starts every Sigstore bundle media type:
// application/vnd.dev.sigstore.bundle.v0.3+json and the older
// application/vnd.dev.sigstore.bundle+json;version=0.1 (and 0.2, 0.3).
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// IsBundleMediaType reports whether mt is a Sigstore bundle media type:
// "application/vnd.dev.sigstore.bundle.v<semver>+json" (cosign v2.4+ and v3)
// or "application/vnd.dev.sigstore.bundle+json;version=<x.y>" (earlier
// spellings). Parameters after the type and case of the type are tolerated
// as media types allow.
func IsBundleMediaType(mt string) bool {
	mt = strings.TrimSpace(mt)
	base, params, _ := strings.Cut(mt, ";")
	base = strings.ToLower(strings.TrimSpace(base))
	if !strings.HasPrefix(base, bundleMediaTypePrefix) {
		return false
	}
	rest := base[len(bundleMediaTypePrefix):]
	switch {
	case rest == "+json":
		// The version is a parameter: version=0.1.
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "version") && isVersion(strings.Trim(strings.TrimSpace(v), `"`)) {
				return true
			}
		}
		return false
	case strings.HasPrefix(rest, ".v") && strings.HasSuffix(rest, "+json"):
		return isVersion(strings.TrimSuffix(strings.TrimPrefix(rest, ".v"), "+json"))
	}
	return false
}

// isVersion reports whether s is a dotted version such as 0.3 or 0.3.1.
func isVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 6 {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// maybeBundle reports whether a referrer descriptor may point at a bundle
// manifest. Registries that derive artifactType from config.mediaType
// report cosign's bundle manifests as application/vnd.oci.empty.v1+json,
// and some report nothing, so those are inspected too.
func maybeBundle(d oci.Descriptor) bool {
	if d.MediaType != "" && d.MediaType != oci.MediaTypeImageManifest {
		return false
	}
	return d.ArtifactType == "" || d.ArtifactType == oci.MediaTypeEmptyJSON || IsBundleMediaType(d.ArtifactType)
}

// errNotBundle marks a referrer that turns out not to hold a bundle.
var errNotBundle = errors.New("not a Sigstore bundle")

// candidate is one referrer that holds (or claims to hold) a bundle.
type candidate struct {
	// manifest is the referrer manifest digest.
	manifest string
	// bundle is the bundle JSON, when err is nil.
	bundle []byte
	err    error
}

// findBundles lists the referrers of digest and reads the bundles among
// them, up to MaxBundles.
func (v *Verifier) findBundles(ctx context.Context, repo oci.Repository, digest string) ([]candidate, error) {
	refs, err := v.opts.Registry.Referrers(ctx, repo, digest)
	if err != nil {
		return nil, fmt.Errorf("list referrers of %s@%s: %w", repo, digest, err)
	}
	var out []candidate
	for _, d := range refs {
		if !maybeBundle(d) {
			continue
		}
		if len(out) == MaxBundles {
			v.log.Warn("too many Sigstore bundle candidates; ignoring the rest", "repo", repo.String(), "digest", digest, "limit", MaxBundles)
			break
		}
		b, err := v.readBundle(ctx, repo, digest, d)
		if errors.Is(err, errNotBundle) {
			v.log.Debug("referrer is not a Sigstore bundle", "repo", repo.String(), "digest", digest, "referrer", d.Digest)
			continue
		}
		out = append(out, candidate{manifest: d.Digest, bundle: b, err: err})
	}
	return out, nil
}

// readBundle fetches the referrer manifest d and returns the bundle blob it
// carries: the single layer with a bundle media type, digest-checked.
func (v *Verifier) readBundle(ctx context.Context, repo oci.Repository, subject string, d oci.Descriptor) ([]byte, error) {
	if !oci.ValidDigest(d.Digest) {
		return nil, fmt.Errorf("referrer has an invalid digest %q", d.Digest)
	}
	if d.Size > maxManifestSize {
		return nil, fmt.Errorf("referrer manifest is %d bytes, over the %d-byte limit: %w", d.Size, maxManifestSize, core.ErrTooLarge)
	}
	_, body, err := v.opts.Registry.GetManifest(ctx, repo, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("get referrer manifest: %w", err)
	}
	if len(body) > maxManifestSize {
		return nil, fmt.Errorf("referrer manifest is %d bytes, over the %d-byte limit: %w", len(body), maxManifestSize, core.ErrTooLarge)
	}
	if !digestMatches(d.Digest, body) {
		return nil, fmt.Errorf("referrer manifest content does not hash to %s: %w", d.Digest, core.ErrDigestMismatch)
	}
	var m oci.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode referrer manifest: %w", err)
	}
	if m.MediaType != "" && m.MediaType != oci.MediaTypeImageManifest {
		return nil, errNotBundle
	}
	var layers []oci.Descriptor
	for _, l := range m.Layers {
		if IsBundleMediaType(l.MediaType) {
			layers = append(layers, l)
		}
	}
	typed := IsBundleMediaType(m.ArtifactType) || (m.Config != nil && IsBundleMediaType(m.Config.MediaType))
	if !typed && len(layers) == 0 {
		return nil, errNotBundle
	}
	if m.Subject != nil && m.Subject.Digest != subject {
		return nil, fmt.Errorf("referrer manifest's subject is %s, not %s", m.Subject.Digest, subject)
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("bundle manifest has %d bundle layers, want exactly 1", len(layers))
	}
	l := layers[0]
	if !oci.ValidDigest(l.Digest) {
		return nil, fmt.Errorf("bundle layer has an invalid digest %q", l.Digest)
	}
	if l.Size > MaxBundleSize || l.Size < 0 {
		return nil, fmt.Errorf("bundle layer is %d bytes, over the %d-byte limit: %w", l.Size, MaxBundleSize, core.ErrTooLarge)
	}
	rc, err := v.opts.Registry.OpenBlob(ctx, repo, l.Digest)
	if err != nil {
		return nil, fmt.Errorf("get bundle blob %s: %w", l.Digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle blob %s: %w", l.Digest, err)
	}
	if len(b) > MaxBundleSize {
		return nil, fmt.Errorf("bundle blob %s exceeds the %d-byte limit: %w", l.Digest, MaxBundleSize, core.ErrTooLarge)
	}
	if int64(len(b)) != l.Size {
		return nil, fmt.Errorf("bundle blob %s is %d bytes, its descriptor says %d: %w", l.Digest, len(b), l.Size, core.ErrDigestMismatch)
	}
	if !digestMatches(l.Digest, b) {
		return nil, fmt.Errorf("bundle blob content does not hash to %s: %w", l.Digest, core.ErrDigestMismatch)
	}
	return b, nil
}

// digestMatches reports whether b hashes to the valid digest d (sha256 or
// sha512).
func digestMatches(d string, b []byte) bool {
	alg, want, _ := strings.Cut(d, ":")
	var sum []byte
	switch alg {
	case "sha256":
		s := sha256.Sum256(b)
		sum = s[:]
	case "sha512":
		s := sha512.Sum512(b)
		sum = s[:]
	default:
		return false
	}
	return hex.EncodeToString(sum) == want
}
