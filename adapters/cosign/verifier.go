package cosign

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// Provider is the verify.provider value this verifier implements and the
// Provider it reports in a mirror.Verification.
const Provider = "cosign"

// SignPredicateType is the in-toto predicate type of a cosign v3 image
// signature. DSSE bundles with another predicate type are attestations
// (SBOMs, provenance) and do not count as signatures.
const SignPredicateType = "https://sigstore.dev/cosign/sign/v1"

// maxClockSkew is how far in the future (by Options.Now) a verified
// integrated time may lie before it is rejected.
const maxClockSkew = 5 * time.Minute

// maxReasons is how many rejected bundles an error describes.
const maxReasons = 3

// Errors a Verify failure wraps, for errors.Is.
var (
	// ErrNoBundle reports that the digest carries no signature at all: no
	// Sigstore bundle referrer and no cosign signature tag.
	ErrNoBundle = errors.New("no Sigstore bundle attached")
	// ErrNoValidSignature reports that signatures (bundle referrers or
	// cosign signature tag layers) are there but none is a valid signature
	// matching the policy.
	ErrNoValidSignature = errors.New("no valid Sigstore signature")
)

// Reader is the registry access the verifier needs. The registry adapter
// satisfies it; Referrers must fall back to the referrers tag schema on
// registries without the OCI 1.1 referrers API, and GetManifest must take a
// tag as well as a digest and report a missing one as core.ErrNotFound
// (the cosign signature tag is looked up by name).
type Reader interface {
	// Referrers lists the manifests whose subject is digest.
	Referrers(ctx context.Context, repo oci.Repository, digest string) ([]oci.Descriptor, error)
	// GetManifest returns the descriptor and exact bytes of a manifest.
	GetManifest(ctx context.Context, repo oci.Repository, reference string) (oci.Descriptor, []byte, error)
	// OpenBlob streams a blob.
	OpenBlob(ctx context.Context, repo oci.Repository, digest string) (io.ReadCloser, error)
}

// Options configure a Verifier. Registry is required; the trust root is
// TrustedRoot if set, else the trusted_root.json at TrustedRootPath if set,
// else the Sigstore public-good instance through TUF.
type Options struct {
	// Registry reads referrers, manifests (by digest and by tag) and blobs.
	Registry Reader
	// TrustedRoot is the Sigstore trust material to verify against. Set at
	// most one of TrustedRoot and TrustedRootPath.
	TrustedRoot root.TrustedMaterial
	// TrustedRootPath is a local trusted_root.json
	// (application/vnd.dev.sigstore.trustedroot+json;version=0.1), for
	// air-gapped use or a private Sigstore deployment. Nothing is fetched
	// over the network when it is set.
	TrustedRootPath string
	// TUFCacheDir is where the public-good TUF metadata is cached; empty
	// means DefaultTUFCacheDir(). Unused when a trusted root is given.
	TUFCacheDir string
	// Now is the clock used to reject integrated times in the future; nil
	// means time.Now.
	Now func() time.Time
	// Logger receives debug records about each bundle; nil discards them.
	Logger *slog.Logger
}

// Verifier verifies Cosign keyless signatures attached as Sigstore bundle
// referrers or stored under cosign's legacy signature tag
// (sha256-<hex>.sig). It is safe for concurrent use. Its trust root is
// loaded on the first Verify that finds a signature, once; a failure to
// load it is returned by every later Verify.
type Verifier struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time

	// tufFetcher replaces the TUF client's HTTP fetcher in tests.
	tufFetcher fetcher.Fetcher

	mu      sync.Mutex
	loaded  bool
	sv      *verify.Verifier
	loadErr error
}

var _ mirror.Verifier = (*Verifier)(nil)

// New returns a Verifier. It performs no I/O: the trust root is loaded
// lazily.
func New(opts Options) (*Verifier, error) {
	if opts.Registry == nil {
		return nil, errors.New("cosign verifier: a registry reader is required")
	}
	if opts.TrustedRoot != nil && opts.TrustedRootPath != "" {
		return nil, errors.New("cosign verifier: set either trusted root material or a trusted root path, not both")
	}
	v := &Verifier{opts: opts, log: opts.Logger, now: opts.Now}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// sigstoreVerifier loads the trust root and builds the sigstore-go
// verifier, once. It requires one transparency-log entry with a verified
// integrated time, and one SCT when the trust root lists CT logs (private
// deployments without a CT log issue certificates without SCTs).
func (v *Verifier) sigstoreVerifier() (*verify.Verifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.loaded {
		return v.sv, v.loadErr
	}
	v.loaded = true
	tm, err := v.loadTrustedMaterial()
	if err != nil {
		v.loadErr = err
		return nil, err
	}
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	} else {
		v.log.Debug("Sigstore trusted root lists no CT log; not requiring SCTs")
	}
	if v.sv, err = verify.NewVerifier(tm, opts...); err != nil {
		v.loadErr = fmt.Errorf("configure Sigstore verifier: %w", err)
	}
	return v.sv, v.loadErr
}

