package registrytest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types the seed helpers write.
const (
	// MediaTypeEmptyJSON is the OCI empty descriptor's media type; its blob is "{}".
	MediaTypeEmptyJSON = "application/vnd.oci.empty.v1+json"
	// MediaTypeArtifactLayer is the layer media type of PushArtifact and PushReferrer.
	MediaTypeArtifactLayer = "application/octet-stream"
)

// ImageOption configures an image the seed helpers push.
type ImageOption func(*imageConfig)

type imageConfig struct {
	docker      bool
	annotations map[string]string
}

// AsDocker pushes Docker schema 2 media types instead of OCI ones.
func AsDocker() ImageOption { return func(c *imageConfig) { c.docker = true } }

// ImageAnnotations sets the manifest's annotations (OCI only).
func ImageAnnotations(a map[string]string) ImageOption {
	return func(c *imageConfig) { c.annotations = a }
}

func imageOptions(opts []ImageOption) imageConfig {
	var c imageConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (s *Server) remoteOptions(t testing.TB) []remote.Option {
	return []remote.Option{
		remote.WithTransport(s.transport),
		remote.WithAuth(s.Authenticator()),
		remote.WithContext(testContext(t)),
	}
}

func testContext(t testing.TB) context.Context {
	if c, ok := t.(interface{ Context() context.Context }); ok {
		return c.Context()
	}
	return context.Background()
}

func (s *Server) parseRef(t testing.TB, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s.Ref(ref))
	if err != nil {
		t.Fatalf("registrytest: parse reference %q: %v", ref, err)
	}
	return r
}

func (s *Server) parseRepo(t testing.TB, repo string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s.Ref(repo))
	if err != nil {
		t.Fatalf("registrytest: parse repository %q: %v", repo, err)
	}
	return r
}

// RandomBytes returns n random bytes.
func RandomBytes(t testing.TB, n int64) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("registrytest: random bytes: %v", err)
	}
	return b
}

// RandomLayer returns a layer whose blob is exactly size random bytes (not
// a real tarball: registries do not look inside layers). Push it in
// several images with PushImage to share a base layer.
func RandomLayer(t testing.TB, size int64, opts ...ImageOption) v1.Layer {
	t.Helper()
	mt := types.OCILayer
	if imageOptions(opts).docker {
		mt = types.DockerLayer
	}
	return static.NewLayer(RandomBytes(t, size), mt)
}

// PushImage pushes an image made of layers to ref ("repo:tag" relative to
// the server, or a full reference) and returns its manifest digest.
func (s *Server) PushImage(t testing.TB, ref string, layers []v1.Layer, opts ...ImageOption) string {
	t.Helper()
	img := s.image(t, layers, nil, opts)
	r := s.parseRef(t, ref)
	if err := remote.Write(r, img, s.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: push image %s: %v", r, err)
	}
	return digestOf(t, img)
}

func (s *Server) image(t testing.TB, layers []v1.Layer, platform *v1.Platform, opts []ImageOption) v1.Image {
	t.Helper()
	c := imageOptions(opts)
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	if c.docker {
		base = mutate.MediaType(empty.Image, types.DockerManifestSchema2)
		base = mutate.ConfigMediaType(base, types.DockerConfigJSON)
	}
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatalf("registrytest: build image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("registrytest: config: %v", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if platform != nil {
		cf.OS, cf.Architecture, cf.Variant = platform.OS, platform.Architecture, platform.Variant
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatalf("registrytest: set config: %v", err)
	}
	if len(c.annotations) > 0 && !c.docker {
		img = mutate.Annotations(img, c.annotations).(v1.Image)
	}
	return img
}

// PushRandomImage pushes an image of `layers` random layers of `size` bytes
// each to ref and returns its manifest digest.
func (s *Server) PushRandomImage(t testing.TB, ref string, layers int, size int64, opts ...ImageOption) string {
	t.Helper()
	ls := make([]v1.Layer, layers)
	for i := range ls {
		ls[i] = RandomLayer(t, size, opts...)
	}
	return s.PushImage(t, ref, ls, opts...)
}

// PushIndex pushes an index of one small random image per platform
// ("os/arch" or "os/arch/variant"; default linux/amd64 and linux/arm64) to
// ref and returns the index digest.
func (s *Server) PushIndex(t testing.TB, ref string, platforms ...string) string {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64", "linux/arm64"}
	}
	images := make([]PlatformImage, len(platforms))
	for i, p := range platforms {
		images[i] = PlatformImage{Platform: p, Layers: []v1.Layer{RandomLayer(t, 256)}}
	}
	return s.PushIndexOf(t, ref, images...)
}

