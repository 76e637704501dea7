package oci

import (
	"strings"
	"testing"
)

func TestParseRepository(t *testing.T) {
	tests := []struct {
		in      string
		want    Repository
		wantErr string
	}{
		{in: "ghcr.io/fluxcd/flux-cli", want: Repository{Host: "ghcr.io", Path: "fluxcd/flux-cli"}},
		{in: "localhost:5000/a/b_c__d.e-f--g", want: Repository{Host: "localhost:5000", Path: "a/b_c__d.e-f--g"}},
		{in: "localhost/app", want: Repository{Host: "localhost", Path: "app"}},
		{in: "127.0.0.1:5000/app", want: Repository{Host: "127.0.0.1:5000", Path: "app"}},
		{in: "", wantErr: "empty"},
		{in: "https://ghcr.io/a", wantErr: "must not have a scheme"},
		{in: "ghcr.io/", wantErr: "must be host/path"},
		{in: "/app", wantErr: "invalid path component"},
		{in: "localhost:5000", wantErr: "must be host/path"},
		{in: "quay.io", wantErr: "must be host/path"},
		{in: "nginx:1.0", wantErr: "must be host/path"},
		{in: "org/nginx:1.0", wantErr: "must not carry a tag or digest"},
		{in: "Nginx", wantErr: "invalid path component"},
		{in: "ghcr.io/a:1.0", wantErr: "must not carry a tag or digest"},
		{in: "ghcr.io/a@sha256:abc", wantErr: "must not carry a tag or digest"},
		{in: "ghcr.io/Upper", wantErr: "invalid path component"},
		{in: "ghcr.io/a-_b", wantErr: "invalid path component"},
		{in: "ghcr.io/a___b", wantErr: "invalid path component"},
		{in: "ghcr.io/a..b", wantErr: "invalid path component"},
		{in: "ghcr.io/-a", wantErr: "invalid path component"},
		{in: "ghcr.io/a/", wantErr: "invalid path component"},
		{in: "ghcr.io/a//b", wantErr: "invalid path component"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRepository(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRepository(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRepository(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

// TestParseRepositoryDockerHub checks Docker Hub names are normalised as
// docker, crane and go-containerregistry's name package normalise them.
func TestParseRepositoryDockerHub(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"nginx", "docker.io/library/nginx"},
		{"stefanprodan/podinfo", "docker.io/stefanprodan/podinfo"},
		{"fluxcd/flux-cli", "docker.io/fluxcd/flux-cli"},
		{"a/b/c", "docker.io/a/b/c"},
		{"library/nginx", "docker.io/library/nginx"},
		{"docker.io/nginx", "docker.io/library/nginx"},
		{"docker.io/library/nginx", "docker.io/library/nginx"},
		{"index.docker.io/nginx", "docker.io/library/nginx"},
		{"index.docker.io/stefanprodan/podinfo", "docker.io/stefanprodan/podinfo"},
		{"registry-1.docker.io/stefanprodan/podinfo", "docker.io/stefanprodan/podinfo"},
		{"Docker.IO/nginx", "docker.io/library/nginx"},
		{"localhost", "docker.io/library/localhost"}, // no '.' or ':': a Docker Hub name, as in ggcr
		{"localhost/app", "localhost/app"},
		{"registry:5000/app", "registry:5000/app"},
		{"example.com/app", "example.com/app"},
		{"my-registry.internal/a/b", "my-registry.internal/a/b"},
		{"ghcr.io/nginx", "ghcr.io/nginx"}, // library/ is Docker Hub's only
	}
	for _, tt := range tests {
		got, err := ParseRepository(tt.in)
		if err != nil {
			t.Errorf("ParseRepository(%q): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseRepository(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalHost(t *testing.T) {
	tests := []struct {
		in, want string
		hub      bool
	}{
		{"docker.io", "docker.io", true},
		{"index.docker.io", "docker.io", true},
		{"registry-1.docker.io", "docker.io", true},
		{"INDEX.Docker.io", "docker.io", true},
		{"docker.io:443", "docker.io:443", false},
		{"registry-2.docker.io", "registry-2.docker.io", false},
		{"ghcr.io", "ghcr.io", false},
		{"GHCR.io", "ghcr.io", false},
		{"localhost:5000", "localhost:5000", false},
	}
	for _, tt := range tests {
		if got := CanonicalHost(tt.in); got != tt.want {
			t.Errorf("CanonicalHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := IsDockerHub(tt.in); got != tt.hub {
			t.Errorf("IsDockerHub(%q) = %v, want %v", tt.in, got, tt.hub)
		}
	}
}

func TestValidDigest(t *testing.T) {
	hex64 := strings.Repeat("a", 64)
	for d, want := range map[string]bool{
		"sha256:" + hex64:                    true,
		"sha512:" + strings.Repeat("0", 128): true,
		"sha256:" + strings.ToUpper(hex64):   false,
		"sha256:" + hex64[:63]:               false,
		"md5:" + hex64:                       false,
		hex64:                                false,
		"sha256:" + strings.Repeat("g", 64):  false,
	} {
		if got := ValidDigest(d); got != want {
			t.Errorf("ValidDigest(%q) = %v, want %v", d, got, want)
		}
	}
	if d := Digest([]byte("")); d != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Digest(empty) = %s", d)
	}
}

func TestParseManifest(t *testing.T) {
	d := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	image := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
		"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + d('a') + `","size":10},
		"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + d('b') + `","size":20}],
		"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d('c') + `","size":30}}`
	index := `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d('d') + `","size":40,"platform":{"architecture":"arm64","os":"linux"}}]}`
	tests := []struct {
		name      string
		mediaType string
		body      string
		blobs     int
		manifests int
		subject   bool
		wantErr   string
	}{
		{name: "image with subject", body: image, blobs: 2, subject: true},
		{name: "index without mediaType field", body: index, manifests: 1},
		{name: "docker list by header", mediaType: MediaTypeDockerList, body: index, manifests: 1},
		{name: "not JSON", body: "nope", wantErr: "decode manifest"},
		{name: "image without config", mediaType: MediaTypeImageManifest, body: `{"schemaVersion":2,"layers":[]}`, wantErr: "has no config"},
		{name: "unknown media type", mediaType: "application/vnd.example+json", body: `{}`, wantErr: "unsupported manifest media type"},
		{name: "bad child digest", body: strings.Replace(index, d('d'), "sha256:xyz", 1), wantErr: "invalid digest"},
		{name: "negative size", body: strings.Replace(image, `"size":20`, `"size":-1`, 1), wantErr: "negative size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, refs, err := ParseManifest(tt.mediaType, []byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(refs.Blobs) != tt.blobs || len(refs.Manifests) != tt.manifests || (refs.Subject != nil) != tt.subject {
				t.Errorf("refs %+v", refs)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("", `{"schemaVersion":2,"manifests":[]}`)
	f.Add(MediaTypeImageManifest, `{"config":{"digest":"sha256:`+strings.Repeat("a", 64)+`","size":1},"layers":[]}`)
	f.Fuzz(func(t *testing.T, mediaType, body string) {
		_, refs, err := ParseManifest(mediaType, []byte(body))
		if err != nil {
			return
		}
		for _, d := range append(refs.Blobs, refs.Manifests...) {
			if !ValidDigest(d.Digest) || d.Size < 0 {
				t.Fatalf("accepted an invalid reference %+v", d)
			}
		}
	})
}

func FuzzParseRepository(f *testing.F) {
	f.Add("ghcr.io/fluxcd/flux-cli")
	f.Add("localhost:5000/a-_b")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRepository(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("round trip %q -> %q", s, r.String())
		}
		for _, seg := range strings.Split(r.Path, "/") {
			if !pathComponent.MatchString(seg) {
				t.Fatalf("accepted component %q", seg)
			}
		}
	})
}
