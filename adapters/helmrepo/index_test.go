package helmrepo

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/repo"

	"github.com/fluxcd/flux-mirror/core/mirror"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

const yamlIndex = `apiVersion: v1
entries:
  demo:
  - apiVersion: v2
    name: demo
    version: 1.2.3+build.1
    digest: ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789
    urls:
    - demo-1.2.3+build.1.tgz
    created: "2024-01-01T00:00:00Z"
  - name: demo
    version: 1.0.0
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
    urls:
    - https://cdn.example.com/demo-1.0.0.tgz
    - demo-1.0.0.tgz
  - name: demo
    version: 1.0.0
    urls: [duplicate.tgz]
  - null
  - name: demo
    urls: [noversion.tgz]
  - name: demo
    version: 1.10
    urls: [number.tgz]
  - name: demo
    version: 2
    urls: [integer.tgz]
  other: []
generated: "2024-01-01T00:00:00Z"
serverInfo: {}
`

func TestParseIndex(t *testing.T) {
	t.Parallel()
	base := mustURL(t, "https://charts.example.com/stable/")
	want := map[string][]mirror.ChartVersion{
		"demo": {
			{Name: "demo", Version: "1.2.3+build.1", URLs: []string{"https://charts.example.com/stable/demo-1.2.3+build.1.tgz"},
				Digest: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
			{Name: "demo", Version: "1.0.0", URLs: []string{"https://cdn.example.com/demo-1.0.0.tgz", "https://charts.example.com/stable/demo-1.0.0.tgz"},
				Digest: strings.Repeat("0", 64)},
		},
		"other": {},
	}
	jsonIndex := `{"apiVersion":"v1","entries":{"demo":[` +
		`{"name":"demo","version":"1.2.3+build.1","digest":"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789","urls":["demo-1.2.3+build.1.tgz"]},` +
		`{"name":"demo","version":"1.0.0","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","urls":["https://cdn.example.com/demo-1.0.0.tgz","demo-1.0.0.tgz"]},` +
		`null,{"name":"demo","version":1.10,"urls":["number.tgz"]}],"other":[]}}`
	for name, data := range map[string]string{"yaml": yamlIndex, "json": jsonIndex} {
		t.Run(name, func(t *testing.T) {
			got, err := parseIndex([]byte(data), base)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parseIndex =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestParseIndexErrors(t *testing.T) {
	t.Parallel()
	base := mustURL(t, "https://charts.example.com")
	tests := []struct {
		name, data string
		want       error  // errors.Is target, if any
		wantMsg    string // substring of the message
	}{
		{"empty", "", errEmptyIndex, "empty"},
		{"blank", " \n\t\n", errEmptyIndex, "empty"},
		{"html", "<html><body>Not Found</body></html>", nil, "neither a YAML nor a JSON"},
		{"yaml list", "- a\n- b\n", nil, "neither a YAML nor a JSON"},
		{"json string", `"index"`, nil, "neither a YAML nor a JSON"},
		{"broken yaml", "apiVersion: v1\nentries:\n  demo: [\n", nil, "neither a YAML nor a JSON"},
		{"entries not a map", "apiVersion: v1\nentries: [a]\n", nil, "neither a YAML nor a JSON"},
		{"no entries", "apiVersion: v1\ngenerated: now\n", errNoEntries, "no \"entries\""},
		{"null entries", "apiVersion: v1\nentries: null\n", errNoEntries, "no \"entries\""},
		{"json without entries", `{"apiVersion":"v1"}`, errNoEntries, "no \"entries\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseIndex([]byte(tt.data), base)
			if err == nil {
				t.Fatal("parseIndex succeeded, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestResolveReference checks the resolution against Helm's own
// repo.ResolveReferenceURL.
func TestResolveReference(t *testing.T) {
	t.Parallel()
	bases := []string{
		"https://charts.example.com",
		"https://charts.example.com/",
		"https://charts.example.com/stable",
		"https://charts.example.com/stable/",
		"https://charts.example.com/a/b/?token=abc",
		"http://127.0.0.1:8080/charts%2Fx/",
	}
	refs := []string{
		"demo-1.0.0.tgz",
		"charts/demo-1.0.0.tgz",
		"/root/demo-1.0.0.tgz",
		"../up/demo-1.0.0.tgz",
		"demo-1.2.3+build.1.tgz",
		"https://cdn.example.com/demo-1.0.0.tgz",
		"//cdn.example.com/demo.tgz",
		"index.yaml",
	}
	for _, b := range bases {
		for _, r := range refs {
			want, err := repo.ResolveReferenceURL(b, r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := resolveReference(mustURL(t, b), r)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("resolveReference(%q, %q) = %q, Helm gives %q", b, r, got, want)
			}
		}
	}
}

func TestRepoKeyAndFindEntry(t *testing.T) {
	t.Parallel()
	entries := []*repoEntry{
		{Name: "bad", URL: "::not a url"},
		{Name: "stable", URL: "https://Charts.Example.com/stable/"},
		{Name: "root", URL: "https://charts.example.com"},
		{Name: "dup", URL: "https://charts.example.com/"},
		{Name: "port", URL: "https://charts.example.com:8443"},
	}
	tests := []struct{ repo, want string }{
		{"https://charts.example.com", "root"},
		{"https://charts.example.com/", "root"},
		{"HTTPS://CHARTS.example.com", "root"},
		{"https://charts.example.com/stable", "stable"},
		{"https://charts.example.com/stable//", "stable"},
		{"https://charts.example.com:8443/", "port"},
		{"http://charts.example.com", ""},
		{"https://charts.example.com/other", ""},
		{"https://charts.example.com.evil.io", ""},
	}
	for _, tt := range tests {
		e := findEntry(entries, mustURL(t, tt.repo))
		got := ""
		if e != nil {
			got = e.Name
		}
		if got != tt.want {
			t.Errorf("findEntry(%q) = %q, want %q", tt.repo, got, tt.want)
		}
	}
}

func TestNormalizeDigest(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		hex:                  hex,
		strings.ToUpper(hex): hex,
		"sha256:" + hex:      hex,
		"SHA256:" + hex:      hex,
		" " + hex + "\n":     hex,
		"sha512:" + hex:      "sha512:" + hex,
		"":                   "",
	} {
		if got := normalizeDigest(in); got != want {
			t.Errorf("normalizeDigest(%q) = %q, want %q", in, got, want)
		}
	}
	if !validDigest(hex) || validDigest(hex[:63]) || validDigest(strings.Repeat("g", 64)) || validDigest(strings.ToUpper(hex)) {
		t.Error("validDigest accepts or rejects the wrong digests")
	}
}

// FuzzParseIndex checks that no input crashes the parser and that what it
// returns holds its invariants.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(yamlIndex))
	f.Add([]byte(`{"apiVersion":"v1","entries":{"a":[{"version":"1.0.0","urls":["a.tgz","%zz"]}]}}`))
	f.Add([]byte("entries:\n  a:\n  - version: 1\n    urls: [\"::\"]\n"))
	f.Add([]byte("<html></html>"))
	f.Add([]byte(""))
	f.Add([]byte("entries: {a: [null, {version: x, digest: SHA256:AB}]}"))
	base, _ := url.Parse("https://charts.example.com/sub/?q=1")
	f.Fuzz(func(t *testing.T, data []byte) {
		charts, err := parseIndex(data, base)
		if err != nil {
			if charts != nil {
				t.Fatal("charts returned with an error")
			}
			return
		}
		for name, versions := range charts {
			seen := map[string]bool{}
			for _, v := range versions {
				if v.Name != name || v.Version == "" || seen[v.Version] {
					t.Fatalf("bad version %+v of %q", v, name)
				}
				seen[v.Version] = true
				if v.Digest != strings.ToLower(v.Digest) {
					t.Fatalf("digest %q not lower-case", v.Digest)
				}
				for _, u := range v.URLs {
					if u == "" {
						t.Fatal("empty URL")
					}
				}
			}
		}
	})
}

func TestParseIndexKeepsVersionStrings(t *testing.T) {
	t.Parallel()
	data := "entries:\n  a:\n  - version: \"1.10\"\n  - version: '01.2.3'\n  - version: 1.10.0+build.007\n  - version: 1.10\n"
	got, err := parseIndex([]byte(data), mustURL(t, "https://x"))
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, v := range got["a"] {
		versions = append(versions, v.Version)
	}
	if want := []string{"1.10", "01.2.3", "1.10.0+build.007"}; !reflect.DeepEqual(versions, want) {
		t.Errorf("versions = %q, want %q (an unquoted number is skipped, never rewritten)", versions, want)
	}
}
