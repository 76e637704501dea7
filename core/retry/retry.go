package retry

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

// Defaults used by Default and for zero fields of a Policy.
const (
	DefaultRetries = 4
	DefaultBase    = 500 * time.Millisecond
	DefaultMax     = 30 * time.Second
)

// Policy configures Do. The zero Policy makes a single attempt; zero Base
// and Max mean DefaultBase and DefaultMax, and nil functions mean the real
// clock, math/rand/v2 and a timer.
type Policy struct {
	// Retries is how many times a failed attempt is retried; the operation
	// runs at most Retries+1 times. Negative counts as 0.
	Retries int
	// Base is the backoff cap of the first retry; it doubles per retry.
	Base time.Duration
	// Max caps the backoff, and the Retry-After delay that Do accepts from a
	// server unless MaxRetryAfter is set: a longer Retry-After stops the
	// retries.
	Max time.Duration
	// MaxRetryAfter, if set, is the longest Retry-After Do accepts instead
	// of Max, so a server may ask for a longer pause than the backoff cap.
	MaxRetryAfter time.Duration
	// Window, if set, bounds the retries in time as Retries bounds them in
	// number: no attempt starts later than Window after the first attempt
	// failed. Whichever bound is reached first stops the retries.
	Window time.Duration
	// JitterFloor is the part of each backoff that is always waited, from 0
	// (full jitter: a wait in [0, b)) to 1 (no jitter): the wait is in
	// [JitterFloor·b, b). Values outside [0, 1] are clamped.
	JitterFloor float64
	// Rand returns a uniformly random number in [0, 1) for the jitter.
	Rand func() float64
	// Sleep waits for d or until ctx is done, returning ctx's error then.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the current time, compared to the context deadline.
	Now func() time.Time
	// OnRetry, if set, is called before each wait with the number of the
	// attempt that failed (from 1), the wait and the error, e.g. to log it.
	OnRetry func(attempt int, wait time.Duration, err error)
}

// Default returns the recommended policy for registry and Helm repository
// requests: DefaultRetries retries between DefaultBase and DefaultMax.
func Default() Policy {
	return Policy{Retries: DefaultRetries, Base: DefaultBase, Max: DefaultMax}
}

// Do calls op until it succeeds, returns an error that is not Retryable, or
// the retries are exhausted. It passes ctx to op and returns nil on success.
//
// After a single attempt Do returns op's error unchanged. After more, the
// error is an *AttemptsError that reads "after N attempts: <last error>"
// and wraps the last error, so errors.Is and errors.As see through it. Do
// stops early, returning the last error the same way, when ctx is done or
// the next wait would end past ctx's deadline; if ctx is done before the
// first attempt, Do returns ctx.Err() without calling op.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p = p.withDefaults()
	var first time.Time
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if attempt == 1 {
			first = p.Now()
		}
		if !Retryable(err) || ctx.Err() != nil {
			return attempts(attempt, err, false)
		}
		if attempt > p.Retries {
			return attempts(attempt, err, true)
		}
		wait, ok := p.wait(attempt, err)
		if !ok {
			return fmt.Errorf("after %s: %w (the server asked to retry after %s, beyond the %s cap)", count(attempt), err, retryAfter(err), p.maxRetryAfter())
		}
		next := p.Now().Add(wait)
		if p.Window > 0 && next.Sub(first) > p.Window {
			return attempts(attempt, err, true)
		}
		if deadline, has := ctx.Deadline(); has && !next.Before(deadline) {
			return attempts(attempt, err, false)
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, wait, err)
		}
		if serr := p.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("after %s: %w (retry stopped: %w)", count(attempt), err, serr)
		}
	}
}

// AttemptsError is the error of Do after more than one attempt.
type AttemptsError struct {
	// Attempts is how many times the operation ran.
	Attempts int
	// Err is the error of the last attempt.
	Err error
	// Exhausted is true when the retries ran out (Policy.Retries or
	// Policy.Window) while Err was still retryable; false when Err was
	// final, or the context ended or its deadline was too near for another
	// wait.
	Exhausted bool
}

// Error reads "after N attempts: <last error>".
func (e *AttemptsError) Error() string { return "after " + count(e.Attempts) + ": " + e.Err.Error() }

// Unwrap returns the last attempt's error.
func (e *AttemptsError) Unwrap() error { return e.Err }

