package cosigntest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of the referrer manifest cosign pushes.
const (
	emptyJSONMediaType = "application/vnd.oci.empty.v1+json"
	manifestMediaType  = "application/vnd.oci.image.manifest.v1+json"
)

// Attach pushes bundleJSON to repo (host[:port]/path, an optional http://
// or https:// prefix is ignored) as an OCI 1.1 referrer of the manifest
// subjectDigest, laid out as cosign v3 does: artifactType and the single
// layer's media type are the bundle's media type, the config is the empty
// descriptor, and the manifest carries the dev.sigstore.bundle.*
// annotations. On a registry without the referrers API the push also
// creates or extends the sha256-<hex> fallback index. opts are passed to
// go-containerregistry (e.g. remote.WithTransport for TLS or auth). It
// returns the referrer manifest's digest and fails the test on any error.
func Attach(t testing.TB, repo, subjectDigest string, bundleJSON []byte, opts ...remote.Option) string {
	t.Helper()
	d, err := attach(repo, subjectDigest, bundleJSON, opts...)
	if err != nil {
		t.Fatalf("cosigntest: attach bundle to %s@%s: %v", repo, subjectDigest, err)
	}
	return d
}

func attach(repoRef, subjectDigest string, bundleJSON []byte, opts ...remote.Option) (string, error) {
	repo, err := parseRepo(repoRef)
	if err != nil {
		return "", err
	}
	subject, err := remote.Head(repo.Digest(subjectDigest), opts...)
	if err != nil {
		return "", fmt.Errorf("resolve subject: %w", err)
	}

	var b struct {
		MediaType    string          `json:"mediaType"`
		DsseEnvelope json.RawMessage `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil {
		return "", fmt.Errorf("decode bundle: %w", err)
	}
	if b.MediaType == "" {
		return "", fmt.Errorf("bundle has no mediaType")
	}
	annotations := map[string]string{
		"dev.sigstore.bundle.content":      "message-signature",
		"org.opencontainers.image.created": time.Now().UTC().Format(time.RFC3339),
	}
	if b.DsseEnvelope != nil {
		annotations["dev.sigstore.bundle.content"] = "dsse-envelope"
		if pt := predicateType(b.DsseEnvelope); pt != "" {
			annotations["dev.sigstore.bundle.predicateType"] = pt
		}
	}

	config := static.NewLayer([]byte("{}"), emptyJSONMediaType)
	layer := static.NewLayer(bundleJSON, types.MediaType(b.MediaType))
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return "", fmt.Errorf("push blob: %w", err)
		}
	}
	configDesc, err := descriptorOf(config)
	if err != nil {
		return "", err
	}
	layerDesc, err := descriptorOf(layer)
	if err != nil {
		return "", err
	}
	layerDesc.Annotations = map[string]string{
		"org.opencontainers.image.title": strings.Replace(layerDesc.Digest.String(), ":", "-", 1) + ".sigstore.json",
	}

	m := struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		ArtifactType  string            `json:"artifactType"`
		Config        v1.Descriptor     `json:"config"`
		Layers        []v1.Descriptor   `json:"layers"`
		Subject       *v1.Descriptor    `json:"subject"`
		Annotations   map[string]string `json:"annotations"`
	}{
		SchemaVersion: 2,
		MediaType:     manifestMediaType,
		ArtifactType:  b.MediaType,
		Config:        configDesc,
		Layers:        []v1.Descriptor{layerDesc},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	// go-containerregistry maintains the fallback tag itself when the
	// registry answers 404 to the referrers API.
	if err := remote.Put(repo.Digest(h.String()), rawManifest{raw: raw, mediaType: manifestMediaType}, opts...); err != nil {
		return "", fmt.Errorf("push referrer manifest: %w", err)
	}
	return h.String(), nil
}

func predicateType(envelope json.RawMessage) string {
	var env struct {
		Payload []byte `json:"payload"`
	}
	if json.Unmarshal(envelope, &env) != nil {
		return ""
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(env.Payload, &st) != nil {
		return ""
	}
	return st.PredicateType
}

func descriptorOf(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}

// rawManifest is a manifest pushed byte for byte.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

// RawManifest returns the manifest bytes.
func (r rawManifest) RawManifest() ([]byte, error) { return r.raw, nil }

// MediaType returns the manifest media type sent as Content-Type.
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }

// parseRepo parses a test registry's repository, with or without an
// http:// or https:// prefix; plain HTTP is allowed, as on loopback.
func parseRepo(ref string) (name.Repository, error) {
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "http://"), "https://")
	return name.NewRepository(ref, name.Insecure)
}
