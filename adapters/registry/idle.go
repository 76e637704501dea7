package registry

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultIdleTimeout is the idle timeout when Options.IdleTimeout is zero.
// Sixty seconds is the idle timeout of the proxies registries commonly sit
// behind (nginx's proxy_read_timeout, AWS load balancers), so a healthy
// exchange through them never stays silent that long; and it leaves a
// registry that verifies and moves a large blob before answering the final
// upload PUT time to do so.
const DefaultIdleTimeout = 60 * time.Second

// IdleError reports a request during which no byte moved for the idle
// timeout: the host sent nothing (no response headers, or a body that
// stalled), or it stopped reading an upload. It is a timeout
// (net.Error): another attempt, on a fresh connection, may succeed.
type IdleError struct {
	// Host is the host:port the request went to (blob storage after a
	// redirect, not necessarily the registry).
	Host string
	// Idle is the idle timeout that elapsed.
	Idle time.Duration
	// Writing reports that the request body was still being sent: the
	// host stopped reading it.
	Writing bool
}

var _ net.Error = (*IdleError)(nil)

// Error says which host went quiet for how long.
func (e *IdleError) Error() string {
	if e.Writing {
		return fmt.Sprintf("no progress writing to %s for %s", e.Host, e.Idle)
	}
	return fmt.Sprintf("no data from %s for %s", e.Host, e.Idle)
}

// Timeout reports true: the error is a timeout.
func (e *IdleError) Timeout() bool { return true }

// Temporary reports true: a new connection may succeed.
func (e *IdleError) Temporary() bool { return true }

// idleTransport fails a request when no byte moves for the timeout: while
// the request body is sent (the server stops reading), while waiting for
// the response headers, and while the response body is read. Every read
// and write resets the timer, so a slow transfer that keeps moving is never
// cut; the timer runs only while the request is active, so pooled
// keep-alive connections are left alone. Time spent waiting for the
// request body's own reader (a source stream) does not count: that
// reader's own watchdog judges its host.
type idleTransport struct {
	timeout time.Duration
	inner   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{idle: t.timeout, host: req.URL.Host, cancel: cancel, origin: time.Now()}
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		w.writing.Store(true)
		req.Body = &uploadBody{rc: req.Body, w: w}
	}
	w.start()
	resp, err := t.inner.RoundTrip(req)
	if err != nil {
		w.stop()
		cancel(nil)
		if ierr := w.fired(); ierr != nil {
			return nil, ierr
		}
		return nil, err
	}
	w.writing.Store(false)
	w.progress()
	if resp.Body == nil || resp.Body == http.NoBody {
		w.stop()
		cancel(nil)
		return resp, nil
	}
	resp.Body = &downloadBody{rc: resp.Body, w: w, cancel: cancel}
	return resp, nil
}

// watchdog cancels a request's context with an *IdleError when no
// progress was recorded for idle. Progress costs one atomic store; the
// timer re-arms itself for the remaining time when it fires early.
type watchdog struct {
	idle   time.Duration
	host   string
	cancel context.CancelCauseFunc
	origin time.Time

	last    atomic.Int64 // time of the last progress, since origin
	busy    atomic.Int32 // request-body reads in progress
	writing atomic.Bool  // the request body is not fully read yet
	err     atomic.Pointer[IdleError]

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

func (w *watchdog) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(w.idle, w.check)
}

// progress records that bytes moved now.
func (w *watchdog) progress() { w.last.Store(int64(time.Since(w.origin))) }

// check runs when the timer fires: it cancels the request if nothing moved
// for idle, else re-arms the timer for the rest of the period.
func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	if w.busy.Load() > 0 {
		// Waiting for the body's reader, not for the host.
		w.timer.Reset(w.idle)
		return
	}
	quiet := time.Since(w.origin) - time.Duration(w.last.Load())
	if quiet < w.idle {
		w.timer.Reset(w.idle - quiet)
		return
	}
	w.done = true
	e := &IdleError{Host: w.host, Idle: w.idle, Writing: w.writing.Load()}
	w.err.Store(e)
	w.cancel(e)
}

// stop ends the watch: the exchange is complete or failed.
func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done = true
		w.timer.Stop()
	}
}

// fired returns the *IdleError that cancelled the request, or nil.
func (w *watchdog) fired() error {
	if e := w.err.Load(); e != nil {
		return e
	}
	return nil
}

// uploadBody is a request body whose reads, by the transport, show that
// the connection accepted the previous bytes.
type uploadBody struct {
	rc io.ReadCloser
	w  *watchdog
}

func (b *uploadBody) Read(p []byte) (int, error) {
	b.w.busy.Add(1)
	n, err := b.rc.Read(p)
	b.w.progress()
	b.w.busy.Add(-1)
	if err == io.EOF {
		b.w.writing.Store(false)
	}
	return n, err
}

func (b *uploadBody) Close() error { return b.rc.Close() }

// downloadBody is a response body that records progress and reports a
// stall as the *IdleError rather than as the cancellation it caused.
type downloadBody struct {
	rc     io.ReadCloser
	w      *watchdog
	cancel context.CancelCauseFunc
}

func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.progress()
	}
	switch {
	case err == nil:
	case err == io.EOF:
		b.w.stop()
	default:
		if ierr := b.w.fired(); ierr != nil {
			return n, ierr
		}
	}
	return n, err
}

func (b *downloadBody) Close() error {
	b.w.stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