func count(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// attempts returns err after one attempt, else an *AttemptsError.
func attempts(n int, err error, exhausted bool) error {
	if n == 1 {
		return err
	}
	return &AttemptsError{Attempts: n, Err: err, Exhausted: exhausted}
}

func (p Policy) withDefaults() Policy {
	if p.JitterFloor != p.JitterFloor { // NaN
		p.JitterFloor = 0
	}
	if p.Retries < 0 {
		p.Retries = 0
	}
	if p.Base <= 0 {
		p.Base = DefaultBase
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

func (p Policy) maxRetryAfter() time.Duration {
	if p.MaxRetryAfter > 0 {
		return p.MaxRetryAfter
	}
	return p.Max
}

// wait returns the delay after the given failed attempt: the server's
// Retry-After if it sent one (false if that exceeds the cap), else the
// exponential backoff with jitter above JitterFloor.
func (p Policy) wait(attempt int, err error) (time.Duration, bool) {
	if ra := retryAfter(err); ra > 0 {
		return ra, ra <= p.maxRetryAfter()
	}
	b := Backoff(p.Base, p.Max, attempt-1)
	floor := min(max(p.JitterFloor, 0), 1)
	if floor == 0 {
		return jitter(b, p.Rand()), true
	}
	f := time.Duration(float64(b) * floor)
	return f + jitter(b-f, p.Rand()), true
}

// Backoff returns the backoff cap before retry n+1 (n from 0):
// min(max, base·2^n), without overflowing.
func Backoff(base, max time.Duration, n int) time.Duration {
	if base <= 0 || max <= 0 {
		return 0
	}
	if base >= max {
		return max
	}
	d := base
	for range n {
		if d > max/2 {
			return max
		}
		d *= 2
	}
	return d
}

// jitter scales d by r, a number in [0, 1); r outside that range is
// clamped.
func jitter(d time.Duration, r float64) time.Duration {
	if !(r > 0) { // also NaN
		return 0
	}
	if r >= 1 {
		return d
	}
	return time.Duration(float64(d) * r)
}

func retryAfter(err error) time.Duration {
	var he *core.HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// permanent marks an error as not retryable.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks err as not retryable, for operations that know a failure
// is final; the result unwraps to err and reads the same. Permanent(nil) is
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// Retryable reports whether another attempt may succeed after err: the
// one place where failures are classified as transient or permanent.
//
// It is false for nil, context cancellation and deadline errors, errors
// marked with Permanent, a core.HTTPError that is not Temporary (4xx other
// than 408 and 429), the sentinels core.ErrDigestMismatch, ErrTooLarge,
// ErrUnsupported, ErrNotFound, ErrUnauthorized, ErrDenied,
// ErrProviderNotCompiled, ErrRedirectLoop and ErrPaginationLoop, an HTTP
// client that stopped following redirects, a host name that does not
// exist (a *net.DNSError that IsNotFound), a URL that does not parse, a
// missing or unreadable local file (fs.ErrNotExist, fs.ErrPermission),
// content that is not gzip (gzip.ErrHeader), and TLS certificate
// verification failures. Every other error, such as a refused or reset
// connection, a timeout, a DNS server failure, a truncated stream or a
// 5xx, is retryable.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *permanent
	if errors.As(err, &pe) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// An HTTP status decides before the sentinels it unwraps to.
	var he *core.HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	for _, final := range finalErrors {
		if errors.Is(err, final) {
			return false
		}
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return false
	}
	if malformedURL(err) || redirectLoop(err) {
		return false
	}
	return !CertificateError(err)
}

// CertificateError reports whether err is a TLS certificate verification
// failure (unknown authority, wrong host name, expired or invalid
// certificate), which no retry fixes.
func CertificateError(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr)
}

// malformedURL reports a URL that failed to parse, as opposed to a request
// to a well-formed URL that failed (both are *url.Error).
func malformedURL(err error) bool {
	var (
		ue *url.Error
		ee url.EscapeError
		he url.InvalidHostError
	)
	return errors.As(err, &ue) && ue.Op == "parse" || errors.As(err, &ee) || errors.As(err, &he)
}

// redirectLoop recognises net/http's own error for a redirect chain it gave
// up on ("stopped after 10 redirects"), for adapters that did not mark it
// with core.ErrRedirectLoop.
func redirectLoop(err error) bool {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.Err == nil {
		return false
	}
	msg := ue.Err.Error()
	return strings.HasPrefix(msg, "stopped after ") && strings.HasSuffix(msg, " redirects")
}

var finalErrors = []error{
	core.ErrDigestMismatch, core.ErrTooLarge, core.ErrUnsupported,
	core.ErrNotFound, core.ErrUnauthorized, core.ErrDenied, core.ErrProviderNotCompiled,
	core.ErrRedirectLoop, core.ErrPaginationLoop,
	fs.ErrNotExist, fs.ErrPermission, gzip.ErrHeader,
}
