package registrytest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Request is one request a Recorder saw.
type Request struct {
	Method string
	// Path is the URL path, e.g. "/v2/app/manifests/1.0".
	Path string
	// RawQuery is the URL's query without the "?".
	RawQuery string
	// Header is a copy of the request headers.
	Header http.Header
	// ContentLength is the declared body length (-1 if unknown).
	ContentLength int64
	// Status is the status code the handler answered.
	Status int
}

// String returns "METHOD /path?query -> status".
func (r Request) String() string {
	s := r.Method + " " + r.Path
	if r.RawQuery != "" {
		s += "?" + r.RawQuery
	}
	return fmt.Sprintf("%s -> %d", s, r.Status)
}

// Recorder is a middleware that records every request, to count requests
// per method and route in tests. A request is recorded when it arrives, so
// it is counted even before its response completes; its Status is filled
// in when the handler returns (0 until then). It is safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	reqs []*Request
}

// NewRecorder returns an empty Recorder; pass r.Middleware to WithMiddleware.
func NewRecorder() *Recorder { return &Recorder{} }

// Middleware records each request, then passes it on.
func (r *Recorder) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &Request{
			Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
			Header: req.Header.Clone(), ContentLength: req.ContentLength,
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, rec)
		r.mu.Unlock()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, onStatus: func(code int) {
			r.mu.Lock()
			rec.Status = code
			r.mu.Unlock()
		}}
		next.ServeHTTP(sw, req)
		sw.commit()
	})
}

// Requests returns the recorded requests in the order they arrived.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Request, len(r.reqs))
	for i, q := range r.reqs {
		out[i] = *q
	}
	return out
}

// Count returns how many recorded requests have the method ("" for any)
// and a path containing pathContains ("" for any).
func (r *Recorder) Count(method, pathContains string) int {
	n := 0
	for _, q := range r.Requests() {
		if (method == "" || q.Method == method) && strings.Contains(q.Path, pathContains) {
			n++
		}
	}
	return n
}

// Summary returns one line per recorded request, for failure messages.
func (r *Recorder) Summary() string {
	var b strings.Builder
	for _, q := range r.Requests() {
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Reset forgets the recorded requests.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status   int
	wrote    bool
	onStatus func(int)
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.commit()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

// commit reports the status once, before the response goes out.
func (w *statusWriter) commit() {
	if !w.wrote {
		w.wrote = true
		w.onStatus(w.status)
	}
}

// Flush lets streaming handlers flush through the recorder.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Fault returns a middleware that answers the first n requests matching
// match (all requests if match is nil; n < 0 means every one) with status,
// the given headers and a registry JSON error body, without passing them
// on. Use it to test 429/503 with Retry-After, or 5xx handling.
func Fault(n int, status int, header http.Header, match func(*http.Request) bool) func(http.Handler) http.Handler {
	var mu sync.Mutex
	left := n
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if match == nil || match(req) {
				mu.Lock()
				hit := left != 0
				if left > 0 {
					left--
				}
				mu.Unlock()
				if hit {
					for k, vs := range header {
						for _, v := range vs {
							w.Header().Add(k, v)
						}
					}
					code := "UNKNOWN"
					switch status {
					case http.StatusTooManyRequests:
						code = "TOOMANYREQUESTS"
					case http.StatusUnauthorized:
						code = "UNAUTHORIZED"
					case http.StatusForbidden:
						code = "DENIED"
					case http.StatusNotFound:
						code = "NAME_UNKNOWN"
					}
					writeRegistryError(w, status, code, http.StatusText(status))
					return
				}
			}
			next.ServeHTTP(w, req)
		})
	}
}