// PlatformImage is one image of an index that PushIndexOf pushes.
type PlatformImage struct {
	// Platform is "os/arch" or "os/arch/variant".
	Platform string
	// Layers are the image's layers; share one between the images of
	// several indexes to share a base layer.
	Layers []v1.Layer
}

// PushIndexOf pushes an OCI index of the given images, in order, to ref
// and returns the index digest.
func (s *Server) PushIndexOf(t testing.TB, ref string, images ...PlatformImage) string {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, im := range images {
		parts := strings.Split(im.Platform, "/")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("registrytest: platform %q must be os/arch[/variant]", im.Platform)
		}
		plat := &v1.Platform{OS: parts[0], Architecture: parts[1]}
		if len(parts) == 3 {
			plat.Variant = parts[2]
		}
		img := s.image(t, im.Layers, plat, nil)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	r := s.parseRef(t, ref)
	if err := remote.WriteIndex(r, idx, s.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: push index %s: %v", r, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatalf("registrytest: index digest: %v", err)
	}
	return d.String()
}

// PushBlob uploads content to repo and returns its digest.
func (s *Server) PushBlob(t testing.TB, repo string, content []byte) string {
	t.Helper()
	l := static.NewLayer(content, MediaTypeArtifactLayer)
	r := s.parseRepo(t, repo)
	if err := remote.WriteLayer(r, l, s.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: push blob to %s: %v", r, err)
	}
	return digestOf(t, l)
}

// PushManifest stores body under ref (a tag, or "repo@digest") with the
// given media type and returns its digest. The blobs and manifests it
// references must already exist. A manifest with a subject also updates
// the referrers fallback tag on a registry without the referrers API.
func (s *Server) PushManifest(t testing.TB, ref, mediaType string, body []byte) string {
	t.Helper()
	r := s.parseRef(t, ref)
	m := rawManifest{mediaType: types.MediaType(mediaType), body: body}
	if err := remote.Put(r, m, s.remoteOptions(t)...); err != nil {
		t.Fatalf("registrytest: put manifest %s: %v", r, err)
	}
	return digestOf(t, m)
}

// Descriptor is an OCI content descriptor as the seed helpers write it.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type artifactManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// PushArtifact pushes an OCI image manifest with the given artifactType
// whose config has configMediaType (MediaTypeEmptyJSON, or "" for it, gives
// the "{}" empty config) and one application/octet-stream layer per
// element of layers. It returns the manifest digest.
func (s *Server) PushArtifact(t testing.TB, ref, artifactType, configMediaType string, layers ...[]byte) string {
	t.Helper()
	m := s.artifact(t, s.parseRef(t, ref).Context().RepositoryStr(), artifactType, configMediaType, layers)
	return s.putJSON(t, ref, m)
}

// PushReferrer pushes an artifact of artifactType whose subject is the
// manifest at subjectRef (a tag or digest reference), by digest, and
// returns its digest. On a registry without the referrers API it also
// updates the sha256-<hex> fallback tag, as OCI 1.1 clients do.
func (s *Server) PushReferrer(t testing.TB, subjectRef, artifactType string, annotations ...map[string]string) string {
	t.Helper()
	sub := s.parseRef(t, subjectRef)
	d, err := remote.Head(sub, s.remoteOptions(t)...)
	if err != nil {
		t.Fatalf("registrytest: head subject %s: %v", sub, err)
	}
	repo := sub.Context().RepositoryStr()
	m := s.artifact(t, repo, artifactType, "", [][]byte{RandomBytes(t, 64)})
	m.Subject = &Descriptor{MediaType: string(d.MediaType), Digest: d.Digest.String(), Size: d.Size}
	if len(annotations) > 0 {
		m.Annotations = annotations[0]
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("registrytest: marshal referrer: %v", err)
	}
	dg := v1Digest(body)
	return s.PushManifest(t, s.host+"/"+repo+"@"+dg, m.MediaType, body)
}

func (s *Server) artifact(t testing.TB, repo, artifactType, configMediaType string, layers [][]byte) artifactManifest {
	t.Helper()
	cfg := []byte("{}")
	if configMediaType == "" {
		configMediaType = MediaTypeEmptyJSON
	}
	m := artifactManifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		ArtifactType:  artifactType,
		Config:        Descriptor{MediaType: configMediaType, Digest: s.PushBlob(t, repo, cfg), Size: int64(len(cfg))},
		Layers:        []Descriptor{},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, Descriptor{MediaType: MediaTypeArtifactLayer, Digest: s.PushBlob(t, repo, l), Size: int64(len(l))})
	}
	return m
}

