package core

import (
	"fmt"
	"net/http"
	"time"
)

// HTTPError is a failed HTTP exchange with a registry, Helm repository or
// identity endpoint, as adapters report it. It unwraps to ErrNotFound (404),
// ErrUnauthorized (401) or ErrDenied (403), so callers classify it with
// errors.Is. Its message never contains credentials.
type HTTPError struct {
	// Method and URL identify the request (the URL without userinfo or query secrets).
	Method, URL string
	// StatusCode is the HTTP status received.
	StatusCode int
	// Code and Message are the registry's error code and text, if it sent any
	// (e.g. "MANIFEST_UNKNOWN").
	Code, Message string
	// RetryAfter is the server's Retry-After delay on 429 or 503; zero if none.
	RetryAfter time.Duration
}

// Error describes the exchange, e.g. "GET https://r/v2/a/tags/list: 404 Not Found: NAME_UNKNOWN: repository name not known".
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap maps the status code to a sentinel error.
func (e *HTTPError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrDenied
	}
	return nil
}

// Temporary reports whether retrying the request may succeed: 408, 429 and
// 5xx statuses are temporary, every other 4xx is not.
func (e *HTTPError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}
