package mirrortest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// Harness is one registry under the contract of RegistryContract: an
// implementation of mirror.Registry, fresh for the subtest that asked for
// it, and what the registry behind it is known to support.
type Harness struct {
	// Registry is the implementation under test.
	Registry mirror.Registry
	// Host is the registry host the suite creates its repositories on.
	Host string
	// Namespace, if set, prefixes every repository path the suite uses
	// (e.g. "run3/"), so that harnesses may share one registry.
	Namespace string
	// ReferrersAPI tells whether Host serves the OCI 1.1 referrers API;
	// without it, referrers are listed from the referrers tag schema.
	ReferrersAPI bool
	// Mount tells whether Host links blobs across repositories; without
	// it, MountBlob declines and the caller uploads.
	Mount bool
	// Refuse makes every later request for the repository path (on Host,
	// Namespace included) fail with status, 401 or 403, as an
	// authenticating proxy in front of the registry answers a client
	// without (enough) credentials.
	Refuse func(path string, status int)
}

// RegistryContract is the contract of the mirror.Registry port: what the
// sync engine relies on from any implementation. Every subtest asks
// newHarness for a registry of its own and seeds it through the port
// itself, so the same suite runs against the in-memory Registry of this
// package and against the real adapter over real registries; where they
// differ, the fake is wrong.
//
// Pagination is the implementation's business: a harness over a real
// registry should make the pages small (the suite lists 25 tags).
func RegistryContract(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"ListTags", contractListTags},
		{"ListTagsEmptyRepository", contractEmptyRepository},
		{"Manifests", contractManifests},
		{"ManifestBytesAndMediaTypes", contractManifestBytes},
		{"Index", contractIndex},
		{"PutManifest", contractPutManifest},
		{"Blobs", contractBlobs},
		{"PushBlobChecksDigest", contractPushBlobDigest},
		{"Mount", contractMount},
		{"Referrers", contractReferrers},
		{"ErrorClasses", contractErrorClasses},
		{"CanceledContext", contractCanceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newHarness(t))
		})
	}
}

// repoOn returns the repository path on h's host.
func repoOn(t *testing.T, h Harness, path string) oci.Repository {
	t.Helper()
	repo, err := oci.ParseRepository(h.Host + "/" + h.Namespace + path)
	if err != nil {
		t.Fatalf("repository %s/%s: %v", h.Host, path, err)
	}
	return repo
}

// contractImage is an image built in memory and pushed through the port.
type contractImage struct {
	blobs    [][]byte
	manifest []byte
	desc     oci.Descriptor
}

