package helmrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

// request is one bounded GET.
type request struct {
	client *http.Client
	url    *url.URL
	// limit is the largest body accepted, in bytes.
	limit int64
}

// get performs a GET and returns the whole body. A status other than 2xx is
// a *core.HTTPError; a body over the limit wraps core.ErrTooLarge. Errors
// name the URL without userinfo or query values and never carry
// credentials.
func (s *Source) get(ctx context.Context, r request) ([]byte, error) {
	shown := redact(r.url)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", shown, err)
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
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		return nil, &core.HTTPError{
			Method:     http.MethodGet,
			URL:        shown,
			StatusCode: resp.StatusCode,
			RetryAfter: retryAfter(resp),
		}
	}
	if resp.ContentLength > r.limit {
		return nil, fmt.Errorf("GET %s: %w: %d bytes announced, the limit is %d", shown, core.ErrTooLarge, resp.ContentLength, r.limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", shown, err)
	}
	if int64(len(body)) > r.limit {
		return nil, fmt.Errorf("GET %s: %w: more than the limit of %d bytes", shown, core.ErrTooLarge, r.limit)
	}
	return body, nil
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
