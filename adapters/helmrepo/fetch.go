package helmrepo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// request is one bounded GET.
type request struct {
	client *http.Client
	url    *url.URL
	// limit is the largest body accepted, in bytes.
	limit int64
}

// get performs a GET and returns the whole body (see open).
func (s *Source) get(ctx context.Context, r request) ([]byte, error) {
	body, err := s.open(ctx, r)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", core.RedactedURL(r.url), err)
	}
	return data, nil
}

// open performs a GET and returns the body, which fails with an error
// wrapping core.ErrTooLarge as soon as it goes over the limit: the limit
// holds while reading, whatever the Content-Length says. A status other
// than 2xx is a *core.HTTPError. Errors name the URL without userinfo or
// query values and never carry credentials; those no retry can fix (a
// malformed URL, a TLS certificate error, a redirect loop) are permanent.
func (s *Source) open(ctx context.Context, r request) (*limitedBody, error) {
	shown := core.RedactedURL(r.url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url.String(), nil)
	if err != nil {
		return nil, retry.Permanent(fmt.Errorf("GET %s: %w", shown, err))
	}
	if s.userAgent != "" {
		req.Header.Set("User-Agent", s.userAgent)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, query included; report the cause
		// with the redacted URL instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		err = fmt.Errorf("GET %s: %w", shown, err)
		if permanentTransportError(err) {
			err = retry.Permanent(err)
		}
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		resp.Body.Close()
		return nil, &core.HTTPError{
			Method:     http.MethodGet,
			URL:        shown,
			StatusCode: resp.StatusCode,
			RetryAfter: retryAfter(resp),
		}
	}
	if resp.ContentLength > r.limit {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %w: %d bytes announced, the limit is %d", shown, core.ErrTooLarge, resp.ContentLength, r.limit)
	}
	return &limitedBody{body: resp.Body, limit: r.limit}, nil
}

// limitedBody reads a response body up to a limit. Past the limit, and on
// any read failure, it fails and keeps the error in err, so a caller that
// parses the stream tells a failed transfer from content it rejects.
type limitedBody struct {
	body  io.ReadCloser
	limit int64
	n     int64
	err   error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if rest := b.limit + 1 - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		b.err = fmt.Errorf("%w: more than the limit of %d bytes", core.ErrTooLarge, b.limit)
		return 0, b.err
	}
	if err != nil && err != io.EOF {
		b.err = fmt.Errorf("read body: %w", err)
		return n, b.err
	}
	return n, err
}

// Close closes the body.
func (b *limitedBody) Close() error { return b.body.Close() }

// permanentTransportError reports failures that the same request meets
// again: TLS certificate errors, a server that does not speak TLS, a
// redirect loop.
func permanentTransportError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
		rerr tls.RecordHeaderError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) ||
		errors.As(err, &rerr) || errors.Is(err, errRedirectLoop)
}

// retryAfter reads the Retry-After header of a 429 or 503 response, as
// seconds or an HTTP date; zero if absent or unparsable.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
