package retry

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

// nxdomainResolver returns a resolver whose DNS server, on loopback,
// answers every query with "no such name" (NXDOMAIN), so that the stdlib
// produces its real *net.DNSError without any network beyond 127.0.0.1.
func nxdomainResolver(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := bytes.Clone(buf[:n])
			resp[2] = 0x81 | resp[2]&0x78 // QR, the query's opcode, RD
			resp[3] = 0x83                // RA, RCODE 3 (NXDOMAIN)
			clear(resp[6:12])             // no answers, authorities or additionals
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// realErrors produces the errors the stdlib returns for the failures the
// classifier has to tell apart, on loopback only.
func realErrors(t *testing.T) map[string]error {
	t.Helper()
	ctx := context.Background()
	out := map[string]error{}

	d := net.Dialer{Resolver: nxdomainResolver(t), Timeout: 5 * time.Second}
	_, out["dns no such host"] = d.DialContext(ctx, "tcp", "flux-mirror-test.invalid:443")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	_, out["connection refused"] = (&net.Dialer{}).DialContext(ctx, "tcp", closed)

	_, out["url parse"] = http.NewRequest(http.MethodGet, "https://[::1/v2/", nil)
	_, out["url invalid host"] = url.Parse("https://r\x00.example/v2/")

	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	_, out["redirect loop"] = loop.Client().Get(loop.URL + "/chart.tgz")

	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the client's rejection is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	_, out["unknown certificate authority"] = (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}).Get(tlsSrv.URL)

	_, out["not gzip"] = gzip.NewReader(bytes.NewReader([]byte("apiVersion: v2\nname: chart\n")))
	_, out["missing token file"] = os.ReadFile(filepath.Join(t.TempDir(), "token"))

	trunc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("short"))
	}))
	t.Cleanup(trunc.Close)
	resp, err := trunc.Client().Get(trunc.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, out["truncated body"] = io.ReadAll(resp.Body)
	resp.Body.Close()

	for name, err := range out {
		if err == nil {
			t.Fatalf("%s: the stdlib returned no error", name)
		}
	}
	return out
}

func TestRetryableRealErrors(t *testing.T) {
	t.Parallel()
	errs := realErrors(t)
	tests := []struct {
		name string
		want bool
	}{
		{"dns no such host", false},
		{"connection refused", true},
		{"url parse", false},
		{"url invalid host", false},
		{"redirect loop", false},
		{"unknown certificate authority", false},
		{"not gzip", false},
		{"missing token file", false},
		{"truncated body", true},
	}
	for _, tt := range tests {
		err := errs[tt.name]
		if got := Retryable(err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, err, got, tt.want)
		}
		// Adapters wrap with context; the classification must see through.
		wrapped := fmt.Errorf("GET https://r.example/v2/: %w", err)
		if got := Retryable(wrapped); got != tt.want {
			t.Errorf("%s wrapped: Retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRetryableClassifiesOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dns not found value", &net.DNSError{Err: "no such host", Name: "r.invalid", IsNotFound: true}, false},
		{"dns server failure", &net.DNSError{Err: "server misbehaving", Name: "r.example", IsTemporary: true}, true},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "r.example", IsTimeout: true}, true},
		{"request to a parsed URL failed", &url.Error{Op: "Get", URL: "https://r.example/v2/", Err: io.ErrUnexpectedEOF}, true},
		{"redirect loop sentinel", fmt.Errorf("get https://r.example/x: %w", core.ErrRedirectLoop), false},
		{"pagination loop sentinel", fmt.Errorf("list tags of r.example/a: %w: the links loop at /v2/a/tags/list?last=b", core.ErrPaginationLoop), false},
		{"gzip checksum (a corrupted transfer)", gzip.ErrChecksum, true},
		{"permission", fmt.Errorf("read token: %w", os.ErrPermission), false},
		{"joined with a final error", errors.Join(errors.New("reset"), core.ErrDigestMismatch), false},
		{"after attempts keeps the class", &AttemptsError{Attempts: 3, Err: httpErr(503, 0), Exhausted: true}, true},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
