package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
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
	// server: a longer Retry-After stops the retries.
	Max time.Duration
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
// error reads "after N attempts: <last error>" and wraps the last error, so
// errors.Is and errors.As see through it. Do stops early, returning the last
// error the same way, when ctx is done or the next wait would end past ctx's
// deadline; if ctx is done before the first attempt, Do returns ctx.Err()
// without calling op.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p = p.withDefaults()
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		if attempt > p.Retries || !Retryable(err) || ctx.Err() != nil {
			return attempts(attempt, err)
		}
		wait, ok := p.wait(attempt, err)
		if !ok {
			return fmt.Errorf("after %s: %w (the server asked to retry after %s, beyond the %s cap)", count(attempt), err, retryAfter(err), p.Max)
		}
		if deadline, has := ctx.Deadline(); has && !p.Now().Add(wait).Before(deadline) {
			return attempts(attempt, err)
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, wait, err)
		}
		if serr := p.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("after %s: %w (retry stopped: %w)", count(attempt), err, serr)
		}
	}
}

func count(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

func attempts(n int, err error) error {
	if n == 1 {
		return err
	}
	return fmt.Errorf("after %d attempts: %w", n, err)
}

func (p Policy) withDefaults() Policy {
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

// wait returns the delay after the given failed attempt: the server's
// Retry-After if it sent one (false if that exceeds Max), else full jitter
// over the exponential backoff.
func (p Policy) wait(attempt int, err error) (time.Duration, bool) {
	if ra := retryAfter(err); ra > 0 {
		return ra, ra <= p.Max
	}
	return jitter(Backoff(p.Base, p.Max, attempt-1), p.Rand()), true
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

// Retryable reports whether another attempt may succeed after err. It is
// false for nil, context cancellation and deadline errors, errors marked
// with Permanent, a core.HTTPError that is not Temporary (4xx other than 408
// and 429), core.ErrDigestMismatch, ErrTooLarge, ErrUnsupported,
// ErrNotFound, ErrUnauthorized, ErrDenied and ErrProviderNotCompiled, and
// TLS certificate verification failures. Every other error, such as a
// refused or reset connection, a timeout or a 5xx, is retryable.
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
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
	)
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return false
	}
	return true
}

var finalErrors = []error{
	core.ErrDigestMismatch, core.ErrTooLarge, core.ErrUnsupported,
	core.ErrNotFound, core.ErrUnauthorized, core.ErrDenied, core.ErrProviderNotCompiled,
}
