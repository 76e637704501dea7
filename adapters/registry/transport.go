package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/fluxcd/flux-mirror/core/retry"
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

// locationGuard fails a redirect whose Location header does not parse, as
// a permanent error: the http.Client would report it as an untyped error
// that reads like a transient failure.
type locationGuard struct{ inner http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (g locationGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.inner.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return resp, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return resp, nil
	}
	if _, perr := req.URL.Parse(loc); perr != nil {
		resp.Body.Close()
		// The parse error without the value, which may carry a signature.
		var ue *url.Error
		if errors.As(perr, &ue) {
			perr = ue.Err
		}
		return nil, retry.Permanent(fmt.Errorf("redirected to a malformed Location header: %w", perr))
	}
	return resp, nil
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
	stats *wireStats // nil: not counted
}

// RoundTrip implements http.RoundTripper.
func (w *wireTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", w.ua)
	}
	ctx := req.Context()
	start := time.Now()
	resp, err := w.inner.RoundTrip(req)
	if w.stats != nil {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		w.stats.record(req.URL.Host, status)
	}
	if w.log.Enabled(ctx, slog.LevelDebug) {
		w.logRequest(ctx, req, resp, err, time.Since(start))
	}
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