// Verify checks that digest in repo carries a Cosign keyless signature
// that verifies against the trust root and whose certificate matches one of
// policy.MatchOIDCIdentity: the issuer exactly, the subject alternative
// name by the subject regular expression, anchored to match the whole SAN.
// When several bundles verify it returns the one with the earliest
// integrated time, so that a minAge check sees the oldest valid signature.
//
// Bundle referrers come first. When none of them verifies (or there are
// none), Verify reads cosign's legacy signature tag LegacyTag(digest) and
// verifies each of its signatures the same way, keylessly; it also requires
// the signed simple-signing payload to name digest. A failure describes
// why each source was rejected, or that it was absent.
func (v *Verifier) Verify(ctx context.Context, repo oci.Repository, digest string, policy mirror.VerifyPolicy) (mirror.Verification, error) {
	ids, err := compilePolicy(policy)
	if err != nil {
		return mirror.Verification{}, err
	}
	if !oci.ValidDigest(digest) {
		return mirror.Verification{}, fmt.Errorf("verify %s@%s: not a valid sha256 or sha512 digest", repo, digest)
	}
	alg, hexDigest, _ := strings.Cut(digest, ":")
	rawDigest, err := hex.DecodeString(hexDigest)
	if err != nil {
		return mirror.Verification{}, fmt.Errorf("verify %s@%s: %w", repo, digest, err)
	}

	cands, err := v.findBundles(ctx, repo, digest)
	if err != nil {
		return mirror.Verification{}, err
	}
	var sv *verify.Verifier
	var bundleReasons []string
	if len(cands) > 0 {
		if sv, err = v.sigstoreVerifier(); err != nil {
			return mirror.Verification{}, fmt.Errorf("verify %s@%s: %w", repo, digest, err)
		}
		best, reasons, err := v.bestOf(ctx, repo, digest, len(cands), func(i int) (string, mirror.Verification, error) {
			c := cands[i]
			if c.err != nil {
				return "bundle " + c.manifest, mirror.Verification{}, c.err
			}
			got, err := v.verifyBundle(sv, ids, alg, rawDigest, c.bundle)
			return "bundle " + c.manifest, got, err
		})
		if best != nil || err != nil {
			return deref(best), err
		}
		bundleReasons = reasons
	}

	// No bundle referrer verified: look for cosign's legacy signature tag.
	tag := LegacyTag(digest)
	bundlesSummary := "no Sigstore bundle attached as a referrer"
	if len(bundleReasons) > 0 {
		bundlesSummary = fmt.Sprintf("%d bundle(s) rejected: %s", len(bundleReasons), summarize(bundleReasons))
	}
	legacy, err := v.findLegacy(ctx, repo, digest)
	if err != nil {
		if len(bundleReasons) > 0 {
			return mirror.Verification{}, fmt.Errorf("%w for %s@%s: %s; and %w", ErrNoValidSignature, repo, digest, bundlesSummary, err)
		}
		return mirror.Verification{}, err
	}
	if len(cands) == 0 && len(legacy) == 0 {
		return mirror.Verification{}, fmt.Errorf("%w to %s@%s as a referrer, and no cosign signature tag %s (cosign v2.4+ publishes bundles as referrers with --new-bundle-format, v3 by default; cosign v1 and v2 write the signature tag)",
			ErrNoBundle, repo, digest, tag)
	}
	legacySummary := "no cosign signature tag " + tag
	if len(legacy) > 0 {
		if sv == nil {
			if sv, err = v.sigstoreVerifier(); err != nil {
				return mirror.Verification{}, fmt.Errorf("verify %s@%s: %w", repo, digest, err)
			}
		}
		best, reasons, err := v.bestOf(ctx, repo, digest, len(legacy), func(i int) (string, mirror.Verification, error) {
			c := legacy[i]
			if c.err != nil {
				return "signature " + c.layer, mirror.Verification{}, c.err
			}
			got, err := v.verifyLegacy(sv, ids, digest, c)
			return "signature " + c.layer, got, err
		})
		if best != nil || err != nil {
			return deref(best), err
		}
		legacySummary = fmt.Sprintf("%d signature(s) of cosign signature tag %s rejected: %s", len(reasons), tag, summarize(reasons))
	}
	return mirror.Verification{}, fmt.Errorf("%w for %s@%s: %s; %s", ErrNoValidSignature, repo, digest, bundlesSummary, legacySummary)
}

