package cosigntest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	rekortypes "github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
)

// Media type, annotation keys and payload type of cosign's legacy signature
// tag scheme (sha256-<hex>.sig), as cosign v1 and v2 write it by default.
const (
	// SimpleSigningMediaType is the media type of each signature layer; the
	// layer blob is the simple-signing payload.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SimpleSigningType is the payload's critical.type.
	SimpleSigningType = "cosign container image signature"
	// AnnotationSignature holds the base64 signature over the payload.
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// AnnotationCertificate holds the PEM Fulcio leaf certificate.
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	// AnnotationChain holds the PEM intermediate and root certificates.
	AnnotationChain = "dev.sigstore.cosign/chain"
	// AnnotationBundle holds the Rekor bundle: the signed entry timestamp
	// and the entry it signs.
	AnnotationBundle = "dev.sigstore.cosign/bundle"
)

// ociConfigMediaType is the config media type of cosign's .sig manifests.
const ociConfigMediaType = "application/vnd.oci.image.config.v1+json"

// LegacyRequest describes one legacy signature to produce.
type LegacyRequest struct {
	// Digest is the signed manifest digest, "sha256:<hex>".
	Digest string
	// Issuer and Subject are the certificate's OIDC issuer and SAN, as in
	// SignRequest.
	Issuer, Subject string
	// At is the signing time and the Rekor integrated time.
	At time.Time
	// ClaimedDigest is the payload's critical.image.docker-manifest-digest;
	// the default is Digest.
	ClaimedDigest string
	// Type is the payload's critical.type; the default is
	// SimpleSigningType.
	Type string
	// DockerReference is the payload's critical.identity.docker-reference;
	// the default is "registry.example/acme/app".
	DockerReference string
	// Key signs with a key pair (cosign sign --key) instead of a Fulcio
	// certificate: the signature carries no certificate or chain, and the
	// Rekor entry records the public key.
	Key bool
	// NoRekor leaves the signature unlogged (cosign sign --tlog-upload=false):
	// no bundle annotation.
	NoRekor bool
	// NoSCT issues the certificate without an embedded SCT.
	NoSCT bool
}

// LegacySignature is one layer of a cosign .sig manifest. Its fields are
// what AttachLegacy writes, so tests can alter them before attaching.
type LegacySignature struct {
	// Payload is the simple-signing payload JSON, the layer blob.
	Payload []byte
	// Signature is the base64 signature over Payload (AnnotationSignature).
	Signature string
	// Certificate is the PEM leaf certificate (AnnotationCertificate); empty
	// for a key-based signature.
	Certificate string
	// Chain is the PEM intermediate and root certificates (AnnotationChain).
	Chain string
	// Bundle is the Rekor bundle JSON (AnnotationBundle); empty when not
	// logged.
	Bundle string
}

// LegacyTag returns cosign's signature tag of digest: "sha256:<hex>"
// becomes "sha256-<hex>.sig".
func LegacyTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// SignLegacy returns a keyless legacy signature over digest by the given
// OIDC identity, logged at time at. It fails the test on any error.
func (s *Sigstore) SignLegacy(t testing.TB, digest, issuer, subject string, at time.Time) LegacySignature {
	t.Helper()
	return s.SignLegacyRequest(t, LegacyRequest{Digest: digest, Issuer: issuer, Subject: subject, At: at})
}

// SignLegacyRequest returns the legacy signature described by req. It fails
// the test on any error.
func (s *Sigstore) SignLegacyRequest(t testing.TB, req LegacyRequest) LegacySignature {
	t.Helper()
	sig, err := s.signLegacy(req)
	if err != nil {
		t.Fatalf("cosigntest: sign legacy %s: %v", req.Digest, err)
	}
	return sig
}

// simpleSigning is cosign's simple-signing payload, in the field order of
// cosign's payload.SimpleContainerImage.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]string `json:"optional"`
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation.
type rekorBundle struct {
	SignedEntryTimestamp []byte       `json:"SignedEntryTimestamp"`
	Payload              rekorPayload `json:"Payload"`
}

type rekorPayload struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"`
}

