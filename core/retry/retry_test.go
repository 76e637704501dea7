package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

var start = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a fake clock whose Sleep advances time and records the waits.
type clock struct {
	now   time.Time
	waits []time.Duration
	// sleepErr, if set, is returned by Sleep instead of waiting.
	sleepErr error
}

func (c *clock) Now() time.Time { return c.now }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if c.sleepErr != nil {
		return c.sleepErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

func httpErr(status int, retryAfter time.Duration) error {
	return &core.HTTPError{Method: "GET", URL: "https://r.example/v2/a/tags/list", StatusCode: status, RetryAfter: retryAfter}
}

func TestDo(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset by peer")
	s := time.Second
	tests := []struct {
		name     string
		policy   Policy
		deadline time.Duration // from start; 0: none
		errs     []error       // op returns errs[i] on call i, then nil
		wantErr  []error       // errors.Is targets; nil means success
		wantMsg  string        // exact error message, if set
		wantWait []time.Duration
	}{
		{name: "first attempt succeeds", policy: Policy{Retries: 3, Base: s}, errs: nil},
		{name: "network errors are retried until success", policy: Policy{Retries: 3, Base: s, Max: time.Minute}, errs: []error{boom, boom},
			wantWait: []time.Duration{s / 2, s}},
		{name: "retries exhausted", policy: Policy{Retries: 2, Base: s, Max: time.Minute}, errs: []error{boom, boom, boom, boom},
			wantErr: []error{boom}, wantMsg: "after 3 attempts: connection reset by peer", wantWait: []time.Duration{s / 2, s}},
		{name: "zero retries returns the error unchanged", policy: Policy{}, errs: []error{boom},
			wantErr: []error{boom}, wantMsg: boom.Error()},
		{name: "negative retries count as zero", policy: Policy{Retries: -3}, errs: []error{boom}, wantErr: []error{boom}, wantMsg: boom.Error()},
		{name: "backoff doubles up to max", policy: Policy{Retries: 5, Base: s, Max: 3 * s}, errs: []error{boom, boom, boom, boom, boom},
			wantWait: []time.Duration{s / 2, s, 3 * s / 2, 3 * s / 2, 3 * s / 2}},
		{name: "404 is not retried", policy: Policy{Retries: 3}, errs: []error{httpErr(404, 0)},
			wantErr: []error{core.ErrNotFound}, wantMsg: "GET https://r.example/v2/a/tags/list: 404 Not Found"},
		{name: "401 is not retried", policy: Policy{Retries: 3}, errs: []error{httpErr(401, 0)}, wantErr: []error{core.ErrUnauthorized}},
		{name: "400 is not retried", policy: Policy{Retries: 3}, errs: []error{fmt.Errorf("push: %w", httpErr(400, 0))}},
		{name: "408 is retried", policy: Policy{Retries: 3, Base: s}, errs: []error{httpErr(408, 0)}, wantWait: []time.Duration{s / 2}},
		{name: "503 is retried", policy: Policy{Retries: 3, Base: s}, errs: []error{httpErr(503, 0), httpErr(502, 0)}, wantWait: []time.Duration{s / 2, s}},
		{name: "429 honours Retry-After exactly", policy: Policy{Retries: 3, Base: s, Max: time.Minute}, errs: []error{httpErr(429, 7*s), boom},
			wantWait: []time.Duration{7 * s, s}},
		{name: "Retry-After on 503 is honoured", policy: Policy{Retries: 3, Base: s}, errs: []error{fmt.Errorf("list tags: %w", httpErr(503, 20*s))},
			wantWait: []time.Duration{20 * s}},
		{name: "Retry-After beyond max stops", policy: Policy{Retries: 3, Base: s, Max: 10 * s}, errs: []error{boom, httpErr(429, time.Hour)},
			wantErr: []error{&core.HTTPError{}}, wantWait: []time.Duration{s / 2},
			wantMsg: "after 2 attempts: GET https://r.example/v2/a/tags/list: 429 Too Many Requests (the server asked to retry after 1h0m0s, beyond the 10s cap)"},
		{name: "digest mismatch is not retried", policy: Policy{Retries: 3}, errs: []error{fmt.Errorf("blob sha256:ab: %w", core.ErrDigestMismatch)}, wantErr: []error{core.ErrDigestMismatch}},
		{name: "too large is not retried", policy: Policy{Retries: 3}, errs: []error{fmt.Errorf("chart: %w", core.ErrTooLarge)}, wantErr: []error{core.ErrTooLarge}},
		{name: "unsupported is not retried", policy: Policy{Retries: 3}, errs: []error{core.ErrUnsupported}, wantErr: []error{core.ErrUnsupported}},
		{name: "context error from op is not retried", policy: Policy{Retries: 3}, errs: []error{fmt.Errorf("get: %w", context.DeadlineExceeded)}, wantErr: []error{context.DeadlineExceeded}},
		{name: "permanent is not retried", policy: Policy{Retries: 3}, errs: []error{Permanent(boom)}, wantErr: []error{boom}, wantMsg: boom.Error()},
		{name: "permanent after a retry", policy: Policy{Retries: 3, Base: s}, errs: []error{boom, Permanent(io.ErrUnexpectedEOF)},
			wantErr: []error{io.ErrUnexpectedEOF}, wantMsg: "after 2 attempts: unexpected EOF", wantWait: []time.Duration{s / 2}},
		{name: "wait within the deadline", policy: Policy{Retries: 3, Base: s}, deadline: 2 * s, errs: []error{boom},
			wantWait: []time.Duration{s / 2}},
		{name: "wait crossing the deadline stops", policy: Policy{Retries: 5, Base: s, Max: time.Minute}, deadline: 2 * s, errs: []error{boom, boom, boom},
			wantErr: []error{boom}, wantMsg: "after 3 attempts: connection reset by peer", wantWait: []time.Duration{s / 2, s}},
		{name: "wait ending exactly at the deadline stops", policy: Policy{Retries: 5, Base: s, Max: time.Minute}, deadline: s / 2, errs: []error{boom},
			wantErr: []error{boom}, wantMsg: boom.Error()},
		{name: "window bounds the retries", policy: Policy{Retries: 100, Base: s, Max: 8 * s, Window: 10 * s}, errs: []error{boom, boom, boom, boom, boom, boom},
			wantErr: []error{boom}, wantMsg: "after 5 attempts: connection reset by peer", wantWait: []time.Duration{s / 2, s, 2 * s, 4 * s}},
		{name: "a wait ending exactly at the window is taken", policy: Policy{Retries: 100, Base: s, Max: 8 * s, Window: 3500 * time.Millisecond}, errs: []error{boom, boom, boom, boom},
			wantErr: []error{boom}, wantMsg: "after 4 attempts: connection reset by peer", wantWait: []time.Duration{s / 2, s, 2 * s}},
		{name: "window lets a server outage pass", policy: Policy{Retries: 100, Base: s, Max: 8 * s, Window: time.Minute}, errs: []error{boom, boom, boom, boom, boom, boom},
			wantWait: []time.Duration{s / 2, s, 2 * s, 4 * s, 4 * s, 4 * s}},
		{name: "jitter floor", policy: Policy{Retries: 3, Base: s, Max: 8 * s, JitterFloor: 0.5}, errs: []error{boom, boom, boom},
			wantWait: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * s}},
		{name: "Retry-After up to MaxRetryAfter", policy: Policy{Retries: 3, Base: s, Max: 8 * s, MaxRetryAfter: time.Minute}, errs: []error{httpErr(503, 40*s)},
			wantWait: []time.Duration{40 * s}},
		{name: "Retry-After counts against the window", policy: Policy{Retries: 3, Base: s, Max: 8 * s, MaxRetryAfter: time.Minute, Window: 30 * s}, errs: []error{httpErr(503, 40*s)},
			wantErr: []error{&core.HTTPError{}}},
		{name: "Retry-After crossing the deadline stops", policy: Policy{Retries: 5, Base: s, Max: time.Minute}, deadline: 30 * s, errs: []error{httpErr(429, 40*s)},
			wantErr: []error{&core.HTTPError{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: start}
			p := tt.policy
			p.Now, p.Sleep, p.Rand = clk.Now, clk.Sleep, func() float64 { return 0.5 }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tt.deadline))
				defer cancel()
			}
			calls := 0
			err := Do(ctx, p, func(got context.Context) error {
				if got != ctx {
					t.Error("op did not receive Do's context")
				}
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			wantCalls := len(tt.wantWait) + 1
			if succeed := wantCalls > len(tt.errs); succeed != (err == nil) {
				t.Fatalf("Do = %v, want success %v", err, succeed)
			}
			for _, w := range tt.wantErr {
				var he *core.HTTPError
				if errors.As(w, &he) {
					if !errors.As(err, &he) {
						t.Errorf("error %v is not a *core.HTTPError", err)
					}
				} else if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
			if tt.wantMsg != "" && (err == nil || err.Error() != tt.wantMsg) {
				t.Errorf("error = %v\nwant %s", err, tt.wantMsg)
			}
			if calls != wantCalls {
				t.Errorf("op called %d times, want %d", calls, wantCalls)
			}
			if !slices.Equal(clk.waits, tt.wantWait) {
				t.Errorf("waits = %v, want %v", clk.waits, tt.wantWait)
			}
		})
	}
}

