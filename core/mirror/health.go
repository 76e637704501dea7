package mirror

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core/retry"
)

// A run trips a host's circuit breaker once the host is proven
// unreachable: from then on its requests fail at once with an
// *UnreachableError instead of each waiting out its own retries, and the
// requests that are waiting to retry give up. Other hosts are not
// affected. The rules are pure functions of a request's outcome and the
// host's record (outcome, provesDown), table-tested on their own.

// outcome is what one attempt of a request says about its host's health.
type outcome int

const (
	// outcomeNone: the attempt says nothing (it was cancelled).
	outcomeNone outcome = iota
	// outcomeAnswered: the host answered, even if with a refusal (a 404,
	// a 401, a digest mismatch): it is reachable.
	outcomeAnswered
	// outcomeFailed: a temporary failure (refused, reset, timed out, 5xx).
	outcomeFailed
	// outcomeDown: a failure that proves the host unreachable at once (its
	// name does not resolve).
	outcomeDown
)

// classify returns the outcome of an attempt that returned err.
func classify(host string, err error) outcome {
	switch {
	case err == nil:
		return outcomeAnswered
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return outcomeNone
	case unknownHost(host, err):
		return outcomeDown
	case retry.Retryable(err):
		return outcomeFailed
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return outcomeNone
	}
	return outcomeAnswered
}

// unknownHost reports a DNS answer that host (host[:port]) does not exist;
// a name that fails to resolve elsewhere (a redirect to storage) does not
// count against host.
func unknownHost(host string, err error) bool {
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		return false
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	return de.Name == "" || de.Name == name
}

// provesDown reports whether a request that failed with err, after its
// first failure at first, proves its host unreachable, given the last
// time the host answered any request (zero: never). It does when the
// request ran out of its whole retry budget on temporary failures while
// nothing else on the host answered since the request first failed (one
// broken object on a live registry does not count), or when the host's
// name does not resolve.
func provesDown(last outcome, err error, first, lastAnswer time.Time) bool {
	if last == outcomeDown {
		return true
	}
	var ae *retry.AttemptsError
	if last != outcomeFailed || !errors.As(err, &ae) || !ae.Exhausted {
		return false
	}
	return lastAnswer.Before(first)
}

// health is the breaker of every host of one run.
type health struct {
	mu    sync.Mutex
	hosts map[string]*hostHealth
}

type hostHealth struct {
	kind     string
	answered time.Time         // when the host last answered
	down     *UnreachableError // set once, when the host is proven unreachable
	tripped  chan struct{}     // closed when down is set
	tags     int               // tags failed by down
	entries  int               // entries failed by down
}

func newHealth() *health { return &health{hosts: map[string]*hostHealth{}} }

// hostLocked returns the record of host, creating it.
func (h *health) hostLocked(kind, host string) *hostHealth {
	key := kind + " " + host
	hh, ok := h.hosts[key]
	if !ok {
		hh = &hostHealth{kind: kind, tripped: make(chan struct{})}
		h.hosts[key] = hh
	}
	return hh
}

// check returns the host's *UnreachableError once it is proven unreachable.
func (h *health) check(kind, host string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := h.hostLocked(kind, host).down; d != nil {
		return d
	}
	return nil
}

// record notes the outcome of an attempt at time at.
func (h *health) record(kind, host string, o outcome, at time.Time) {
	if o != outcomeAnswered {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.hostLocked(kind, host)
	if at.After(hh.answered) {
		hh.answered = at
	}
}

// failed notes a request that failed for good with err (its last attempt's
// outcome last, its first failure at first) and trips the host's breaker
// when that proves the host unreachable. It reports whether this call
// tripped it.
func (h *health) failed(kind, host string, last outcome, err error, first time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.hostLocked(kind, host)
	if hh.down != nil || !provesDown(last, err, first, hh.answered) {
		return false
	}
	hh.down = &UnreachableError{Kind: kind, Host: host, Err: err}
	close(hh.tripped)
	return true
}

// trippedChan is closed when host is proven unreachable.
func (h *health) trippedChan(kind, host string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostLocked(kind, host).tripped
}

// sleep waits d, or until ctx is done (returning its error), or until one
// of hosts is proven unreachable (returning nil: the next attempt then
// fails at once).
func (h *health) sleep(ctx context.Context, d time.Duration, hosts []hostRef) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var a, b <-chan struct{}
	a = h.trippedChan(hosts[0].kind, hosts[0].host)
	if len(hosts) > 1 {
		b = h.trippedChan(hosts[1].kind, hosts[1].host)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-a:
	case <-b:
	}
	return nil
}

// count notes a tag (or, if entry, an entry) that failed with err, when err
// is a host's UnreachableError.
func (h *health) count(err error, entry bool) {
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.hostLocked(ue.Kind, ue.Host)
	if entry {
		hh.entries++
	} else {
		hh.tags++
	}
}

// unreachable returns the hosts proven unreachable, sorted by host, with
// their counts.
func (h *health) unreachable() []downHost {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []downHost
	for _, hh := range h.hosts {
		if hh.down != nil {
			out = append(out, downHost{hh.down, hh.tags, hh.entries})
		}
	}
	slices.SortFunc(out, func(a, b downHost) int {
		switch {
		case a.err.Host < b.err.Host:
			return -1
		case a.err.Host > b.err.Host:
			return 1
		}
		return 0
	})
	return out
}

type downHost struct {
	err           *UnreachableError
	tags, entries int
}
