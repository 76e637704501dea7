package cosign

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// Cosign's legacy signature tag scheme: signatures of sha256:<hex> are the
// layers of the manifest tagged sha256-<hex>.sig in the same repository.
// Each layer blob is a simple-signing payload naming the signed digest, and
// the layer's annotations carry the signature, the Fulcio certificate and
// the Rekor entry.
const (
	// SimpleSigningMediaType is the media type of a legacy signature layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SimpleSigningType is the critical.type a simple-signing payload of an
	// image signature must carry.
	SimpleSigningType = "cosign container image signature"

	annotationSignature   = "dev.cosignproject.cosign/signature"
	annotationCertificate = "dev.sigstore.cosign/certificate"
	annotationChain       = "dev.sigstore.cosign/chain"
	annotationBundle      = "dev.sigstore.cosign/bundle"
)

// Limits on what is read of a legacy signature tag.
const (
	// MaxLegacySignatures is how many signature layers of a .sig manifest
	// are examined.
	MaxLegacySignatures = 32
	// MaxPayloadSize is the largest simple-signing payload read (real ones
	// are a few hundred bytes).
	MaxPayloadSize = 64 << 10
	// maxSignatureAnnotation bounds the base64 signature.
	maxSignatureAnnotation = 8 << 10
	// maxCertAnnotation bounds the certificate, the chain and the Rekor
	// bundle annotations each.
	maxCertAnnotation = 64 << 10
	// maxChainCerts is how many certificates a chain annotation may hold.
	maxChainCerts = 8
)

// bundleV01MediaType is the Sigstore bundle version a legacy signature is
// converted to: v0.1 needs the inclusion promise (the signed entry
// timestamp) that legacy signatures carry, not an inclusion proof.
const bundleV01MediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// errKeyBased rejects signatures made with a key (cosign sign --key).
var errKeyBased = errors.New("signed with a key, not keyless; flux-mirror verifies keyless signatures only")

// LegacyTag returns the tag under which cosign's legacy scheme stores the
// signatures of digest: "sha256:<hex>" becomes "sha256-<hex>.sig".
func LegacyTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// legacyCandidate is one layer of a .sig manifest, converted to a bundle.
type legacyCandidate struct {
	// layer names the signature in messages: its payload digest, or the tag
	// when the manifest itself is unusable.
	layer   string
	payload []byte
	bundle  *bundle.Bundle
	err     error
}

// findLegacy reads the signature tag of digest. It returns no candidate
// when the tag does not exist, one failed candidate when the manifest is
// unusable, and one candidate per signature layer otherwise (up to
// MaxLegacySignatures). Errors are registry failures other than a missing
// tag.
func (v *Verifier) findLegacy(ctx context.Context, repo oci.Repository, digest string) ([]legacyCandidate, error) {
	tag := LegacyTag(digest)
	_, body, err := v.opts.Registry.GetManifest(ctx, repo, tag)
	if errors.Is(err, core.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get cosign signature tag %s:%s: %w", repo, tag, err)
	}
	layers, err := signatureLayers(body)
	if err != nil {
		return []legacyCandidate{{layer: tag, err: err}}, nil
	}
	var out []legacyCandidate
	for _, l := range layers {
		if len(out) == MaxLegacySignatures {
			v.log.Warn("too many cosign signatures in the signature tag; ignoring the rest", "repo", repo.String(), "tag", tag, "limit", MaxLegacySignatures)
			break
		}
		c := legacyCandidate{layer: l.Digest}
		c.payload, c.err = v.readPayload(ctx, repo, l)
		if c.err == nil {
			c.bundle, c.err = legacyBundle(l.Annotations, c.payload)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return []legacyCandidate{{layer: tag, err: fmt.Errorf("manifest has no %s layer", SimpleSigningMediaType)}}, nil
	}
	return out, nil
}

// signatureLayers decodes a .sig manifest and returns its simple-signing
// layers.
func signatureLayers(body []byte) ([]oci.Descriptor, error) {
	if len(body) > maxManifestSize {
		return nil, fmt.Errorf("signature manifest is %d bytes, over the %d-byte limit: %w", len(body), maxManifestSize, core.ErrTooLarge)
	}
	var m oci.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode signature manifest: %w", err)
	}
	if m.MediaType != "" && m.MediaType != oci.MediaTypeImageManifest && m.MediaType != oci.MediaTypeDockerManifest {
		return nil, fmt.Errorf("signature tag holds a %s, not an image manifest", m.MediaType)
	}
	var out []oci.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == SimpleSigningMediaType {
			out = append(out, l)
		}
	}
	return out, nil
}