func TestDoAttemptsError(t *testing.T) {
	t.Parallel()
	boom := errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	s := time.Second
	tests := []struct {
		name          string
		policy        Policy
		deadline      time.Duration
		errs          []error
		wantAttempts  int
		wantExhausted bool
	}{
		{"retries used up", Policy{Retries: 2, Base: s}, 0, []error{boom, boom, boom}, 3, true},
		{"window used up", Policy{Retries: 100, Base: s, Max: 8 * s, Window: 5 * s}, 0, []error{boom, boom, boom, boom, boom}, 4, true},
		{"final error after a retry", Policy{Retries: 5, Base: s}, 0, []error{boom, httpErr(404, 0)}, 2, false},
		{"deadline too near", Policy{Retries: 5, Base: s, Max: 8 * s}, 2 * s, []error{boom, boom, boom}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: start}
			p := tt.policy
			p.Now, p.Sleep, p.Rand = clk.Now, clk.Sleep, func() float64 { return 0.5 }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, start.Add(tt.deadline))
				defer cancel()
			}
			n := 0
			err := Do(ctx, p, func(context.Context) error {
				n++
				if n <= len(tt.errs) {
					return tt.errs[n-1]
				}
				return boom
			})
			var ae *AttemptsError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want an *AttemptsError", err, err)
			}
			if ae.Attempts != tt.wantAttempts || ae.Exhausted != tt.wantExhausted || ae.Err != tt.errs[n-1] {
				t.Errorf("AttemptsError{%d, %v, exhausted %v}, want {%d, %v, exhausted %v}", ae.Attempts, ae.Err, ae.Exhausted, tt.wantAttempts, tt.errs[n-1], tt.wantExhausted)
			}
			if want := fmt.Sprintf("after %d attempts: %v", tt.wantAttempts, tt.errs[n-1]); err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
		})
	}
}

