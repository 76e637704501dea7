package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	blobURLPath = "/v2/team/app/blobs/sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tagURLPath  = "/v2/team/app/manifests/1.0.0"
	patchPath   = "/v2/team/app/blobs/uploads/5f2b"
	blobSize    = 64 << 10
)

// upstream is a tiny origin server: it serves a blob, stores manifests and
// takes upload chunks, and records what reached it.
type upstream struct {
	*httptest.Server
	blob []byte

	mu        sync.Mutex
	requests  []string // "METHOD path"
	hosts     []string
	bodyBytes int64
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{blob: bytes.Repeat([]byte("0123456789abcdef"), blobSize/16)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.requests = append(u.requests, r.Method+" "+r.URL.Path)
		u.hosts = append(u.hosts, r.Host)
		u.bodyBytes += n
		u.mu.Unlock()
		switch {
		case r.URL.Path == blobURLPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			w.Header().Set("Content-Length", strconv.Itoa(len(u.blob)))
			w.Header().Set("Docker-Content-Digest", "sha256:0123")
			if r.Method == http.MethodGet {
				_, _ = w.Write(u.blob)
			}
		case r.Method == http.MethodPut:
			w.Header().Set("Location", "http://"+r.Host+r.URL.Path)
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPatch:
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) seen() (reqs []string, bodyBytes int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.requests...), u.bodyBytes
}

func newProxy(t *testing.T, up *upstream, opts ...Option) *Proxy {
	t.Helper()
	p, err := New(up.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// client opens a fresh connection per request, so that Go's transport
// never replays a request on its own after a dropped connection.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}

func do(t *testing.T, ctx context.Context, p *Proxy, method, path string, body []byte) (*http.Response, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	return client.Do(req)
}

func TestForwardStreamsAndKeepsHost(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := newProxy(t, up)
	resp, err := do(t, t.Context(), p, http.MethodGet, blobURLPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, up.blob) {
		t.Fatalf("body: %d bytes, err %v; want the %d-byte blob", len(got), err, len(up.blob))
	}
	if resp.Header.Get("Docker-Content-Digest") != "sha256:0123" {
		t.Errorf("headers not forwarded: %v", resp.Header)
	}
	resp, err = do(t, t.Context(), p, http.MethodPut, tagURLPath, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := p.URL() + tagURLPath; resp.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q: the upstream must see the proxy's Host", resp.Header.Get("Location"), want)
	}
	if _, n := up.seen(); n != 2 {
		t.Errorf("upstream received %d body bytes, want 2", n)
	}
	if got := p.Counts(BlobGet, TagPut, Any); got["blob GET"] != 1 || got["tag PUT"] != 1 || got["any"] != 2 {
		t.Errorf("counts %v", got)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	const n = 1000
	tests := []struct {
		name   string
		fault  Fault
		method string
		path   string
		body   []byte
		// upstream is the requests the upstream must have received.
		upstream []string
		check    func(t *testing.T, resp *http.Response, err error)
	}{
		{
			name: "status", fault: Status(http.StatusServiceUnavailable), method: http.MethodGet, path: blobURLPath,
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("got %v %v, want 503", resp, err)
				}
			},
		},
		{
			name: "429 with Retry-After", fault: TooManyRequests(1500 * time.Millisecond), method: http.MethodPut, path: tagURLPath, body: []byte("{}"),
			check: func(t *testing.T, resp *http.Response, err error) {
				if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
					t.Fatalf("got %v %v, want 429 with Retry-After: 2", resp, err)
				}
			},
		},
		{
			name: "reset", fault: Reset(), method: http.MethodGet, path: blobURLPath,
			check: func(t *testing.T, _ *http.Response, err error) {
				if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
					t.Fatalf("got %v, want a reset connection", err)
				}
			},
		},
		{
			name: "reset mid response body", fault: ResetAfter(n), method: http.MethodGet, path: blobURLPath,
			upstream: []string{"GET " + blobURLPath},
			check: func(t *testing.T, resp *http.Response, err error) {
				got, rerr := readBody(t, resp, err)
				if len(got) != n || !errors.Is(rerr, syscall.ECONNRESET) {
					t.Fatalf("read %d bytes then %v, want %d bytes then a reset", len(got), rerr, n)
				}
			},
		},
		{
			name: "reset mid request body", fault: ResetAfter(n), method: http.MethodPatch, path: patchPath, body: make([]byte, 4*blobSize),
			check: func(t *testing.T, _ *http.Response, err error) {
				if err == nil {
					t.Fatal("the upload succeeded through a reset")
				}
			},
		},
		{
			name: "truncate keeps Content-Length", fault: Truncate(n), method: http.MethodGet, path: blobURLPath,
			upstream: []string{"GET " + blobURLPath},
			check: func(t *testing.T, resp *http.Response, err error) {
				got, rerr := readBody(t, resp, err)
				if resp.ContentLength != blobSize || len(got) != n || !errors.Is(rerr, io.ErrUnexpectedEOF) {
					t.Fatalf("Content-Length %d, read %d bytes then %v; want %d, %d bytes then unexpected EOF", resp.ContentLength, len(got), rerr, blobSize, n)
				}
			},
		},
		{
			name: "truncate a short body before its last byte", fault: Truncate(10 * blobSize), method: http.MethodGet, path: blobURLPath,
			upstream: []string{"GET " + blobURLPath},
			check: func(t *testing.T, resp *http.Response, err error) {
				got, rerr := readBody(t, resp, err)
				if len(got) != blobSize-1 || !errors.Is(rerr, io.ErrUnexpectedEOF) {
					t.Fatalf("read %d bytes then %v, want %d then unexpected EOF", len(got), rerr, blobSize-1)
				}
			},
		},
		{
			name: "lost response after the upstream committed", fault: Lost(), method: http.MethodPut, path: tagURLPath, body: []byte("{}"),
			upstream: []string{"PUT " + tagURLPath},
			check: func(t *testing.T, _ *http.Response, err error) {
				if err == nil {
					t.Fatal("the client got a response")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			p := newProxy(t, up)
			in := p.Inject(Rule{Class: Any, Fault: tt.fault, Times: 1})
			resp, err := do(t, t.Context(), p, tt.method, tt.path, tt.body)
			tt.check(t, resp, err)
			if resp != nil {
				resp.Body.Close()
			}
			<-in.Started()
			if got, _ := up.seen(); strings.Join(got, ",") != strings.Join(tt.upstream, ",") {
				t.Errorf("upstream received %q, want %q", got, tt.upstream)
			}
			if in.Applied() != 1 || p.Count(Any) != 1 {
				t.Errorf("applied %d, counted %d; want 1, 1", in.Applied(), p.Count(Any))
			}
			if h := in.Hits(); len(h) != 1 || h[0].Fault != tt.fault.String() || h[0].Path != tt.path {
				t.Errorf("hits %v", h)
			}
			// The rule is spent: the next request goes through.
			resp, err = do(t, t.Context(), p, http.MethodHead, blobURLPath, nil)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("after the fault: %v %v, want 200", resp, err)
			}
			resp.Body.Close()
		})
	}
}

