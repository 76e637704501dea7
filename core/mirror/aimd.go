package mirror

import "time"

// The per-host request limit is an AIMD controller (additive increase,
// multiplicative decrease), as TCP's congestion window: it starts moderate,
// grows while the registry answers fast and cleanly, halves when it
// throttles (429, 503) or when its latency climbs far above what it was,
// honours Retry-After by pausing the host, and never exceeds the maximum the
// user allows. It is a pure state machine driven by outcomes and a clock the
// caller passes in, so it is table-tested without a network or real time.

// Defaults of the per-host request limit.
const (
	// DefaultMaxPerHost is the most requests in flight to one registry or
	// Helm repository host (--max-per-host): enough to hide round trips to a
	// distant registry, and few enough that a public registry sees what one
	// busy CI pipeline would send.
	DefaultMaxPerHost = 32
	// InitialPerHost is where a host's limit starts: a moderate number of
	// small requests (about what crane's 4 jobs send with their layers);
	// it grows from there while the host answers cleanly.
	InitialPerHost = 16
	// MaxBlobsPerHost bounds the blob transfers in flight to or from one
	// host, within its request limit: streams compete for bandwidth, so
	// more of them only add memory and open uploads.
	MaxBlobsPerHost = 8
)

// aimdSignal is what one finished request tells the controller.
type aimdSignal int

const (
	// sigOK: the host answered (any answer that is not a throttle).
	sigOK aimdSignal = iota
	// sigThrottle: 429 Too Many Requests or 503 Service Unavailable.
	sigThrottle
	// sigNone: says nothing about load (cancelled, network error).
	sigNone
)

// aimd is the limit of one host. The zero value is not usable: use newAIMD.
type aimd struct {
	max   float64
	limit float64
	// floor is the lowest limit latency alone may cut to (the initial
	// limit); throttling cuts down to 1.
	floor float64
	// slowStart: the limit grows by one per answer (doubling per round of
	// requests) until the first sign of congestion, then by 1/limit.
	slowStart bool
	// minLatency is the fastest answer seen; ewma the smoothed latency.
	minLatency, ewma time.Duration
	// lastCut is when the limit was last decreased: one decrease per round
	// trip, so a burst of 429s from requests sent together halves it once.
	lastCut time.Time
	// pausedUntil: no request starts before this time (Retry-After).
	pausedUntil time.Time
	// peak is the highest limit reached; throttled counts throttle answers.
	peak      int
	throttled int
}

func newAIMD(initial, maximum int) *aimd {
	maximum = max(maximum, 1)
	initial = min(max(initial, 1), maximum)
	return &aimd{max: float64(maximum), limit: float64(initial), floor: float64(initial), slowStart: true, peak: initial}
}

// Limit is the number of requests allowed in flight now.
func (a *aimd) Limit() int { return int(a.limit) }

// Paused returns how long no request may start, from now (0: none).
func (a *aimd) Paused(now time.Time) time.Duration {
	if d := a.pausedUntil.Sub(now); d > 0 {
		return d
	}
	return 0
}

// latencyRise reports a smoothed latency far above the fastest seen: the
// host queues requests (or its link is saturated), so more of them in
// flight only add waiting.
func (a *aimd) latencyRise() bool {
	return a.minLatency > 0 && a.ewma > 2*a.minLatency+50*time.Millisecond
}

// Observe feeds one finished request: its signal, its latency (0 when it
// is not comparable, such as a blob transfer), the server's Retry-After (0
// if none), at now.
func (a *aimd) Observe(sig aimdSignal, latency, retryAfter time.Duration, now time.Time) {
	switch sig {
	case sigThrottle:
		a.throttled++
		if retryAfter > 0 {
			a.pausedUntil = later(a.pausedUntil, now.Add(retryAfter))
		}
		a.decrease(now, 1)
	case sigOK:
		if latency > 0 {
			if a.minLatency == 0 || latency < a.minLatency {
				a.minLatency = latency
			}
			if a.ewma == 0 {
				a.ewma = latency
			} else {
				a.ewma = (7*a.ewma + latency) / 8
			}
			if a.latencyRise() {
				a.decrease(now, a.floor)
				return
			}
		}
		if a.slowStart {
			a.limit++
		} else {
			a.limit += 1 / a.limit
		}
		a.limit = min(a.limit, a.max)
		a.peak = max(a.peak, int(a.limit))
	}
}

// decrease halves the limit, not below floor, at most once per round trip.
func (a *aimd) decrease(now time.Time, floor float64) {
	a.slowStart = false
	window := max(a.ewma, 100*time.Millisecond)
	if !a.lastCut.IsZero() && now.Sub(a.lastCut) < window {
		return
	}
	a.lastCut = now
	if a.limit <= floor {
		return
	}
	a.limit = max(floor, float64(int(a.limit/2)))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