func TestDoNotRetriedErrorsReturnAfterOneCall(t *testing.T) {
	t.Parallel()
	for _, err := range []error{httpErr(400, 0), httpErr(403, 0), httpErr(404, 0), core.ErrDigestMismatch, context.Canceled} {
		calls := 0
		got := Do(context.Background(), Policy{Retries: 5, Sleep: func(context.Context, time.Duration) error {
			t.Fatal("slept for a permanent error")
			return nil
		}}, func(context.Context) error { calls++; return err })
		if calls != 1 || got != err {
			t.Errorf("%v: %d calls, returned %v; want 1 call returning it unchanged", err, calls, got)
		}
	}
}

func TestDoCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Do(ctx, Policy{Retries: 3}, func(context.Context) error {
		t.Fatal("op called with a cancelled context")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestDoCancelledDuringOp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &clock{now: start}
	calls := 0
	boom := errors.New("read: connection reset")
	err := Do(ctx, Policy{Retries: 3, Now: clk.Now, Sleep: clk.Sleep}, func(context.Context) error {
		calls++
		cancel() // e.g. SIGTERM while the request was in flight
		return boom
	})
	if calls != 1 || err != boom || len(clk.waits) != 0 {
		t.Errorf("calls=%d err=%v waits=%v; want 1 call, the op's error, no wait", calls, err, clk.waits)
	}
}

func TestDoCancelledDuringSleep(t *testing.T) {
	t.Parallel()
	boom := errors.New("dial tcp: connection refused")
	clk := &clock{now: start, sleepErr: context.Canceled}
	calls := 0
	err := Do(context.Background(), Policy{Retries: 3, Now: clk.Now, Sleep: clk.Sleep}, func(context.Context) error {
		calls++
		return boom
	})
	if calls != 1 {
		t.Errorf("op called %d times, want 1", calls)
	}
	if !errors.Is(err, boom) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want both the op's error and context.Canceled", err)
	}
	if want := "after 1 attempt: dial tcp: connection refused (retry stopped: context canceled)"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestDoOnRetry(t *testing.T) {
	t.Parallel()
	clk := &clock{now: start}
	errs := []error{errors.New("e1"), httpErr(429, 3*time.Second), errors.New("e3")}
	type call struct {
		attempt int
		wait    time.Duration
		err     error
	}
	var got []call
	p := Policy{Retries: 2, Base: time.Second, Max: time.Minute, Now: clk.Now, Sleep: clk.Sleep, Rand: func() float64 { return 0.25 },
		OnRetry: func(attempt int, wait time.Duration, err error) { got = append(got, call{attempt, wait, err}) }}
	n := 0
	err := Do(context.Background(), p, func(context.Context) error { n++; return errs[n-1] })
	want := []call{{1, 250 * time.Millisecond, errs[0]}, {2, 3 * time.Second, errs[1]}}
	if !slices.Equal(got, want) {
		t.Errorf("OnRetry calls = %v, want %v", got, want)
	}
	if err == nil || err.Error() != "after 3 attempts: e3" || !errors.Is(err, errs[2]) {
		t.Errorf("err = %v", err)
	}
}

func TestDoFullJitterUsesRand(t *testing.T) {
	t.Parallel()
	rs := []float64{0, 0.999, 0.1, math.NaN(), -1, 2}
	i := 0
	clk := &clock{now: start}
	p := Policy{Retries: len(rs), Base: time.Second, Max: 8 * time.Second, Now: clk.Now, Sleep: clk.Sleep,
		Rand: func() float64 { i++; return rs[i-1] }}
	_ = Do(context.Background(), p, func(context.Context) error { return errors.New("x") })
	want := []time.Duration{0, 1998 * time.Millisecond, 400 * time.Millisecond, 0, 0, 8 * time.Second}
	if !slices.Equal(clk.waits, want) {
		t.Errorf("waits = %v, want %v", clk.waits, want)
	}
}

func TestDoDefaults(t *testing.T) {
	t.Parallel()
	clk := &clock{now: start}
	p := Default()
	p.Now, p.Sleep, p.Rand = clk.Now, clk.Sleep, func() float64 { return 0.999999 }
	calls := 0
	_ = Do(context.Background(), p, func(context.Context) error { calls++; return errors.New("x") })
	if calls != DefaultRetries+1 {
		t.Errorf("calls = %d, want %d", calls, DefaultRetries+1)
	}
	for i, w := range clk.waits {
		if limit := Backoff(DefaultBase, DefaultMax, i); w > limit || w < limit*99/100 {
			t.Errorf("wait %d = %v, want just under %v", i, w, limit)
		}
	}
	// Zero Base and Max fall back to the defaults.
	clk2 := &clock{now: start}
	_ = Do(context.Background(), Policy{Retries: 1, Now: clk2.Now, Sleep: clk2.Sleep, Rand: func() float64 { return 0.5 }},
		func(context.Context) error { return errors.New("x") })
	if want := []time.Duration{DefaultBase / 2}; !slices.Equal(clk2.waits, want) {
		t.Errorf("waits = %v, want %v", clk2.waits, want)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		base, max time.Duration
		n         int
		want      time.Duration
	}{
		{s, 30 * s, 0, s}, {s, 30 * s, 1, 2 * s}, {s, 30 * s, 4, 16 * s}, {s, 30 * s, 5, 30 * s},
		{s, 30 * s, 1000, 30 * s}, {time.Duration(math.MaxInt64 / 2), time.Duration(math.MaxInt64), 3, time.Duration(math.MaxInt64)},
		{10 * s, 5 * s, 0, 5 * s}, {0, s, 3, 0}, {s, 0, 3, 0}, {s, 30 * s, -1, s},
	}
	for _, tt := range tests {
		if got := Backoff(tt.base, tt.max, tt.n); got != tt.want {
			t.Errorf("Backoff(%v, %v, %d) = %v, want %v", tt.base, tt.max, tt.n, got, tt.want)
		}
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"400", httpErr(400, 0), false},
		{"401", httpErr(401, 0), false},
		{"403", httpErr(403, 0), false},
		{"404 wrapped", fmt.Errorf("get manifest: %w", httpErr(404, 0)), false},
		{"405", httpErr(405, 0), false},
		{"408", httpErr(408, 0), true},
		{"429", httpErr(429, time.Second), true},
		{"500", httpErr(500, 0), true},
		{"503", httpErr(503, 0), true},
		{"digest mismatch", fmt.Errorf("blob: %w", core.ErrDigestMismatch), false},
		{"too large", core.ErrTooLarge, false},
		{"unsupported", core.ErrUnsupported, false},
		{"not found sentinel", fmt.Errorf("%w: r/a", core.ErrNotFound), false},
		{"unauthorized sentinel", core.ErrUnauthorized, false},
		{"denied sentinel", core.ErrDenied, false},
		{"provider not compiled", core.ErrProviderNotCompiled, false},
		{"canceled", context.Canceled, false},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), false},
		{"joined with a context error", errors.Join(errors.New("boom"), context.Canceled), false},
		{"permanent", Permanent(errors.New("bad config")), false},
		{"permanent wrapped", fmt.Errorf("op: %w", Permanent(httpErr(503, 0))), false},
		{"unknown authority", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{Cert: &x509.Certificate{}}), false},
		{"certificate verification", &tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "r"}}, false},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "r"}, false},
		{"certificate invalid", x509.CertificateInvalidError{Cert: &x509.Certificate{}, Reason: x509.Expired}, false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	base := errors.New("bad request")
	p := Permanent(base)
	if p.Error() != base.Error() || !errors.Is(p, base) {
		t.Errorf("Permanent(%v) = %v, want the same message and errors.Is", base, p)
	}
}

func TestSleep(t *testing.T) {
	t.Parallel()
	if err := sleep(context.Background(), 0); err != nil {
		t.Errorf("sleep(0) = %v", err)
	}
	if err := sleep(context.Background(), time.Nanosecond); err != nil {
		t.Errorf("sleep(1ns) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if err := sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep(0) on a cancelled context = %v, want context.Canceled", err)
	}
}
