// Package oci holds the OCI value types flux-mirror's domain works with:
// repository references, descriptors, media types and the parsing of
// manifests into the content they reference. It performs no I/O.
package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Media types of manifests and of the artifacts flux-mirror builds.
const (
	MediaTypeImageManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeImageIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeEmptyJSON      = "application/vnd.oci.empty.v1+json"

	MediaTypeHelmConfig = "application/vnd.cncf.helm.config.v1+json"
	MediaTypeHelmChart  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// ManifestMediaTypes lists the manifest media types flux-mirror accepts, in
// the order it prefers them in an Accept header.
var ManifestMediaTypes = []string{
	MediaTypeImageIndex, MediaTypeImageManifest, MediaTypeDockerList, MediaTypeDockerManifest,
}

// IsIndex reports whether mediaType is a manifest list or image index.
func IsIndex(mediaType string) bool {
	return mediaType == MediaTypeImageIndex || mediaType == MediaTypeDockerList
}

// Repository names one OCI repository: a registry host (with optional port)
// and a path within it.
type Repository struct {
	Host string
	Path string
}

// String returns the repository as host/path.
func (r Repository) String() string { return r.Host + "/" + r.Path }

// DockerHub is the canonical host of Docker Hub repositories, as the
// Docker CLI writes it ("docker.io/library/nginx").
const DockerHub = "docker.io"

// dockerHubAliases are the host names that mean Docker Hub: the canonical
// name, the index (Docker's config key and go-containerregistry's default
// registry) and the registry API endpoint.
var dockerHubAliases = []string{DockerHub, "index.docker.io", "registry-1.docker.io"}

// IsDockerHub reports whether host (without scheme, any case) names Docker
// Hub: docker.io, index.docker.io or registry-1.docker.io.
func IsDockerHub(host string) bool {
	host = strings.ToLower(host)
	for _, a := range dockerHubAliases {
		if host == a {
			return true
		}
	}
	return false
}

// CanonicalHost returns the name a registry host is matched by: DockerHub
// for any of Docker Hub's names, else host lower-cased. Configured hosts
// and the hosts of repositories are compared in this form.
func CanonicalHost(host string) string {
	if IsDockerHub(host) {
		return DockerHub
	}
	return strings.ToLower(host)
}

// HasRegistryHost reports whether the first component of a reference names
// a registry host rather than a Docker Hub namespace, by the rule Docker
// and go-containerregistry share: it contains a '.' or a ':', or is
// "localhost".
func HasRegistryHost(first string) bool {
	return strings.ContainsAny(first, ".:") || first == "localhost"
}

// ParseRepository parses "host[:port]/path" (no scheme, no tag, no digest).
// Like docker, crane and Flux, it reads a name whose first component is
// not a registry host (HasRegistryHost) as a Docker Hub repository, and
// puts Docker Hub's official images under library/: "nginx" is
// docker.io/library/nginx and "stefanprodan/podinfo" is
// docker.io/stefanprodan/podinfo. Any of Docker Hub's host names
// (IsDockerHub) becomes DockerHub.
func ParseRepository(s string) (Repository, error) {
	if s == "" {
		return Repository{}, fmt.Errorf("repository is empty")
	}
	if strings.Contains(s, "://") {
		return Repository{}, fmt.Errorf("repository %q must not have a scheme (write it as host/path)", s)
	}
	host, path, ok := strings.Cut(s, "/")
	switch {
	case !ok && strings.ContainsAny(s, ".:"): // "quay.io", "localhost:5000": a host without a path
		return Repository{}, fmt.Errorf("repository %q must be host/path, e.g. ghcr.io/org/app", s)
	case !ok || !HasRegistryHost(host):
		host, path = DockerHub, s
	}
	if host == "" || path == "" {
		return Repository{}, fmt.Errorf("repository %q must be host/path, e.g. ghcr.io/org/app", s)
	}
	if IsDockerHub(host) {
		host = DockerHub
		if !strings.Contains(path, "/") {
			path = "library/" + path
		}
	}
	if strings.ContainsAny(path, "@") || strings.Contains(lastSegment(path), ":") {
		return Repository{}, fmt.Errorf("repository %q must not carry a tag or digest; tags are chosen by the selector", s)
	}
	for _, seg := range strings.Split(path, "/") {
		if !validPathComponent(seg) {
			return Repository{}, fmt.Errorf("repository %q has an invalid path component %q (lowercase letters and digits, separated by ., _, __ or dashes)", s, seg)
		}
	}
	return Repository{Host: host, Path: path}, nil
}

func lastSegment(p string) string {
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// pathComponent is the distribution spec's path component grammar.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)

// validPathComponent reports whether s is one path component of a
// repository name.
func validPathComponent(s string) bool { return pathComponent.MatchString(s) }

// Platform describes the platform of an index entry.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Descriptor points at content by media type, digest and size.
type Descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *Platform         `json:"platform,omitempty"`
}

// Digest returns the sha256 digest of b in "sha256:<hex>" form.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ValidDigest reports whether d is a well-formed sha256 or sha512 digest.
func ValidDigest(d string) bool {
	alg, hexPart, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	want := map[string]int{"sha256": 64, "sha512": 128}[alg]
	if want == 0 || len(hexPart) != want {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}

// Manifest is the union of the fields of an image manifest and an index that
// copying needs.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *Descriptor       `json:"config,omitempty"`
	Layers        []Descriptor      `json:"layers,omitempty"`
	Manifests     []Descriptor      `json:"manifests,omitempty"`
	Subject       *Descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// References is what a manifest points at.
type References struct {
	// Manifests are child manifests of an index, in order.
	Manifests []Descriptor
	// Blobs are the config and layers of an image manifest, in order.
	Blobs []Descriptor
	// Subject is the manifest this one refers to, if any.
	Subject *Descriptor
}

// ParseManifest decodes a manifest of the given media type (falling back to
// the mediaType field in the body) and returns what it references. Content
// it cannot interpret is an error, so that nothing is copied half-understood.
func ParseManifest(mediaType string, body []byte) (Manifest, References, error) {
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return Manifest{}, References{}, fmt.Errorf("decode manifest: %w", err)
	}
	if mediaType == "" {
		mediaType = m.MediaType
	}
	if mediaType == "" {
		switch {
		case m.Manifests != nil:
			mediaType = MediaTypeImageIndex
		case m.Config != nil:
			mediaType = MediaTypeImageManifest
		}
	}
	var refs References
	switch mediaType {
	case MediaTypeImageIndex, MediaTypeDockerList:
		refs.Manifests = m.Manifests
	case MediaTypeImageManifest, MediaTypeDockerManifest:
		if m.Config == nil {
			return Manifest{}, References{}, fmt.Errorf("manifest of type %s has no config", mediaType)
		}
		refs.Blobs = append([]Descriptor{*m.Config}, m.Layers...)
	default:
		return Manifest{}, References{}, fmt.Errorf("unsupported manifest media type %q", mediaType)
	}
	for _, d := range append(append([]Descriptor{}, refs.Manifests...), refs.Blobs...) {
		if !ValidDigest(d.Digest) {
			return Manifest{}, References{}, fmt.Errorf("manifest references invalid digest %q", d.Digest)
		}
		if d.Size < 0 {
			return Manifest{}, References{}, fmt.Errorf("manifest references %s with negative size", d.Digest)
		}
	}
	refs.Subject = m.Subject
	m.MediaType = mediaType
	return m, refs, nil
}
