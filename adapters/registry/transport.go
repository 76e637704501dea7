package registry

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// cloneRequests hands a copy of each request to the inner transport, so
// that authentication headers it sets never reach the http.Client's
// original request (which the client copies headers from when following
// a redirect).
type cloneRequests struct{ inner http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (c cloneRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.inner.RoundTrip(req.Clone(req.Context()))
}

// bearerHeader sends a fixed bearer token to one host, and to no other
// host (redirects to blob storage, cross-host upload locations).
type bearerHeader struct {
	host  string
	token string
	inner http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b *bearerHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == b.host {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	return b.inner.RoundTrip(req)
}

// wireTransport is the innermost transport: it sets the User-Agent and
// logs each request that goes on the wire (never its headers).
type wireTransport struct {
	inner http.RoundTripper
	ua    string
	log   *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (w *wireTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", w.ua)
	}
	ctx := req.Context()
	if !w.log.Enabled(ctx, slog.LevelDebug) {
		return w.inner.RoundTrip(req)
	}
	start := time.Now()
	resp, err := w.inner.RoundTrip(req)
	w.logRequest(ctx, req, resp, err, time.Since(start))
	return resp, err
}

func (w *wireTransport) logRequest(ctx context.Context, req *http.Request, resp *http.Response, err error, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("url", redactURL(req.URL)),
		slog.Duration("duration", d),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	w.log.LogAttrs(ctx, slog.LevelDebug, "registry request", attrs...)
}
