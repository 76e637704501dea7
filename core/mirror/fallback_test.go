package mirror

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/oci"
)

func desc(c byte, typ string) oci.Descriptor {
	return oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: "sha256:" + strings.Repeat(string(c), 64), Size: 10, ArtifactType: typ}
}

func TestMergeFallbackIndex(t *testing.T) {
	t.Parallel()
	a, b, c := desc('a', "t/a"), desc('b', "t/b"), desc('c', "t/c")
	foreign := `{"digest":"` + c.Digest + `","mediaType":"x","size":1,"x-extra":"<kept>"}`
	existing := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","annotations":{"k":"v"},"manifests":[` + foreign + `]}`
	tests := []struct {
		name             string
		existing         string
		add              []oci.Descriptor
		remove           []string
		wantDigests      []string
		added, removed   int
		wantErr          string
		wantForeignKept  bool
		wantAnnotationKV bool
	}{
		{name: "new index", existing: "", add: []oci.Descriptor{a, b}, wantDigests: []string{a.Digest, b.Digest}, added: 2},
		{name: "merge keeps others", existing: existing, add: []oci.Descriptor{a}, wantDigests: []string{c.Digest, a.Digest}, added: 1, wantForeignKept: true, wantAnnotationKV: true},
		{name: "already listed", existing: existing, add: []oci.Descriptor{c}, wantDigests: []string{c.Digest}, wantForeignKept: true},
		{name: "replace", existing: existing, add: []oci.Descriptor{a}, remove: []string{c.Digest}, wantDigests: []string{a.Digest}, added: 1, removed: 1, wantAnnotationKV: true},
		{name: "null manifests", existing: `{"schemaVersion":2,"manifests":null}`, add: []oci.Descriptor{a}, wantDigests: []string{a.Digest}, added: 1},
		{name: "not JSON", existing: `{"schema`, add: []oci.Descriptor{a}, wantErr: "decode the index"},
		{name: "manifests not a list", existing: `{"manifests":{}}`, add: []oci.Descriptor{a}, wantErr: "manifests"},
		{name: "null document", existing: `null`, add: []oci.Descriptor{a}, wantErr: "null"},
	}
	for _, tt := range tests {
		var in []byte
		if tt.existing != "" {
			in = []byte(tt.existing)
		}
		out, added, removed, total, err := mergeFallbackIndex(in, tt.add, tt.remove)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		m, refs, err := oci.ParseManifest(oci.MediaTypeImageIndex, out)
		if err != nil {
			t.Errorf("%s: result %s does not parse: %v", tt.name, out, err)
			continue
		}
		var got []string
		for _, d := range refs.Manifests {
			got = append(got, d.Digest)
		}
		if !slices.Equal(got, tt.wantDigests) || added != tt.added || removed != tt.removed || total != len(got) {
			t.Errorf("%s: %v (+%d -%d =%d), want %v (+%d -%d)", tt.name, got, added, removed, total, tt.wantDigests, tt.added, tt.removed)
		}
		if tt.wantForeignKept && !strings.Contains(string(out), foreign) {
			t.Errorf("%s: foreign entry not kept verbatim: %s", tt.name, out)
		}
		if tt.wantAnnotationKV && m.Annotations["k"] != "v" {
			t.Errorf("%s: index annotations lost: %s", tt.name, out)
		}
		if m.SchemaVersion != 2 {
			t.Errorf("%s: schemaVersion %d", tt.name, m.SchemaVersion)
		}
	}
}

// FuzzMergeFallbackIndex feeds arbitrary existing fallback indexes, as a
// destination registry may serve them: the merge never panics, and when it
// succeeds, the result is JSON that lists every kept entry and every added
// descriptor exactly once.
func FuzzMergeFallbackIndex(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
	f.Add([]byte(`{"manifests":[{"digest":"sha256:` + strings.Repeat("c", 64) + `","x":[1,2]}]}`))
	f.Add([]byte(`{"manifests":[{"digest":1}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	add := []oci.Descriptor{desc('a', "t/a"), desc('c', "t/c")}
	remove := []string{desc('b', "").Digest}
	f.Fuzz(func(t *testing.T, existing []byte) {
		out, _, _, total, err := mergeFallbackIndex(existing, add, remove)
		if err != nil {
			return
		}
		var doc struct {
			Manifests []struct {
				Digest any `json:"digest"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("merge of %q produced invalid JSON %q: %v", existing, out, err)
		}
		if len(doc.Manifests) != total {
			t.Fatalf("total %d, listed %d", total, len(doc.Manifests))
		}
		for _, d := range add {
			n := 0
			for _, m := range doc.Manifests {
				if m.Digest == d.Digest {
					n++
				}
			}
			if n < 1 {
				t.Fatalf("merge of %q lost %s: %s", existing, d.Digest, out)
			}
		}
		for _, m := range doc.Manifests {
			if m.Digest == remove[0] {
				t.Fatalf("removed digest still listed: %s", out)
			}
		}
	})
}
