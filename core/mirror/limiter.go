package mirror

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core"
)

// slotKind separates cheap requests from blob transfers: a host's metadata
// requests (tag lists, manifest and blob checks, manifest reads and writes,
// mounts) may be many, its blob streams few.
type slotKind int

const (
	slotMeta slotKind = iota
	slotBlob
)

// hostLimits holds each host's adaptive request limit (aimd) for one run
// and hands out slots, first come first served.
type hostLimits struct {
	max     int
	initial int
	now     func() time.Time

	mu    sync.Mutex
	hosts map[string]*hostLimit
}

// hostLimit is one host's limit and the requests in flight or waiting.
type hostLimit struct {
	ctl      *aimd
	inFlight [2]int
	peak     [2]int
	waiters  []*slotWaiter
	timer    *time.Timer // wakes waiters when a Retry-After pause ends
}

type slotWaiter struct {
	kind  slotKind
	ready chan struct{}
}

func newHostLimits(initial, maximum int, now func() time.Time) *hostLimits {
	return &hostLimits{max: maximum, initial: initial, now: now, hosts: map[string]*hostLimit{}}
}

func (l *hostLimits) host(h string) *hostLimit {
	hl, ok := l.hosts[h]
	if !ok {
		hl = &hostLimit{ctl: newAIMD(l.initial, l.max)}
		l.hosts[h] = hl
	}
	return hl
}

// capOf is the number of slots of kind allowed on hl now.
func (hl *hostLimit) capOf(kind slotKind) int {
	lim := hl.ctl.Limit()
	if kind == slotBlob {
		return max(1, min(lim, MaxBlobsPerHost))
	}
	return lim
}

// fits reports whether a request of kind may start on hl now: the host is
// not paused, the requests of both kinds stay within the limit, and blob
// transfers within their share of it.
func (hl *hostLimit) fits(kind slotKind, now time.Time) bool {
	if hl.ctl.Paused(now) > 0 {
		return false
	}
	return hl.inFlight[slotMeta]+hl.inFlight[slotBlob] < hl.ctl.Limit() && hl.inFlight[kind] < hl.capOf(kind)
}

// acquire waits for a slot of kind on host h, unless ctx ends first, and
// returns its release function, which takes the request's outcome.
func (l *hostLimits) acquire(ctx context.Context, h string, kind slotKind) (func(err error, latency time.Duration), error) {
	l.mu.Lock()
	hl := l.host(h)
	if len(hl.waiters) == 0 && hl.fits(kind, l.now()) {
		l.take(hl, kind)
		l.mu.Unlock()
		return l.releaser(h, hl, kind), nil
	}
	w := &slotWaiter{kind: kind, ready: make(chan struct{})}
	hl.waiters = append(hl.waiters, w)
	l.wake(hl)
	l.mu.Unlock()
	select {
	case <-w.ready:
		return l.releaser(h, hl, kind), nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			hl.inFlight[kind]--
			l.wake(hl)
		default:
			hl.waiters = slices.DeleteFunc(hl.waiters, func(x *slotWaiter) bool { return x == w })
		}
		return nil, ctx.Err()
	}
}

func (l *hostLimits) take(hl *hostLimit, kind slotKind) {
	hl.inFlight[kind]++
	hl.peak[kind] = max(hl.peak[kind], hl.inFlight[kind])
}

// wake grants slots to waiters in order: a waiter whose kind is full does
// not hold back one of the other kind. During a Retry-After pause nothing
// starts; a timer wakes the queue when it ends.
func (l *hostLimits) wake(hl *hostLimit) {
	now := l.now()
	if d := hl.ctl.Paused(now); d > 0 {
		if hl.timer == nil {
			hl.timer = time.AfterFunc(d, func() {
				l.mu.Lock()
				defer l.mu.Unlock()
				hl.timer = nil
				l.wake(hl)
			})
		}
		return
	}
	blocked := [2]bool{}
	kept := hl.waiters[:0]
	for _, w := range hl.waiters {
		if !blocked[w.kind] && hl.fits(w.kind, now) {
			l.take(hl, w.kind)
			close(w.ready)
			continue
		}
		blocked[w.kind] = true
		kept = append(kept, w)
	}
	clear(hl.waiters[len(kept):])
	hl.waiters = kept
}

func (l *hostLimits) releaser(h string, hl *hostLimit, kind slotKind) func(error, time.Duration) {
	var once sync.Once
	return func(err error, latency time.Duration) {
		once.Do(func() {
			sig, ra := throttleSignal(err)
			if kind == slotBlob {
				latency = 0 // a transfer's time says more about its size than the host's load
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			hl.inFlight[kind]--
			hl.ctl.Observe(sig, latency, ra, l.now())
			l.wake(hl)
		})
	}
}

// throttleSignal classifies a request's outcome for the controller.
func throttleSignal(err error) (aimdSignal, time.Duration) {
	if err == nil {
		return sigOK, 0
	}
	var he *core.HTTPError
	if errors.As(err, &he) {
		if he.StatusCode == http.StatusTooManyRequests || he.StatusCode == http.StatusServiceUnavailable {
			return sigThrottle, he.RetryAfter
		}
		return sigOK, 0
	}
	if errors.Is(err, core.ErrNotFound) {
		return sigOK, 0
	}
	return sigNone, 0
}

// HostConcurrency is what one host's adaptive limit did during a run.
type HostConcurrency struct {
	Host string
	// Limit is the request limit at the end of the run; PeakLimit the
	// highest it reached.
	Limit, PeakLimit int
	// PeakRequests and PeakTransfers are the most metadata requests and
	// blob transfers that were in flight at once.
	PeakRequests, PeakTransfers int
	// Throttled counts 429 and 503 answers.
	Throttled int
}

// summary returns every host's record, sorted by host.
func (l *hostLimits) summary() []HostConcurrency {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]HostConcurrency, 0, len(l.hosts))
	for h, hl := range l.hosts {
		out = append(out, HostConcurrency{Host: h, Limit: hl.ctl.Limit(), PeakLimit: hl.ctl.peak,
			PeakRequests: hl.peak[slotMeta], PeakTransfers: hl.peak[slotBlob], Throttled: hl.ctl.throttled})
	}
	slices.SortFunc(out, func(a, b HostConcurrency) int {
		switch {
		case a.Host < b.Host:
			return -1
		case a.Host > b.Host:
			return 1
		}
		return 0
	})
	return out
}

// limited runs op, one attempt of a request, in a slot of kind on each of
// hosts (taken in host order, so two transfers between the same hosts in
// opposite directions cannot wait for each other), and feeds its outcome
// and latency to the hosts' limits.
func (r *run) limited(ctx context.Context, kind slotKind, hosts []string, op func(ctx context.Context) error) error {
	hosts = distinct(hosts)
	slices.Sort(hosts)
	releases := make([]func(error, time.Duration), 0, len(hosts))
	for _, h := range hosts {
		rel, err := r.limits.acquire(ctx, h, kind)
		if err != nil {
			for _, rel := range releases {
				rel(err, 0)
			}
			return err
		}
		releases = append(releases, rel)
	}
	start := time.Now()
	err := op(ctx)
	d := time.Since(start)
	for _, rel := range releases {
		rel(err, d)
	}
	return err
}