func (s *Sigstore) signLegacy(req LegacyRequest) (LegacySignature, error) {
	if _, hexDigest, ok := strings.Cut(req.Digest, ":"); !ok || len(hexDigest) != 64 {
		return LegacySignature{}, fmt.Errorf("digest %q is not sha256:<64 hex>", req.Digest)
	}
	if req.At.IsZero() {
		return LegacySignature{}, fmt.Errorf("signing time is zero")
	}
	if req.At.Before(s.cfg.validFrom) || req.At.After(s.cfg.validUntil) {
		return LegacySignature{}, fmt.Errorf("signing time %s is outside the instance's validity %s..%s", req.At, s.cfg.validFrom, s.cfg.validUntil)
	}
	claimed, typ, ref := req.ClaimedDigest, req.Type, req.DockerReference
	if claimed == "" {
		claimed = req.Digest
	}
	if typ == "" {
		typ = SimpleSigningType
	}
	if ref == "" {
		ref = "registry.example/acme/app"
	}
	var p simpleSigning
	p.Critical.Identity.DockerReference = ref
	p.Critical.Image.DockerManifestDigest = claimed
	p.Critical.Type = typ
	payload, err := json.Marshal(p)
	if err != nil {
		return LegacySignature{}, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return LegacySignature{}, err
	}
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		return LegacySignature{}, err
	}
	out := LegacySignature{Payload: payload, Signature: base64.StdEncoding.EncodeToString(sig)}

	var logged []byte // the PEM Rekor records: certificate or public key
	if req.Key {
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return LegacySignature{}, err
		}
		logged = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	} else {
		leaf, err := s.issueLeaf(SignRequest{Digest: req.Digest, Issuer: req.Issuer, Subject: req.Subject, At: req.At, NoSCT: req.NoSCT}, &key.PublicKey)
		if err != nil {
			return LegacySignature{}, fmt.Errorf("issue certificate: %w", err)
		}
		logged = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
		out.Certificate = string(logged)
		out.Chain = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.interCert.Raw})) +
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.rootCert.Raw}))
	}
	if req.NoRekor {
		return out, nil
	}

	body, err := canonicalEntry(hashedrekord.KIND, rekortypes.ArtifactProperties{
		ArtifactHash:   "sha256:" + hex.EncodeToString(h[:]),
		SignatureBytes: sig,
		PublicKeyBytes: [][]byte{logged},
		PKIFormat:      "x509",
	})
	if err != nil {
		return LegacySignature{}, fmt.Errorf("build hashedrekord entry: %w", err)
	}
	tle, err := s.logEntry(hashedrekord.KIND, body, req.At)
	if err != nil {
		return LegacySignature{}, fmt.Errorf("log entry: %w", err)
	}
	b, err := json.Marshal(rekorBundle{
		SignedEntryTimestamp: tle.InclusionPromise.SignedEntryTimestamp,
		Payload: rekorPayload{
			Body:           base64.StdEncoding.EncodeToString(body),
			IntegratedTime: tle.IntegratedTime,
			LogIndex:       tle.LogIndex,
			LogID:          hex.EncodeToString(s.rekorID[:]),
		},
	})
	if err != nil {
		return LegacySignature{}, err
	}
	out.Bundle = string(b)
	return out, nil
}

// AttachLegacy pushes sigs to repo (host[:port]/path, an optional http://
// or https:// prefix is ignored) as cosign's legacy signature manifest of
// digest, tagged LegacyTag(digest): an OCI image manifest whose layers are
// the payloads, with media type SimpleSigningMediaType and the signature,
// certificate, chain and Rekor bundle as layer annotations (empty fields are
// left out). It replaces an existing tag, as cosign does when it appends a
// signature. It returns the manifest digest and fails the test on any error.
func AttachLegacy(t testing.TB, repo, digest string, sigs []LegacySignature, opts ...remote.Option) string {
	t.Helper()
	d, err := attachLegacy(repo, digest, sigs, opts...)
	if err != nil {
		t.Fatalf("cosigntest: attach legacy signatures to %s@%s: %v", repo, digest, err)
	}
	return d
}

func attachLegacy(repoRef, digest string, sigs []LegacySignature, opts ...remote.Option) (string, error) {
	repo, err := parseRepo(repoRef)
	if err != nil {
		return "", err
	}
	layers := make([]v1.Descriptor, 0, len(sigs))
	diffIDs := make([]string, 0, len(sigs))
	for _, s := range sigs {
		l := static.NewLayer(s.Payload, types.MediaType(SimpleSigningMediaType))
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return "", fmt.Errorf("push payload: %w", err)
		}
		d, err := descriptorOf(l)
		if err != nil {
			return "", err
		}
		d.Annotations = map[string]string{}
		for k, v := range map[string]string{
			AnnotationSignature:   s.Signature,
			AnnotationCertificate: s.Certificate,
			AnnotationChain:       s.Chain,
			AnnotationBundle:      s.Bundle,
		} {
			if v != "" {
				d.Annotations[k] = v
			}
		}
		layers = append(layers, d)
		diffIDs = append(diffIDs, d.Digest.String())
	}
	cfgJSON, err := json.Marshal(map[string]any{
		"architecture": "", "os": "", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return "", err
	}
	cfg := static.NewLayer(cfgJSON, ociConfigMediaType)
	if err := remote.WriteLayer(repo, cfg, opts...); err != nil {
		return "", fmt.Errorf("push config: %w", err)
	}
	cfgDesc, err := descriptorOf(cfg)
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     string          `json:"mediaType"`
		Config        v1.Descriptor   `json:"config"`
		Layers        []v1.Descriptor `json:"layers"`
	}{2, manifestMediaType, cfgDesc, layers})
	if err != nil {
		return "", err
	}
	if err := remote.Put(repo.Tag(LegacyTag(digest)), rawManifest{raw: raw, mediaType: manifestMediaType}, opts...); err != nil {
		return "", fmt.Errorf("push signature manifest: %w", err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	return h.String(), nil
}
