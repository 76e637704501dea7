package mirror

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

// event is one finished request fed to the controller, at a time offset
// from the start (the fake clock).
type event struct {
	at         time.Duration
	sig        aimdSignal
	latency    time.Duration
	retryAfter time.Duration
}

func oks(from time.Duration, n int, latency time.Duration) []event {
	var out []event
	for i := range n {
		out = append(out, event{at: from + time.Duration(i)*time.Millisecond, sig: sigOK, latency: latency})
	}
	return out
}

func TestAIMD(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		initial, max int
		events       []event
		limit, peak  int
		pausedAt     time.Duration // clock reading for wantPaused
		wantPaused   time.Duration
		throttled    int
	}{
		{name: "starts at the initial limit", initial: 8, max: 32, limit: 8, peak: 8},
		{name: "initial above the maximum is capped", initial: 8, max: 2, limit: 2, peak: 2},
		{name: "slow start: one more per clean answer", initial: 8, max: 32, events: oks(0, 5, 20*time.Millisecond), limit: 13, peak: 13},
		{name: "never above the maximum", initial: 8, max: 32, events: oks(0, 100, 20*time.Millisecond), limit: 32, peak: 32},
		{name: "429 halves the limit", initial: 8, max: 32, events: append(oks(0, 8, 20*time.Millisecond),
			event{at: time.Second, sig: sigThrottle}), limit: 8, peak: 16, throttled: 1},
		{name: "a burst of 429s halves once per round trip", initial: 16, max: 32, events: []event{
			{at: 0, sig: sigThrottle}, {at: time.Millisecond, sig: sigThrottle}, {at: 2 * time.Millisecond, sig: sigThrottle},
		}, limit: 8, peak: 16, throttled: 3},
		{name: "429s a round trip apart halve each time, down to 1", initial: 8, max: 32, events: []event{
			{at: 0, sig: sigThrottle}, {at: 200 * time.Millisecond, sig: sigThrottle}, {at: 400 * time.Millisecond, sig: sigThrottle},
			{at: 600 * time.Millisecond, sig: sigThrottle}, {at: 800 * time.Millisecond, sig: sigThrottle},
		}, limit: 1, peak: 8, throttled: 5},
		{name: "after a throttle growth is additive", initial: 16, max: 32, events: append([]event{{at: 0, sig: sigThrottle}},
			oks(time.Second, 9, 20*time.Millisecond)...), limit: 9, peak: 16, throttled: 1},
		{name: "Retry-After pauses the host", initial: 8, max: 32, events: []event{{at: 0, sig: sigThrottle, retryAfter: 2 * time.Second}},
			limit: 4, peak: 8, throttled: 1, pausedAt: 500 * time.Millisecond, wantPaused: 1500 * time.Millisecond},
		{name: "the pause ends", initial: 8, max: 32, events: []event{{at: 0, sig: sigThrottle, retryAfter: 2 * time.Second}},
			limit: 4, peak: 8, throttled: 1, pausedAt: 3 * time.Second, wantPaused: 0},
		{name: "rising latency cuts, not below the initial limit", initial: 8, max: 32, events: append(oks(0, 8, 20*time.Millisecond),
			oks(time.Second, 40, 400*time.Millisecond)...), limit: 8, peak: 17},
		{name: "steady latency keeps growing", initial: 8, max: 32, events: oks(0, 20, 60*time.Millisecond), limit: 28, peak: 28},
		{name: "cancelled requests say nothing", initial: 8, max: 32, events: []event{{at: 0, sig: sigNone}}, limit: 8, peak: 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAIMD(tc.initial, tc.max)
			for _, e := range tc.events {
				a.Observe(e.sig, e.latency, e.retryAfter, t0.Add(e.at))
			}
			if got := a.Limit(); got != tc.limit {
				t.Errorf("limit %d, want %d", got, tc.limit)
			}
			if a.peak != tc.peak {
				t.Errorf("peak %d, want %d", a.peak, tc.peak)
			}
			if a.throttled != tc.throttled {
				t.Errorf("throttled %d, want %d", a.throttled, tc.throttled)
			}
			if got := a.Paused(t0.Add(tc.pausedAt)); got != tc.wantPaused {
				t.Errorf("paused %s, want %s", got, tc.wantPaused)
			}
		})
	}
}

func TestThrottleSignal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err error
		sig aimdSignal
		ra  time.Duration
	}{
		{nil, sigOK, 0},
		{&core.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Second}, sigThrottle, time.Second},
		{&core.HTTPError{StatusCode: http.StatusServiceUnavailable}, sigThrottle, 0},
		{&core.HTTPError{StatusCode: http.StatusNotFound}, sigOK, 0},
		{&core.HTTPError{StatusCode: http.StatusInternalServerError}, sigOK, 0},
		{context.Canceled, sigNone, 0},
		{&TransferError{Side: SideDestination, Err: &core.HTTPError{StatusCode: http.StatusTooManyRequests}}, sigThrottle, 0},
	}
	for _, tc := range cases {
		sig, ra := throttleSignal(tc.err)
		if sig != tc.sig || ra != tc.ra {
			t.Errorf("%v: signal %d, retry after %s; want %d, %s", tc.err, sig, ra, tc.sig, tc.ra)
		}
	}
}

// TestHostLimitsQueue checks the slot accounting with a fake clock: the
// limit bounds each kind, waiters are served in order, a cancelled waiter
// leaves the queue, and a Retry-After pause holds every request back.
func TestHostLimitsQueue(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newHostLimits(2, 2, func() time.Time { return now })
	ctx := context.Background()
	r1, err := l.acquire(ctx, "h", slotMeta)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := l.acquire(ctx, "h", slotMeta)
	// The limit counts both kinds: a blob transfer waits too.
	bctx, bcancel := context.WithCancel(ctx)
	bcancel()
	if _, err := l.acquire(bctx, "h", slotBlob); err == nil {
		t.Fatal("a blob transfer started on a host with all its slots taken")
	}
	// A third metadata request waits; a cancelled one gives up.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.acquire(cctx, "h", slotMeta); err == nil {
		t.Fatal("acquire with a cancelled context succeeded on a full host")
	}
	got := make(chan func(error, time.Duration))
	go func() {
		r, _ := l.acquire(ctx, "h", slotMeta)
		got <- r
	}()
	// Throttled with Retry-After: the waiter is not served when r1 ends.
	r1(&core.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Hour}, 0)
	r2(nil, 0)
	select {
	case <-got:
		t.Fatal("a request started during the host's Retry-After pause")
	default:
	}
	s := l.summary()
	if len(s) != 1 || s[0].Throttled != 1 || s[0].PeakRequests != 2 || s[0].PeakTransfers != 0 || s[0].Limit != 2 {
		t.Errorf("summary %+v", s)
	}
}
