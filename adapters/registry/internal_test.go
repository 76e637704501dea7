package registry

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/oci"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"999999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Mon, 02 Jan 2006 15:04:05 MST junk", 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://r.example/v2/a/tags/list?n=10&last=b", "https://r.example/v2/a/tags/list?last=b&n=10"},
		{"https://user:pw@r.example/v2/", "https://r.example/v2/"},
		{"https://r.example/v2/a/blobs/uploads/x?_state=abc&digest=sha256:1", "https://r.example/v2/a/blobs/uploads/x?_state=REDACTED&digest=sha256%3A1"},
		{"https://s3.example/blob?X-Amz-Signature=secret&X-Amz-Credential=key", "https://s3.example/blob?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED"},
		{"https://r.example/token?scope=repository:a:pull&service=r#frag", "https://r.example/token?scope=repository%3Aa%3Apull&service=r"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactURL(u); got != tc.want {
			t.Errorf("redactURL(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if redactURL(nil) != "" {
		t.Error("redactURL(nil) not empty")
	}
}

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, code, msg string }{
		{`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}`, "MANIFEST_UNKNOWN", "manifest unknown"},
		{`{"errors":[{"code":"A","message":"a"},{"code":"B","message":"b"}]}`, "A, B", "a; b"},
		{`404 page not found`, "", ""},
		{``, "", ""},
		{`{"errors":[]}`, "", ""},
	} {
		code, msg := parseErrorBody([]byte(tc.body))
		if code != tc.code || msg != tc.msg {
			t.Errorf("parseErrorBody(%s) = %q, %q; want %q, %q", tc.body, code, msg, tc.code, tc.msg)
		}
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://r.example/v2/a/tags/list?n=2")
	for _, tc := range []struct {
		name  string
		links []string
		want  string
	}{
		{"none", nil, ""},
		{"relative", []string{`</v2/a/tags/list?n=2&last=b>; rel="next"`}, "https://r.example/v2/a/tags/list?n=2&last=b"},
		{"absolute", []string{`<https://other.example/v2/a/tags/list?last=b>; rel=next`}, "https://other.example/v2/a/tags/list?last=b"},
		{"several links", []string{`</prev>; rel="prev", </next?a=1,2>; rel="next"`}, "https://r.example/next?a=1,2"},
		{"several headers", []string{`</prev>; rel="prev"`, `</n2>; rel="next"`}, "https://r.example/n2"},
		{"rel list", []string{`</x>; title="t"; rel="last next"`}, "https://r.example/x"},
		{"not next", []string{`</x>; rel="prev"`}, ""},
		{"malformed", []string{`/x; rel="next"`, `<%zz>; rel="next"`}, ""},
	} {
		resp := &http.Response{Header: http.Header{"Link": tc.links}, Request: &http.Request{URL: base}}
		got := nextLink(resp)
		if (got == nil) != (tc.want == "") || got != nil && got.String() != tc.want {
			t.Errorf("%s: nextLink = %v, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzNextLink(f *testing.F) {
	for _, s := range []string{`</v2/a?last=b>; rel="next"`, `<a>, <b>; rel=next`, `<<>>;rel=next,`, `;;;`, `<x>; rel`} {
		f.Add(s)
	}
	base, _ := url.Parse("https://r.example/v2/a/tags/list")
	f.Fuzz(func(t *testing.T, link string) {
		resp := &http.Response{Header: http.Header{"Link": {link}}, Request: &http.Request{URL: base}}
		if u := nextLink(resp); u != nil && !strings.Contains(strings.ToLower(link), "next") {
			t.Fatalf("link %q without next gave %v", link, u)
		}
	})
}

func TestCheckReference(t *testing.T) {
	t.Parallel()
	good := []string{"1.0", "latest", "v1.2.3-rc.1_x", "A", strings.Repeat("a", 128),
		"sha256:" + strings.Repeat("a", 64)}
	bad := []string{"", ".x", "-x", "a/b", "../x", "a b", strings.Repeat("a", 129), "sha256:abc", "x:y", "a?b", "a%2F"}
	for _, r := range good {
		if err := checkReference(r); err != nil {
			t.Errorf("checkReference(%q) = %v", r, err)
		}
	}
	for _, r := range bad {
		if err := checkReference(r); err == nil {
			t.Errorf("checkReference(%q) accepted", r)
		}
	}
}

func FuzzCheckReference(f *testing.F) {
	for _, s := range []string{"1.0", "sha256:" + strings.Repeat("0", 64), "../a", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if checkReference(ref) == nil && strings.ContainsAny(ref, "/?#% \n") {
			t.Fatalf("accepted %q, which would change the request path", ref)
		}
	})
}

func TestCovers(t *testing.T) {
	t.Parallel()
	pushA := []string{"repository:a:pull,push", "repository:b:pull"}
	for _, tc := range []struct {
		have, want []string
		ok         bool
	}{
		{pushA, []string{"repository:a:pull"}, true},
		{pushA, []string{"repository:a:pull,push"}, true},
		{pushA, []string{"repository:b:pull"}, true},
		{pushA, []string{"repository:b:pull,push"}, false},
		{pushA, []string{"repository:c:pull"}, false},
		{[]string{"repository:a:pull"}, []string{"repository:a:pull,push"}, false},
		{nil, []string{"repository:a:pull"}, false},
		{[]string{"repository:host:5000/a:pull"}, []string{"repository:host:5000/a:pull"}, true},
	} {
		if got := covers(tc.have, tc.want); got != tc.ok {
			t.Errorf("covers(%v, %v) = %v, want %v", tc.have, tc.want, got, tc.ok)
		}
	}
}

func TestAccessScopes(t *testing.T) {
	t.Parallel()
	a := access{push: true, from: "src/app"}
	a.repo.Path = "dst/app"
	got := strings.Join(a.scopes(), " ")
	if got != "repository:dst/app:pull,push repository:src/app:pull" {
		t.Fatalf("scopes = %s", got)
	}
}

func TestFallbackTag(t *testing.T) {
	t.Parallel()
	hex := strings.Repeat("ab", 32)
	if got := FallbackTag("sha256:" + hex); got != "sha256-"+hex {
		t.Errorf("sha256: %s", got)
	}
	if got := FallbackTag("sha512:" + strings.Repeat("cd", 64)); got != "sha512-"+strings.Repeat("cd", 32) {
		t.Errorf("sha512 is not truncated to 64 hex characters: %s", got)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{
		"scheme":         {Hosts: map[string]Host{"https://r.example": {}}},
		"path":           {Hosts: map[string]Host{"r.example/org": {}}},
		"empty":          {Hosts: map[string]Host{"": {}}},
		"negative chunk": {Hosts: map[string]Host{"r.example": {MaxChunkSize: -1}}},
		"negative page":  {TagPageSize: -1},
		"tls on custom transport": {
			Hosts:     map[string]Host{"r.example": {TLS: new(tls.Config)}},
			Transport: roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("x") }),
		},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
	if _, err := New(Options{Hosts: map[string]Host{"localhost:5000": {MaxChunkSize: 1 << 20}}}); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestTranslateKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://user:pw@s3.example/blob?X-Amz-Signature=sig")
	err := translate(http.MethodGet, nil, &url.Error{Op: "Get", URL: u.String(), Err: errors.New("connection refused")})
	msg := err.Error()
	if strings.Contains(msg, "pw") || strings.Contains(msg, "sig") || !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "s3.example/blob") {
		t.Fatalf("translate = %q", msg)
	}
	var he *core.HTTPError
	if errors.As(err, &he) {
		t.Fatal("a network error became an HTTPError")
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAPIRepo(t *testing.T) {
	t.Parallel()
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ host, path, want string }{
		{"docker.io", "nginx", "library/nginx"},
		{"index.docker.io", "nginx", "library/nginx"},
		{"docker.io", "fluxcd/flux", "fluxcd/flux"},
		{"ghcr.io", "nginx", "nginx"},
	} {
		h, err := c.host(tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.apiRepo(oci.Repository{Host: tc.host, Path: tc.path}).Path; got != tc.want {
			t.Errorf("apiRepo(%s/%s) = %s, want %s", tc.host, tc.path, got, tc.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %v < 0", v, d)
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	f.Add([]byte(`{"errors":[{"code":"X","message":"y"}]}`))
	f.Add([]byte(`{"errors":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		code, msg := parseErrorBody(b)
		if len(code)+len(msg) > 2*len(b)+16 {
			t.Fatalf("output larger than input: %q %q", code, msg)
		}
	})
}

func FuzzDecodeIndex(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":1}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"sha256:zz"}]}`))
	f.Add([]byte(`{"mediaType":"text/plain"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		descs, err := decodeIndex(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, d := range descs {
			if !oci.ValidDigest(d.Digest) {
				t.Fatalf("decodeIndex returned invalid digest %q", d.Digest)
			}
		}
	})
}