// newContractImage builds an image manifest of mediaType (OCI or Docker)
// whose config and layers are derived from seed, so that different seeds
// give different digests.
func newContractImage(t *testing.T, seed, mediaType string, extra func(*oci.Manifest)) contractImage {
	t.Helper()
	cfgType, layerType := "application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"
	if mediaType == oci.MediaTypeDockerManifest {
		cfgType, layerType = "application/vnd.docker.container.image.v1+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":"` + seed + `"}`)
	layer := []byte("layer of " + seed + strings.Repeat(".", 3000))
	m := oci.Manifest{
		SchemaVersion: 2,
		MediaType:     mediaType,
		Config:        &oci.Descriptor{MediaType: cfgType, Digest: oci.Digest(cfg), Size: int64(len(cfg))},
		Layers:        []oci.Descriptor{{MediaType: layerType, Digest: oci.Digest(layer), Size: int64(len(layer))}},
	}
	if extra != nil {
		extra(&m)
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return contractImage{
		blobs:    [][]byte{cfg, layer},
		manifest: body,
		desc:     oci.Descriptor{MediaType: mediaType, Digest: oci.Digest(body), Size: int64(len(body))},
	}
}

// push uploads the image's blobs and puts its manifest under ref (a tag,
// or its digest when ref is empty).
func (img contractImage) push(t *testing.T, h Harness, repo oci.Repository, ref string) {
	t.Helper()
	for _, b := range img.blobs {
		pushContractBlob(t, h, repo, b)
	}
	if ref == "" {
		ref = img.desc.Digest
	}
	if err := h.Registry.PutManifest(t.Context(), repo, ref, img.desc.MediaType, img.manifest); err != nil {
		t.Fatalf("PutManifest(%s:%s): %v", repo, ref, err)
	}
}

func pushContractBlob(t *testing.T, h Harness, repo oci.Repository, b []byte) oci.Descriptor {
	t.Helper()
	d := oci.Descriptor{MediaType: "application/octet-stream", Digest: oci.Digest(b), Size: int64(len(b))}
	if err := h.Registry.PushBlob(t.Context(), repo, d, bytes.NewReader(b)); err != nil {
		t.Fatalf("PushBlob(%s@%s): %v", repo, d.Digest, err)
	}
	return d
}

func putIndex(t *testing.T, h Harness, repo oci.Repository, ref string, children ...oci.Descriptor) (oci.Descriptor, []byte) {
	t.Helper()
	body, err := json.Marshal(oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageIndex, Manifests: children})
	if err != nil {
		t.Fatal(err)
	}
	d := oci.Descriptor{MediaType: oci.MediaTypeImageIndex, Digest: oci.Digest(body), Size: int64(len(body))}
	if ref == "" {
		ref = d.Digest
	}
	if err := h.Registry.PutManifest(t.Context(), repo, ref, oci.MediaTypeImageIndex, body); err != nil {
		t.Fatalf("PutManifest(%s:%s, index): %v", repo, ref, err)
	}
	return d, body
}

// sameDescriptor compares what HEAD and GET report: media type, digest and
// size.
func sameDescriptor(got, want oci.Descriptor) bool {
	return got.MediaType == want.MediaType && got.Digest == want.Digest && got.Size == want.Size
}

func contractListTags(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/tags")
	img := newContractImage(t, "tags", oci.MediaTypeImageManifest, nil)
	img.push(t, h, repo, "t00")
	want := []string{"t00"}
	for i := 1; i < 25; i++ {
		tag := fmt.Sprintf("t%02d", i)
		if err := h.Registry.PutManifest(ctx, repo, tag, img.desc.MediaType, img.manifest); err != nil {
			t.Fatalf("PutManifest(%s): %v", tag, err)
		}
		want = append(want, tag)
	}
	// A manifest put by digest only is not a tag.
	newContractImage(t, "untagged", oci.MediaTypeImageManifest, nil).push(t, h, repo, "")

	got, err := h.Registry.ListTags(ctx, repo)
	if err != nil {
		t.Fatalf("ListTags: %v", err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("ListTags = %v, want every tag once: %v", got, want)
	}

	if _, err := h.Registry.ListTags(ctx, repoOn(t, h, "contract/no-such-repo")); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ListTags of a missing repository = %v, want core.ErrNotFound", err)
	}
}

// contractEmptyRepository pins down the cases between "missing" and
// "tagged": a repository that holds only blobs does not exist as far as
// tags/list is concerned (real registries answer NAME_UNKNOWN), while one
// whose only manifest is untagged lists no tags.
func contractEmptyRepository(t *testing.T, h Harness) {
	ctx := t.Context()
	blobsOnly := repoOn(t, h, "contract/blobs-only")
	pushContractBlob(t, h, blobsOnly, []byte("a blob without a manifest"))
	if tags, err := h.Registry.ListTags(ctx, blobsOnly); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ListTags of a repository with only blobs = %v, %v; want core.ErrNotFound", tags, err)
	}

	untagged := repoOn(t, h, "contract/untagged")
	newContractImage(t, "untagged", oci.MediaTypeImageManifest, nil).push(t, h, untagged, "")
	tags, err := h.Registry.ListTags(ctx, untagged)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ListTags of a repository without tags = %v, want no tags or core.ErrNotFound", err)
	}
	if len(tags) != 0 {
		t.Errorf("ListTags of a repository without tags = %v, want none", tags)
	}
}

func contractManifests(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/manifests")
	img := newContractImage(t, "manifests", oci.MediaTypeImageManifest, nil)
	img.push(t, h, repo, "1.0")

	for _, ref := range []string{"1.0", img.desc.Digest} {
		d, err := h.Registry.HeadManifest(ctx, repo, ref)
		if err != nil || !sameDescriptor(d, img.desc) {
			t.Errorf("HeadManifest(%s) = %+v, %v; want %+v", ref, d, err, img.desc)
		}
		d, body, err := h.Registry.GetManifest(ctx, repo, ref)
		if err != nil || !sameDescriptor(d, img.desc) || !bytes.Equal(body, img.manifest) {
			t.Errorf("GetManifest(%s) = %+v, %q, %v; want %+v and the bytes put", ref, d, body, err, img.desc)
		}
	}

	missingDigest := oci.Digest([]byte("no such manifest"))
	for _, ref := range []string{"2.0", missingDigest} {
		if _, err := h.Registry.HeadManifest(ctx, repo, ref); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("HeadManifest(missing %s) = %v, want core.ErrNotFound", ref, err)
		}
		if _, _, err := h.Registry.GetManifest(ctx, repo, ref); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("GetManifest(missing %s) = %v, want core.ErrNotFound", ref, err)
		}
	}
	other := repoOn(t, h, "contract/no-such-repo")
	if _, err := h.Registry.HeadManifest(ctx, other, "1.0"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("HeadManifest in a missing repository = %v, want core.ErrNotFound", err)
	}
	if _, _, err := h.Registry.GetManifest(ctx, other, img.desc.Digest); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("GetManifest in a missing repository = %v, want core.ErrNotFound", err)
	}
}

// contractManifestBytes checks that manifests come back byte for byte and
// under the media type they were put with: a Docker schema 2 manifest, and
// an OCI manifest whose JSON is not in Go's canonical form.
func contractManifestBytes(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/bytes")

	docker := newContractImage(t, "docker", oci.MediaTypeDockerManifest, nil)
	docker.push(t, h, repo, "docker")

	// Indented, with the keys in another order and an annotation: only
	// the exact bytes hash to the digest.
	plain := newContractImage(t, "indented", oci.MediaTypeImageManifest, nil)
	var m oci.Manifest
	if err := json.Unmarshal(plain.manifest, &m); err != nil {
		t.Fatal(err)
	}
	body := []byte(fmt.Sprintf("{\n  \"mediaType\": %q,\n  \"schemaVersion\": 2,\n  \"layers\": [\n    {\"size\": %d, \"digest\": %q, \"mediaType\": %q}\n  ],\n  \"config\": {\"size\": %d, \"digest\": %q, \"mediaType\": %q},\n  \"annotations\": {\"org.example.note\": \"kept as written\"}\n}\n",
		oci.MediaTypeImageManifest, m.Layers[0].Size, m.Layers[0].Digest, m.Layers[0].MediaType, m.Config.Size, m.Config.Digest, m.Config.MediaType))
	indented := contractImage{blobs: plain.blobs, manifest: body, desc: oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: oci.Digest(body), Size: int64(len(body))}}
	indented.push(t, h, repo, "indented")

	for tag, img := range map[string]contractImage{"docker": docker, "indented": indented} {
		d, err := h.Registry.HeadManifest(ctx, repo, tag)
		if err != nil || !sameDescriptor(d, img.desc) {
			t.Errorf("HeadManifest(%s) = %+v, %v; want %+v", tag, d, err, img.desc)
		}
		d, got, err := h.Registry.GetManifest(ctx, repo, tag)
		if err != nil || !sameDescriptor(d, img.desc) || !bytes.Equal(got, img.manifest) {
			t.Errorf("GetManifest(%s) = %+v, %q, %v; want %+v and the exact bytes %q", tag, d, got, err, img.desc, img.manifest)
		}
	}
}

func contractIndex(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/index")
	var children []oci.Descriptor
	for _, arch := range []string{"amd64", "arm64"} {
		img := newContractImage(t, "index-"+arch, oci.MediaTypeImageManifest, nil)
		img.push(t, h, repo, "")
		d := img.desc
		d.Platform = &oci.Platform{OS: "linux", Architecture: arch}
		children = append(children, d)
	}
	want, body := putIndex(t, h, repo, "multi", children...)

	for _, ref := range []string{"multi", want.Digest} {
		d, err := h.Registry.HeadManifest(ctx, repo, ref)
		if err != nil || !sameDescriptor(d, want) {
			t.Errorf("HeadManifest(index %s) = %+v, %v; want %+v", ref, d, err, want)
		}
		d, got, err := h.Registry.GetManifest(ctx, repo, ref)
		if err != nil || !sameDescriptor(d, want) || !bytes.Equal(got, body) {
			t.Errorf("GetManifest(index %s) = %+v, %q, %v; want %+v and the bytes put", ref, d, got, err, want)
		}
	}
	for _, c := range children {
		if d, err := h.Registry.HeadManifest(ctx, repo, c.Digest); err != nil || !sameDescriptor(d, c) {
			t.Errorf("HeadManifest(child %s) = %+v, %v", c.Digest, d, err)
		}
	}

	// An index whose child is not in the repository is refused.
	missing := newContractImage(t, "index-missing-child", oci.MediaTypeImageManifest, nil).desc
	idx, err := json.Marshal(oci.Manifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageIndex, Manifests: []oci.Descriptor{missing}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Registry.PutManifest(ctx, repo, "broken", oci.MediaTypeImageIndex, idx); err == nil {
		t.Error("PutManifest of an index with a missing child manifest succeeded")
	}
	if _, err := h.Registry.HeadManifest(ctx, repo, "broken"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("a refused index is tagged anyway: HeadManifest = %v", err)
	}
}

func contractPutManifest(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/put")
	first := newContractImage(t, "put-1", oci.MediaTypeImageManifest, nil)
	second := newContractImage(t, "put-2", oci.MediaTypeImageManifest, nil)

	// By digest: stored, reachable by digest, no tag.
	first.push(t, h, repo, "")
	if d, err := h.Registry.HeadManifest(ctx, repo, first.desc.Digest); err != nil || !sameDescriptor(d, first.desc) {
		t.Fatalf("HeadManifest after a put by digest = %+v, %v", d, err)
	}
	// Tagging the same bytes later, twice.
	for _, tag := range []string{"a", "b"} {
		if err := h.Registry.PutManifest(ctx, repo, tag, first.desc.MediaType, first.manifest); err != nil {
			t.Fatalf("PutManifest(%s): %v", tag, err)
		}
	}
	// Moving a tag.
	second.push(t, h, repo, "b")
	for tag, want := range map[string]oci.Descriptor{"a": first.desc, "b": second.desc} {
		if d, err := h.Registry.HeadManifest(ctx, repo, tag); err != nil || !sameDescriptor(d, want) {
			t.Errorf("HeadManifest(%s) = %+v, %v; want %+v", tag, d, err, want)
		}
	}
	if d, err := h.Registry.HeadManifest(ctx, repo, first.desc.Digest); err != nil || !sameDescriptor(d, first.desc) {
		t.Errorf("the manifest a moved tag left is gone: %+v, %v", d, err)
	}

	// Under a digest the body does not hash to: refused, nothing stored.
	third := newContractImage(t, "put-3", oci.MediaTypeImageManifest, nil)
	for _, b := range third.blobs {
		pushContractBlob(t, h, repo, b)
	}
	wrong := oci.Digest([]byte("another body"))
	if err := h.Registry.PutManifest(ctx, repo, wrong, third.desc.MediaType, third.manifest); err == nil {
		t.Error("PutManifest under a digest the body does not hash to succeeded")
	}
	for _, ref := range []string{wrong, third.desc.Digest} {
		if _, err := h.Registry.HeadManifest(ctx, repo, ref); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("after a refused put, HeadManifest(%s) = %v, want core.ErrNotFound", ref, err)
		}
	}
}

func contractBlobs(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/blobs")
	content := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	d := oci.Descriptor{MediaType: "application/octet-stream", Digest: oci.Digest(content), Size: int64(len(content))}

	if ok, err := h.Registry.BlobExists(ctx, repo, d.Digest); err != nil || ok {
		t.Fatalf("BlobExists before the push = %v, %v; want false, nil", ok, err)
	}
	if _, err := h.Registry.OpenBlob(ctx, repo, d.Digest); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("OpenBlob before the push = %v, want core.ErrNotFound", err)
	}
	if err := h.Registry.PushBlob(ctx, repo, d, bytes.NewReader(content)); err != nil {
		t.Fatalf("PushBlob: %v", err)
	}
	if ok, err := h.Registry.BlobExists(ctx, repo, d.Digest); err != nil || !ok {
		t.Fatalf("BlobExists after the push = %v, %v; want true, nil", ok, err)
	}
	rc, err := h.Registry.OpenBlob(ctx, repo, d.Digest)
	if err != nil {
		t.Fatalf("OpenBlob: %v", err)
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("OpenBlob read %d bytes, %v; want the %d bytes pushed", len(got), err, len(content))
	}

	// The empty blob is a blob like any other.
	empty := oci.Descriptor{MediaType: oci.MediaTypeEmptyJSON, Digest: oci.Digest([]byte("{}")), Size: 2}
	if err := h.Registry.PushBlob(ctx, repo, empty, strings.NewReader("{}")); err != nil {
		t.Fatalf("PushBlob({}): %v", err)
	}
	if ok, err := h.Registry.BlobExists(ctx, repo, empty.Digest); err != nil || !ok {
		t.Fatalf("BlobExists({}) = %v, %v", ok, err)
	}
}

// contractPushBlobDigest checks that a blob whose bytes do not hash to the
// digest (or have another length) is refused and never becomes visible.
// A stream longer than announced is refused too; its first desc.Size bytes
// may have been stored, as they are the blob the digest names.
func contractPushBlobDigest(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/digest")
	content := []byte("the announced content")
	desc := oci.Descriptor{Digest: oci.Digest(content), Size: int64(len(content))}
	for _, tc := range []struct {
		name        string
		body        string
		mayBeStored bool
	}{
		{"other bytes", "other content, same size", false},
		{"truncated", string(content[:5]), false},
		{"longer", string(content) + "and more", true},
	} {
		if err := h.Registry.PushBlob(ctx, repo, desc, strings.NewReader(tc.body)); err == nil {
			t.Errorf("%s: PushBlob succeeded", tc.name)
		}
		if ok, err := h.Registry.BlobExists(ctx, repo, desc.Digest); err != nil || ok && !tc.mayBeStored {
			t.Errorf("%s: after a refused push BlobExists = %v, %v; want false, nil", tc.name, ok, err)
		}
		if ok, err := h.Registry.BlobExists(ctx, repo, oci.Digest([]byte(tc.body))); err != nil || ok {
			t.Errorf("%s: the bytes sent are stored under their own digest: %v, %v", tc.name, ok, err)
		}
	}
}

func contractMount(t *testing.T, h Harness) {
	ctx := t.Context()
	from, to := repoOn(t, h, "contract/mount-from"), repoOn(t, h, "contract/mount-to")
	content := []byte("a blob to mount")
	d := pushContractBlob(t, h, from, content)

	mounted, err := h.Registry.MountBlob(ctx, to, from, d.Digest)
	if err != nil {
		t.Fatalf("MountBlob: %v", err)
	}
	if mounted != h.Mount {
		t.Fatalf("MountBlob = %v, want %v (the registry's mount support)", mounted, h.Mount)
	}
	if !mounted {
		// The caller uploads instead, which must work after a declined mount.
		pushContractBlob(t, h, to, content)
	}
	if ok, err := h.Registry.BlobExists(ctx, to, d.Digest); err != nil || !ok {
		t.Fatalf("BlobExists after the mount = %v, %v", ok, err)
	}

	// A blob the source does not have is never mounted; uploading it
	// afterwards works.
	other := []byte("not in the source")
	mounted, err = h.Registry.MountBlob(ctx, to, from, oci.Digest(other))
	if err != nil || mounted {
		t.Fatalf("MountBlob of a blob the source lacks = %v, %v; want false, nil", mounted, err)
	}
	pushContractBlob(t, h, to, other)
	if ok, err := h.Registry.BlobExists(ctx, to, oci.Digest(other)); err != nil || !ok {
		t.Fatalf("BlobExists after the upload that followed a declined mount = %v, %v", ok, err)
	}
}

func contractReferrers(t *testing.T, h Harness) {
	ctx := t.Context()
	repo := repoOn(t, h, "contract/referrers")
	subject := newContractImage(t, "subject", oci.MediaTypeImageManifest, nil)
	subject.push(t, h, repo, "1.0")

	api, err := h.Registry.SupportsReferrersAPI(ctx, repo)
	if err != nil || api != h.ReferrersAPI {
		t.Fatalf("SupportsReferrersAPI = %v, %v; want %v", api, err, h.ReferrersAPI)
	}
	if list, err := h.Registry.Referrers(ctx, repo, subject.desc.Digest); err != nil || len(list) != 0 {
		t.Fatalf("Referrers before any = %v, %v; want none", list, err)
	}

	// The config media type is the artifact type too: go-containerregistry's
	// registry lists a referrer under its config media type only.
	const artifactType = "application/vnd.example.signature.v1+json"
	annotations := map[string]string{"org.example.signed-by": "contract"}
	sig := newContractImage(t, "signature", oci.MediaTypeImageManifest, func(m *oci.Manifest) {
		m.ArtifactType = artifactType
		m.Config.MediaType = artifactType
		s := subject.desc
		m.Subject = &s
		m.Annotations = annotations
	})
	sig.push(t, h, repo, "")
	want := sig.desc
	want.ArtifactType, want.Annotations = artifactType, annotations

	list, err := h.Registry.Referrers(ctx, repo, subject.desc.Digest)
	if err != nil {
		t.Fatalf("Referrers: %v", err)
	}
	if !h.ReferrersAPI {
		// Nothing indexes referrers without the API: the writer maintains
		// the fallback tag, and Referrers reads it.
		if len(list) != 0 {
			t.Fatalf("Referrers without the API and without a fallback tag = %v, want none", list)
		}
		putIndex(t, h, repo, mirror.FallbackTag(subject.desc.Digest), want)
		if list, err = h.Registry.Referrers(ctx, repo, subject.desc.Digest); err != nil {
			t.Fatalf("Referrers from the fallback tag: %v", err)
		}
	}
	if len(list) != 1 || !sameDescriptor(list[0], want) || list[0].ArtifactType != artifactType || !maps.Equal(list[0].Annotations, annotations) {
		t.Fatalf("Referrers = %+v, want [%+v]", list, want)
	}

	if list, err := h.Registry.Referrers(ctx, repo, sig.desc.Digest); err != nil || len(list) != 0 {
		t.Errorf("Referrers of a digest nothing refers to = %v, %v; want none", list, err)
	}
	if list, err := h.Registry.Referrers(ctx, repoOn(t, h, "contract/no-such-repo"), subject.desc.Digest); err != nil || len(list) != 0 {
		t.Errorf("Referrers in a missing repository = %v, %v; want none", list, err)
	}
}

// contractErrorClasses checks that every call answered 401 or 403 wraps
// core.ErrUnauthorized or core.ErrDenied, so that the engine reports a
// credentials problem and does not retry it.
func contractErrorClasses(t *testing.T, h Harness) {
	if h.Refuse == nil {
		t.Fatal("the harness has no Refuse: the error classes cannot be checked")
	}
	content := []byte("blob")
	desc := oci.Descriptor{Digest: oci.Digest(content), Size: int64(len(content))}
	img := newContractImage(t, "refused", oci.MediaTypeImageManifest, nil)
	calls := map[string]func(ctx context.Context, r mirror.Registry, repo oci.Repository) error{
		"ListTags": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			_, err := r.ListTags(ctx, repo)
			return err
		},
		"HeadManifest": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			_, err := r.HeadManifest(ctx, repo, "1.0")
			return err
		},
		"GetManifest": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			_, _, err := r.GetManifest(ctx, repo, img.desc.Digest)
			return err
		},
		"PutManifest": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			return r.PutManifest(ctx, repo, "1.0", img.desc.MediaType, img.manifest)
		},
		"BlobExists": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			_, err := r.BlobExists(ctx, repo, desc.Digest)
			return err
		},
		"OpenBlob": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			_, err := r.OpenBlob(ctx, repo, desc.Digest)
			return err
		},
		"PushBlob": func(ctx context.Context, r mirror.Registry, repo oci.Repository) error {
			return r.PushBlob(ctx, repo, desc, bytes.NewReader(content))
		},
	}
	for _, tc := range []struct {
		path   string
		status int
		want   error
	}{
		{"contract/unauthorized", http.StatusUnauthorized, core.ErrUnauthorized},
		{"contract/denied", http.StatusForbidden, core.ErrDenied},
	} {
		h.Refuse(h.Namespace+tc.path, tc.status)
		repo := repoOn(t, h, tc.path)
		for _, name := range slices.Sorted(maps.Keys(calls)) {
			err := calls[name](t.Context(), h.Registry, repo)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s answered %d: %v, want %v", name, tc.status, err, tc.want)
			}
			if errors.Is(err, core.ErrNotFound) {
				t.Errorf("%s answered %d: %v also claims not found", name, tc.status, err)
			}
		}
	}
	// A refused repository does not spill over to its neighbours.
	if _, err := h.Registry.ListTags(t.Context(), repoOn(t, h, "contract/open")); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ListTags of an open, missing repository = %v, want core.ErrNotFound", err)
	}
}

// contractCanceled checks that a call with a context already canceled
// fails with the context's error and changes nothing.
func contractCanceled(t *testing.T, h Harness) {
	repo := repoOn(t, h, "contract/canceled")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	content := []byte("never stored")
	d := oci.Descriptor{Digest: oci.Digest(content), Size: int64(len(content))}
	if err := h.Registry.PushBlob(ctx, repo, d, bytes.NewReader(content)); !errors.Is(err, context.Canceled) {
		t.Errorf("PushBlob with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := h.Registry.ListTags(ctx, repo); !errors.Is(err, context.Canceled) {
		t.Errorf("ListTags with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := h.Registry.HeadManifest(ctx, repo, "1.0"); !errors.Is(err, context.Canceled) {
		t.Errorf("HeadManifest with a canceled context = %v, want context.Canceled", err)
	}
	if ok, err := h.Registry.BlobExists(t.Context(), repo, d.Digest); err != nil || ok {
		t.Errorf("a canceled push stored the blob: BlobExists = %v, %v", ok, err)
	}
}