// bestOf verifies n signatures with check, which names each one, and
// returns the verification with the earliest integrated time or, when none
// verifies, why each was rejected. It stops early only when ctx ends.
func (v *Verifier) bestOf(ctx context.Context, repo oci.Repository, digest string, n int, check func(i int) (string, mirror.Verification, error)) (*mirror.Verification, []string, error) {
	var best *mirror.Verification
	var reasons []string
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		name, got, err := check(i)
		if err != nil {
			v.log.Debug("signature rejected", "repo", repo.String(), "digest", digest, "signature", name, "error", err)
			reasons = append(reasons, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		v.log.Debug("signature verified", "repo", repo.String(), "digest", digest, "signature", name,
			"issuer", got.Issuer, "identity", got.Identity, "integratedTime", got.IntegratedTime)
		if best == nil || got.IntegratedTime.Before(best.IntegratedTime) {
			best = &got
		}
	}
	return best, reasons, nil
}

// deref returns *p, or the zero Verification for nil.
func deref(p *mirror.Verification) mirror.Verification {
	if p == nil {
		return mirror.Verification{}
	}
	return *p
}

// summarize joins the first maxReasons reasons and counts the rest.
func summarize(reasons []string) string {
	msg := strings.Join(reasons[:min(len(reasons), maxReasons)], "; ")
	if n := len(reasons) - maxReasons; n > 0 {
		msg += fmt.Sprintf("; and %d more", n)
	}
	return msg
}

// verifyBundle verifies one bundle against the digest and the identities.
func (v *Verifier) verifyBundle(sv *verify.Verifier, ids []identity, alg string, digest []byte, data []byte) (mirror.Verification, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return mirror.Verification{}, fmt.Errorf("parse bundle: %w", err)
	}
	return v.verifyEntity(sv, ids, &b, verify.WithArtifactDigest(alg, digest))
}

// verifyLegacy verifies one legacy signature: the bundle converted from its
// annotations over its payload, then the payload's claim that it signs
// digest.
func (v *Verifier) verifyLegacy(sv *verify.Verifier, ids []identity, digest string, c legacyCandidate) (mirror.Verification, error) {
	got, err := v.verifyEntity(sv, ids, c.bundle, verify.WithArtifact(bytes.NewReader(c.payload)))
	if err != nil {
		return mirror.Verification{}, err
	}
	if err := checkPayload(c.payload, digest); err != nil {
		return mirror.Verification{}, err
	}
	return got, nil
}

// verifyEntity verifies a signed entity with sigstore-go against artifact,
// then checks what sigstore-go leaves to the caller: a keyless certificate,
// a signature rather than an attestation, the identities and a verified
// integrated time that is not in the future.
func (v *Verifier) verifyEntity(sv *verify.Verifier, ids []identity, entity verify.SignedEntity, artifact verify.ArtifactPolicyOption) (mirror.Verification, error) {
	// Identities are matched below, with anchored subjects and a clear
	// message; everything else is sigstore-go's verification.
	res, err := sv.Verify(entity, verify.NewPolicy(artifact, verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		if strings.Contains(err.Error(), "not enough verified log entries") {
			// sigstore-go skips entries of logs it does not know.
			return mirror.Verification{}, fmt.Errorf("%w (its entry is not signed by a transparency log of the trusted root)", err)
		}
		return mirror.Verification{}, err
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		return mirror.Verification{}, errors.New("bundle is signed with a key, not a keyless (Fulcio) certificate")
	}
	if res.Statement != nil && res.Statement.PredicateType != SignPredicateType {
		return mirror.Verification{}, fmt.Errorf("bundle is an attestation of predicate type %q, not a cosign signature (%s)", res.Statement.PredicateType, SignPredicateType)
	}
	cert := res.Signature.Certificate
	if !matchIdentity(ids, cert.Issuer, cert.SubjectAlternativeName) {
		return mirror.Verification{}, fmt.Errorf("signed by issuer %q with subject %q, which matches no verify.matchOIDCIdentity entry (%s)",
			cert.Issuer, cert.SubjectAlternativeName, describe(ids))
	}
	var integrated time.Time
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "Tlog" && (integrated.IsZero() || ts.Timestamp.Before(integrated)) {
			integrated = ts.Timestamp
		}
	}
	if integrated.IsZero() {
		return mirror.Verification{}, errors.New("bundle has no verified transparency-log integrated time")
	}
	if now := v.now(); integrated.After(now.Add(maxClockSkew)) {
		return mirror.Verification{}, fmt.Errorf("integrated time %s lies in the future (now %s)", integrated.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return mirror.Verification{
		Provider:       Provider,
		Issuer:         cert.Issuer,
		Identity:       cert.SubjectAlternativeName,
		IntegratedTime: integrated.UTC(),
	}, nil
}

// describe lists identities for an error message.
func describe(ids []identity) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("issuer %q subject %q", id.issuer, id.pattern)
	}
	return "accepted: " + strings.Join(parts, ", ")
}