func (s *Server) putJSON(t testing.TB, ref string, m artifactManifest) string {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("registrytest: marshal manifest: %v", err)
	}
	return s.PushManifest(t, ref, m.MediaType, body)
}

// Digest returns the digest of the manifest at ref (one HEAD request).
func (s *Server) Digest(t testing.TB, ref string) string {
	t.Helper()
	r := s.parseRef(t, ref)
	d, err := remote.Head(r, s.remoteOptions(t)...)
	if err != nil {
		t.Fatalf("registrytest: head %s: %v", r, err)
	}
	return d.Digest.String()
}

// Manifest returns the media type and exact bytes of the manifest at ref.
func (s *Server) Manifest(t testing.TB, ref string) (mediaType string, body []byte) {
	t.Helper()
	r := s.parseRef(t, ref)
	d, err := remote.Get(r, s.remoteOptions(t)...)
	if err != nil {
		t.Fatalf("registrytest: get %s: %v", r, err)
	}
	return string(d.MediaType), d.Manifest
}

// ManifestBytes returns the exact bytes of the manifest at ref.
func (s *Server) ManifestBytes(t testing.TB, ref string) []byte {
	t.Helper()
	_, b := s.Manifest(t, ref)
	return b
}

// HasManifest reports whether ref resolves (false on 404; other errors fail the test).
func (s *Server) HasManifest(t testing.TB, ref string) bool {
	t.Helper()
	r := s.parseRef(t, ref)
	_, err := remote.Head(r, s.remoteOptions(t)...)
	if isNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("registrytest: head %s: %v", r, err)
	}
	return true
}

// Tags returns the tags of repo (empty if the repository does not exist).
func (s *Server) Tags(t testing.TB, repo string) []string {
	t.Helper()
	r := s.parseRepo(t, repo)
	tags, err := remote.List(r, s.remoteOptions(t)...)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("registrytest: list tags of %s: %v", r, err)
	}
	return tags
}

// HasBlob reports whether repo holds the blob digest.
func (s *Server) HasBlob(t testing.TB, repo, digest string) bool {
	t.Helper()
	resp := s.blobRequest(t, http.MethodHead, repo, digest)
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("registrytest: HEAD blob %s in %s: %s", digest, repo, resp.Status)
	return false
}

// Blob returns the content of blob digest in repo.
func (s *Server) Blob(t testing.TB, repo, digest string) []byte {
	t.Helper()
	resp := s.blobRequest(t, http.MethodGet, repo, digest)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("registrytest: GET blob %s in %s: %s", digest, repo, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("registrytest: read blob %s: %v", digest, err)
	}
	return b
}

func (s *Server) blobRequest(t testing.TB, method, repo, digest string) *http.Response {
	t.Helper()
	r := s.parseRepo(t, repo)
	h, err := v1.NewHash(digest)
	if err != nil {
		t.Fatalf("registrytest: digest %q: %v", digest, err)
	}
	scopes := []string{r.Scope(transport.PullScope)}
	rt, err := transport.NewWithContext(testContext(t), r.Registry, s.Authenticator(), s.transport, scopes)
	if err != nil {
		t.Fatalf("registrytest: authenticate to %s: %v", r, err)
	}
	req, err := http.NewRequestWithContext(testContext(t), method, fmt.Sprintf("%s/v2/%s/blobs/%s", s.URL(), r.RepositoryStr(), h), nil)
	if err != nil {
		t.Fatalf("registrytest: %v", err)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatalf("registrytest: %s blob %s in %s: %v", method, digest, repo, err)
	}
	return resp
}

// Referrers returns the descriptors of the manifests whose subject is
// digest in repo, through the referrers API or the fallback tag.
func (s *Server) Referrers(t testing.TB, repo, digest string) []v1.Descriptor {
	t.Helper()
	r := s.parseRepo(t, repo)
	idx, err := remote.Referrers(r.Digest(digest), s.remoteOptions(t)...)
	if err != nil {
		t.Fatalf("registrytest: referrers of %s@%s: %v", r, digest, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("registrytest: referrers index: %v", err)
	}
	return m.Manifests
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

type rawManifest struct {
	mediaType types.MediaType
	body      []byte
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }
func (m rawManifest) Digest() (v1.Hash, error)            { return v1.NewHash(v1Digest(m.body)) }

func v1Digest(b []byte) string {
	h, _, _ := v1.SHA256(strings.NewReader(string(b)))
	return h.String()
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatalf("registrytest: digest: %v", err)
	}
	return h.String()
}
