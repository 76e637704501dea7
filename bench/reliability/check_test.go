package reliability

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// manifest is the part of an OCI/Docker manifest or index the check walks.
type manifest struct {
	Config    *descriptor  `json:"config"`
	Layers    []descriptor `json:"layers"`
	Manifests []descriptor `json:"manifests"`
}

type descriptor struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// checkCompleteOrAbsent fails the test unless registry B is
// complete-or-absent for every seeded repository: each tag at B is a
// seeded tag whose manifest is byte-identical to A's (same digest), and
// every child manifest and blob it references is at B with the content
// its digest names. Without mayMiss, every seeded tag must be at B. It
// returns the tags found at B, per repository.
func checkCompleteOrAbsent(t *testing.T, src *source, dst *registrytest.Server, mayMiss bool) map[string][]string {
	t.Helper()
	found := map[string][]string{}
	for _, r := range src.repos {
		tags := dst.Tags(t, r.path)
		slices.Sort(tags)
		found[r.path] = tags
		for _, tag := range tags {
			want, seeded := r.digests[tag]
			if !seeded {
				t.Errorf("destination %s:%s is not a source tag", r.path, tag)
				continue
			}
			_, body := dst.Manifest(t, r.path+":"+tag)
			if got := sha256Digest(body); got != want {
				t.Errorf("destination %s:%s is %s, want the source's %s", r.path, tag, got, want)
				continue
			}
			for _, problem := range walk(t, dst, r.path, body) {
				t.Errorf("destination %s:%s is half-written: %s", r.path, tag, problem)
			}
		}
		if mayMiss {
			continue
		}
		for tag := range r.digests {
			if !slices.Contains(tags, tag) {
				t.Errorf("destination %s:%s is missing", r.path, tag)
			}
		}
	}
	return found
}

// walk checks that every child manifest and blob that the manifest body
// references is in repo at B, byte-identical, and returns what is not.
func walk(t *testing.T, dst *registrytest.Server, repo string, body []byte) []string {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return []string{fmt.Sprintf("manifest does not parse: %v", err)}
	}
	var problems []string
	for _, child := range m.Manifests {
		ref := repo + "@" + child.Digest
		if !dst.HasManifest(t, ref) {
			problems = append(problems, "child manifest "+child.Digest+" is missing")
			continue
		}
		_, b := dst.Manifest(t, ref)
		if got := sha256Digest(b); got != child.Digest || int64(len(b)) != child.Size {
			problems = append(problems, fmt.Sprintf("child manifest %s has digest %s and %d bytes, want %d", child.Digest, got, len(b), child.Size))
			continue
		}
		problems = append(problems, walk(t, dst, repo, b)...)
	}
	blobs := m.Layers
	if m.Config != nil {
		blobs = append([]descriptor{*m.Config}, blobs...)
	}
	for _, d := range blobs {
		if !dst.HasBlob(t, repo, d.Digest) {
			problems = append(problems, "blob "+d.Digest+" is missing")
			continue
		}
		b := dst.Blob(t, repo, d.Digest)
		if got := sha256Digest(b); got != d.Digest || int64(len(b)) != d.Size {
			problems = append(problems, fmt.Sprintf("blob %s has digest %s and %d bytes, want %d", d.Digest, got, len(b), d.Size))
		}
	}
	return problems
}
