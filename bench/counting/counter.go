package counting

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxLog bounds how many request lines a Counter keeps for diagnostics.
const maxLog = 5000

// Counter is an HTTP middleware for one registry: it counts requests by
// Kind, counts the body bytes that go in (requests) and out (responses),
// keeps a bounded log of "METHOD path -> status" lines, and can delay every
// request to simulate a network round trip. It is safe for concurrent use.
type Counter struct {
	latency atomic.Int64 // nanoseconds

	mu       sync.Mutex
	requests map[Kind]int
	bytesIn  int64
	bytesOut int64
	log      []string
	inFlight int
	peak     int
	// throttle answers 429 to requests above a rate (SetThrottle).
	throttle  *bucket
	throttled int
}

// bucket is a token bucket: rate tokens per second, at most burst saved.
type bucket struct {
	rate       float64
	burst      float64
	tokens     float64
	last       time.Time
	retryAfter time.Duration
}

// take reports whether a request may pass at now.
func (b *bucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// SetThrottle makes the registry answer 429 Too Many Requests, with a
// Retry-After of retryAfter (rounded up to whole seconds, as the header
// carries them), to every request above rate per second (bursts of up to
// burst pass). A rate of 0 turns throttling off. Throttled requests are
// counted in Counts.Throttled, not by kind.
func (c *Counter) SetThrottle(rate float64, burst int, retryAfter time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rate <= 0 {
		c.throttle = nil
		return
	}
	c.throttle = &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), retryAfter: retryAfter}
}

// New returns a Counter with no latency.
func New() *Counter { return &Counter{requests: map[Kind]int{}} }

// SetLatency delays each request by d before it is handled (0 for none).
// It applies to requests that arrive after the call.
func (c *Counter) SetLatency(d time.Duration) { c.latency.Store(int64(max(d, 0))) }

// Reset forgets everything counted so far.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = map[Kind]int{}
	c.bytesIn, c.bytesOut = 0, 0
	c.log = nil
	c.peak, c.throttled = c.inFlight, 0
}

// Middleware wraps a registry handler. A request is counted when its
// handler returns, with the bytes its handler read and wrote.
func (c *Counter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(c.latency.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		c.mu.Lock()
		if c.throttle != nil && !c.throttle.take(time.Now()) {
			c.throttled++
			ra := c.throttle.retryAfter
			c.mu.Unlock()
			secs := int((ra + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", fmt.Sprint(secs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limit exceeded"}]}`)
			return
		}
		c.inFlight++
		c.peak = max(c.peak, c.inFlight)
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.inFlight--
			c.mu.Unlock()
		}()
		kind := Classify(r.Method, r.URL.Path, r.URL.RawQuery)
		body := &countingBody{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(cw, r)

		c.mu.Lock()
		defer c.mu.Unlock()
		c.requests[kind]++
		c.bytesIn += body.n.Load()
		c.bytesOut += cw.n
		if len(c.log) < maxLog {
			c.log = append(c.log, fmt.Sprintf("%s %s -> %d", r.Method, r.URL.Path, cw.status))
		}
	})
}

// Snapshot returns the counts so far.
func (c *Counter) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	req := make(map[Kind]int, len(c.requests))
	for k, v := range c.requests {
		req[k] = v
	}
	return Counts{Requests: req, BytesIn: c.bytesIn, BytesOut: c.bytesOut, Log: append([]string(nil), c.log...),
		PeakInFlight: c.peak, Throttled: c.throttled}
}

// Counts is what a Counter saw.
type Counts struct {
	// Requests counts requests by route kind.
	Requests map[Kind]int
	// BytesIn is the request body bytes the registry read (uploads).
	BytesIn int64
	// BytesOut is the response body bytes the registry wrote (downloads).
	BytesOut int64
	// Log is "METHOD path -> status" per request, in completion order,
	// capped at the first 5000.
	Log []string
	// PeakInFlight is the most requests the registry handled at once
	// (after the added latency): the concurrency the tool reached on it.
	PeakInFlight int
	// Throttled counts the 429 answers of SetThrottle.
	Throttled int
}

// Total returns the number of requests of every kind.
func (c Counts) Total() int {
	n := 0
	for _, v := range c.Requests {
		n += v
	}
	return n
}

// String lists the non-zero kinds in Kinds order, e.g.
// "ping 1, tags 1, manifest-HEAD 30".
func (c Counts) String() string {
	var parts []string
	for _, k := range Kinds {
		if v := c.Requests[k]; v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countingWriter counts the response body bytes and remembers the status.
// Only the handler's goroutine writes to it.
type countingWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the counter.
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
