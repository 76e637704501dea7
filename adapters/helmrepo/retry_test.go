package helmrepo_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/helmrepo"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// TestPermanentFailuresAreNotRetried runs DownloadChart under retry.Do, as
// the engine does, and counts what reaches the server: a failure that no
// retry can fix is tried once; temporary ones are retried.
func TestPermanentFailuresAreNotRetried(t *testing.T) {
	t.Parallel()
	const retries = 3
	tests := []struct {
		name      string
		chart     http.HandlerFunc // serves /demo-1.0.0.tgz
		url       string           // the chart URL in the index, if not demo-1.0.0.tgz
		tls       bool             // the client does not trust the server's certificate
		wantCount int              // requests for the chart (TLS handshakes with tls)
		permanent bool
	}{
		{name: "not gzip", chart: body("<html>not a chart</html>"), wantCount: 1, permanent: true},
		{name: "400", chart: status(http.StatusBadRequest), wantCount: 1, permanent: true},
		{name: "403", chart: status(http.StatusForbidden), wantCount: 1, permanent: true},
		{name: "404", chart: status(http.StatusNotFound), wantCount: 1, permanent: true},
		{name: "410", chart: status(http.StatusGone), wantCount: 1, permanent: true},
		{name: "redirect loop", chart: redirect("/demo-1.0.0.tgz"), wantCount: 10, permanent: true}, // one attempt: the first request and 9 redirects, the 10th is refused
		{name: "malformed URL", url: "http://[::1/demo.tgz", wantCount: 0, permanent: true},
		{name: "non-http URL", url: "ftp://example.com/demo.tgz", wantCount: 0, permanent: true},
		{name: "unknown certificate authority", chart: body("x"), tls: true, wantCount: 1, permanent: true},
		{name: "503 is retried", chart: status(http.StatusServiceUnavailable), wantCount: retries + 1},
		{name: "429 is retried", chart: status(http.StatusTooManyRequests), wantCount: retries + 1},
		{name: "408 is retried", chart: status(http.StatusRequestTimeout), wantCount: retries + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			count := 0
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/demo-1.0.0.tgz" && !tt.tls {
					mu.Lock()
					count++
					mu.Unlock()
				}
				tt.chart(w, r)
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS handshake failures
			if tt.tls {
				srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
					mu.Lock()
					count++
					mu.Unlock()
					return nil, nil
				}}
				srv.StartTLS()
			} else {
				srv.Start()
			}
			t.Cleanup(srv.Close)
			chartURL := tt.url
			if chartURL == "" {
				chartURL = "demo-1.0.0.tgz"
			}
			src := newSource(t, helmrepo.Options{})
			v := mirror.ChartVersion{Name: "demo", Version: "1.0.0", URLs: []string{chartURL}}
			err := retry.Do(context.Background(), retry.Policy{Retries: retries, Base: time.Millisecond, Max: time.Millisecond}, func(ctx context.Context) error {
				_, err := src.DownloadChart(ctx, srv.URL, v)
				return err
			})
			if err == nil {
				t.Fatal("DownloadChart succeeded")
			}
			mu.Lock()
			got := count
			mu.Unlock()
			if got != tt.wantCount {
				t.Errorf("the server saw %d requests, want %d (error: %v)", got, tt.wantCount, err)
			}
			if retry.Retryable(err) == tt.permanent {
				t.Errorf("Retryable = %v, want %v: %v", retry.Retryable(err), !tt.permanent, err)
			}
			checkWrappedOnce(t, fmt.Errorf("download chart demo 1.0.0: %w", err))
		})
	}
}

func body(s string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, s) }
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }
}