// readBody reads what the body gives until its first error.
func readBody(t *testing.T, resp *http.Response, err error) ([]byte, error) {
	t.Helper()
	if err != nil {
		t.Fatalf("no response headers: %v", err)
	}
	return io.ReadAll(resp.Body)
}

func TestStallHoldsTheBodyUntilTheClientLeaves(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := newProxy(t, up)
	in := p.Inject(Rule{Class: BlobGet, Fault: Stall(100), Times: 1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	resp, err := do(t, ctx, p, http.MethodGet, blobURLPath, nil)
	if err != nil {
		t.Fatalf("no headers through a stall: %v", err)
	}
	defer resp.Body.Close()
	<-in.Started()
	head := make([]byte, 100)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatalf("the bytes before the stall: %v", err)
	}
	// Nothing more comes: a read that waits 300ms gets nothing.
	got := make(chan int, 1)
	go func() {
		n, _ := resp.Body.Read(make([]byte, 1))
		got <- n
	}()
	select {
	case n := <-got:
		t.Fatalf("read %d bytes past the stall", n)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	if n := <-got; n != 0 {
		t.Fatalf("read %d bytes past the stall", n)
	}
}

func TestCloseReleasesStalls(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := newProxy(t, up)
	in := p.Inject(Rule{Class: BlobGet, Fault: Stall(0)})
	resp, err := do(t, t.Context(), p, http.MethodGet, blobURLPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-in.Started()
	p.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("body after Close: %v, want unexpected EOF", err)
	}
}

func TestRuleSchedule(t *testing.T) {
	t.Parallel()
	armBy := UploadPut
	tests := []struct {
		name string
		rule Rule
		// requests are sent in order; faulted says which the rule strikes.
		requests []string // "METHOD path"
		faulted  []bool
	}{
		{
			name:     "skip then times",
			rule:     Rule{Class: BlobGet, Fault: Status(500), Skip: 2, Times: 2},
			requests: []string{"GET " + blobURLPath, "HEAD " + blobURLPath, "GET " + blobURLPath, "GET " + blobURLPath, "GET " + blobURLPath, "GET " + blobURLPath},
			faulted:  []bool{false, false, false, true, true, false},
		},
		{
			name:     "unlimited",
			rule:     Rule{Class: TagPut, Fault: Status(502)},
			requests: []string{"PUT " + tagURLPath, "GET " + blobURLPath, "PUT " + tagURLPath},
			faulted:  []bool{true, false, true},
		},
		{
			name:     "armed by another class",
			rule:     Rule{Class: Any, Fault: Status(503), After: &armBy},
			requests: []string{"GET " + blobURLPath, "PUT " + tagURLPath, "PUT " + patchPath, "GET " + blobURLPath},
			faulted:  []bool{false, false, true, true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProxy(t, newUpstream(t))
			in := p.Inject(tt.rule)
			for i, r := range tt.requests {
				method, path, _ := strings.Cut(r, " ")
				resp, err := do(t, t.Context(), p, method, path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.StatusCode == tt.rule.Fault.status; got != tt.faulted[i] {
					t.Errorf("request %d (%s): status %d, faulted %v, want %v", i, r, resp.StatusCode, got, tt.faulted[i])
				}
			}
			want := 0
			for _, f := range tt.faulted {
				if f {
					want++
				}
			}
			if in.Applied() != want {
				t.Errorf("applied %d, want %d", in.Applied(), want)
			}
		})
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestOutageWindow(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	p := newProxy(t, newUpstream(t), WithClock(clk.Now))
	in := p.Inject(Rule{Class: Any, Fault: Status(503), Skip: 1, For: 30 * time.Second})
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 200},                // skipped
		{time.Minute, 503},      // the window opens
		{29 * time.Second, 503}, // still inside
		{time.Second, 200},      // 30s after the first strike: over
		{0, 200},                // and spent
	}
	for i, s := range steps {
		clk.advance(s.advance)
		resp, err := do(t, t.Context(), p, http.MethodHead, blobURLPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != s.want {
			t.Errorf("step %d: status %d, want %d", i, resp.StatusCode, s.want)
		}
	}
	if in.Applied() != 2 {
		t.Errorf("applied %d, want 2", in.Applied())
	}
	reqs := p.Requests()
	if len(reqs) != len(steps) || reqs[1].Status != 503 || reqs[1].Fault != "503" || reqs[0].Fault != "" {
		t.Errorf("log: %v", reqs)
	}
}

func TestClassMatch(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		method, path string
		want         []Class
	}{
		{"GET", "/v2/a/b/blobs/" + digest, []Class{BlobGet}},
		{"HEAD", "/v2/a/blobs/" + digest, []Class{BlobHead}},
		{"PUT", "/v2/a/manifests/1.2.3", []Class{ManifestPut, TagPut}},
		{"PUT", "/v2/a/manifests/" + digest, []Class{ManifestPut, ChildPut}},
		{"GET", "/v2/a/manifests/latest", []Class{ManifestGet}},
		{"HEAD", "/v2/a/manifests/" + digest, []Class{ManifestHead}},
		{"POST", "/v2/a/blobs/uploads/", []Class{UploadPost}},
		{"PATCH", "/v2/a/blobs/uploads/0f-1", []Class{UploadPatch}},
		{"PUT", "/v2/a/blobs/uploads/0f-1", []Class{UploadPut}},
		{"GET", "/v2/blobs/manifests/tags/list", []Class{TagList}},
		{"GET", "/v2/", nil},
	}
	all := []Class{BlobGet, BlobHead, ManifestGet, ManifestHead, ManifestPut, TagPut, ChildPut, UploadPost, UploadPatch, UploadPut, TagList}
	for _, tt := range tests {
		var got []string
		for _, c := range all {
			if c.match(tt.method, tt.path) {
				got = append(got, c.Name)
			}
		}
		var want []string
		for _, c := range tt.want {
			want = append(want, c.Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s %s: classes %q, want %q", tt.method, tt.path, got, want)
		}
		if !Any.match(tt.method, tt.path) {
			t.Errorf("Any does not match %s %s", tt.method, tt.path)
		}
	}
}

func TestNewRejectsBadUpstream(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "127.0.0.1:5000", "https://127.0.0.1:5000", "http://"} {
		if p, err := New(u); err == nil {
			p.Close()
			t.Errorf("New(%q) accepted", u)
		}
	}
}