// readPayload fetches a signature layer's blob, bounded and digest-checked.
func (v *Verifier) readPayload(ctx context.Context, repo oci.Repository, l oci.Descriptor) ([]byte, error) {
	if !oci.ValidDigest(l.Digest) {
		return nil, fmt.Errorf("signature layer has an invalid digest %q", l.Digest)
	}
	if l.Size > MaxPayloadSize || l.Size < 0 {
		return nil, fmt.Errorf("signature payload is %d bytes, over the %d-byte limit: %w", l.Size, MaxPayloadSize, core.ErrTooLarge)
	}
	rc, err := v.opts.Registry.OpenBlob(ctx, repo, l.Digest)
	if err != nil {
		return nil, fmt.Errorf("get signature payload: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxPayloadSize+1))
	if err != nil {
		return nil, fmt.Errorf("read signature payload: %w", err)
	}
	if len(b) > MaxPayloadSize {
		return nil, fmt.Errorf("signature payload exceeds the %d-byte limit: %w", MaxPayloadSize, core.ErrTooLarge)
	}
	if int64(len(b)) != l.Size || !digestMatches(l.Digest, b) {
		return nil, fmt.Errorf("signature payload content does not match its descriptor: %w", core.ErrDigestMismatch)
	}
	return b, nil
}

// annotation returns a bounded annotation value.
func annotation(a map[string]string, key string, limit int) (string, error) {
	s := a[key]
	if len(s) > limit {
		return "", fmt.Errorf("annotation %s is %d bytes, over the %d-byte limit: %w", key, len(s), limit, core.ErrTooLarge)
	}
	return s, nil
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation: Rekor's
// signed entry timestamp and the entry it signs.
type rekorBundle struct {
	SignedEntryTimestamp []byte `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// legacyBundle converts a signature layer to a Sigstore v0.1 bundle: a
// message signature over the payload, the certificate (chain), and the
// Rekor entry with its signed entry timestamp as the inclusion promise.
// Verifying the bundle is sigstore-go's job; this only decodes.
func legacyBundle(a map[string]string, payload []byte) (*bundle.Bundle, error) {
	certPEM, err := annotation(a, annotationCertificate, maxCertAnnotation)
	if err != nil {
		return nil, err
	}
	if certPEM == "" {
		return nil, errKeyBased
	}
	sigB64, err := annotation(a, annotationSignature, maxSignatureAnnotation)
	if err != nil {
		return nil, err
	}
	chainPEM, err := annotation(a, annotationChain, maxCertAnnotation)
	if err != nil {
		return nil, err
	}
	rekorJSON, err := annotation(a, annotationBundle, maxCertAnnotation)
	if err != nil {
		return nil, err
	}
	if sigB64 == "" {
		return nil, fmt.Errorf("annotation %s is missing", annotationSignature)
	}
	if rekorJSON == "" {
		return nil, fmt.Errorf("annotation %s is missing: the signature is not logged in Rekor, so its certificate cannot be checked at a verified time (flux-mirror needs the transparency-log entry)", annotationBundle)
	}
	sig, err := base64.StdEncoding.DecodeString(sigB64)
	if err != nil {
		return nil, fmt.Errorf("annotation %s is not base64: %w", annotationSignature, err)
	}
	certs, err := parseCerts(certPEM, 1)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", annotationCertificate, err)
	}
	if chainPEM != "" {
		chain, err := parseCerts(chainPEM, maxChainCerts)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", annotationChain, err)
		}
		certs = append(certs, chain...)
	}
	tle, err := rekorEntry(rekorJSON)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", annotationBundle, err)
	}
	sum := sha256.Sum256(payload)
	pb := &protobundle.Bundle{
		MediaType: bundleV01MediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_X509CertificateChain{
				X509CertificateChain: &protocommon.X509CertificateChain{Certificates: certs},
			},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	}
	b, err := bundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("convert to a Sigstore bundle: %w", err)
	}
	return b, nil
}

// parseCerts decodes 1 to limit PEM certificates and nothing else.
func parseCerts(s string, limit int) ([]*protocommon.X509Certificate, error) {
	var out []*protocommon.X509Certificate
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("holds a PEM %s, not a CERTIFICATE", block.Type)
		}
		if len(out) == limit {
			return nil, fmt.Errorf("holds more than %d certificates", limit)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, &protocommon.X509Certificate{RawBytes: block.Bytes})
	}
	if len(out) == 0 {
		return nil, errors.New("holds no PEM certificate")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("holds data after its PEM certificates")
	}
	return out, nil
}

// rekorEntry decodes cosign's Rekor bundle into a transparency-log entry
// whose inclusion promise is the signed entry timestamp. The kind and
// version are read from the canonicalized body; sigstore-go checks that the
// body parses as that entry type and records this signature.
func rekorEntry(s string) (*protorekor.TransparencyLogEntry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(s), &rb); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("it has no SignedEntryTimestamp")
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil || len(body) == 0 {
		return nil, errors.New("its Payload.body is not a base64 Rekor entry")
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil || len(logID) == 0 {
		return nil, fmt.Errorf("its Payload.logID %q is not a hex log ID", rb.Payload.LogID)
	}
	if rb.Payload.LogIndex < 0 || rb.Payload.IntegratedTime <= 0 {
		return nil, fmt.Errorf("its Payload has log index %d and integrated time %d", rb.Payload.LogIndex, rb.Payload.IntegratedTime)
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kv); err != nil || kv.Kind == "" || kv.APIVersion == "" {
		return nil, errors.New("its Payload.body is not a Rekor entry with a kind and apiVersion")
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

// checkPayload checks the claims of a verified simple-signing payload: an
// image signature of exactly digest.
func checkPayload(payload []byte, digest string) error {
	var p struct {
		Critical struct {
			Image struct {
				DockerManifestDigest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode simple-signing payload: %w", err)
	}
	if p.Critical.Type != SimpleSigningType {
		return fmt.Errorf("payload critical.type is %q, not %q", p.Critical.Type, SimpleSigningType)
	}
	if got := p.Critical.Image.DockerManifestDigest; got != digest {
		return fmt.Errorf("payload signs digest %q, not %s", got, digest)
	}
	return nil
}
