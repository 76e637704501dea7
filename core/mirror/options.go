package mirror

import (
	"log/slog"
	"time"

	"github.com/fluxcd/flux-mirror/core/shard"
)

// Defaults of Options, applied to zero values.
const (
	// DefaultConcurrency is the number of copy jobs in flight (--concurrency).
	DefaultConcurrency = 4
	// DefaultRetries is the CLI's default of --retries, the job-level
	// retries. A zero Options.Retries means no job-level retry; it is not
	// replaced by this default.
	DefaultRetries = 3
	// DefaultTimeout is the budget of one job, all attempts included (--timeout).
	DefaultTimeout = 5 * time.Minute
	// DefaultRetryBase is the first backoff delay of both retry levels; it
	// doubles per attempt.
	DefaultRetryBase = 500 * time.Millisecond
	// DefaultRetryMax caps one backoff delay between the attempts of a job
	// (a server's Retry-After may ask for longer, within the job's budget).
	DefaultRetryMax = 30 * time.Second
	// DefaultRetryWindow is how long one request is retried after its first
	// failure (--retry-window): long enough to ride out a registry restart
	// of about 30 seconds.
	DefaultRetryWindow = 60 * time.Second
	// RequestRetryMax caps one backoff delay between the attempts of a
	// request: 0.5s doubling to 8s, each wait 50-100% of that (jitter).
	RequestRetryMax = 8 * time.Second
	// MaxIndexDepth bounds how deeply image indexes may nest: a tag's index
	// is level 1, an index it lists level 2, and so on. A deeper index fails
	// its tag (permanently) instead of being followed.
	MaxIndexDepth = 8
	// DefaultReporter is the Report's reporter when Options.Reporter is empty.
	DefaultReporter = "flux-mirror"
	// MaxReferrerDepth bounds how deep referrers of referrers are followed:
	// 1 is the referrers of a tag (and of an index's child manifests), 2
	// their referrers, and so on.
	MaxReferrerDepth = 3
)

// Options tune an Engine. The zero value is usable: every zero field takes
// its default, except Retries (zero means no retry) and the booleans.
type Options struct {
	// Concurrency bounds the large blob transfers of the run (default 4):
	// at most Concurrency copy jobs' worth of streams, 4 per job, move
	// blobs over 256 KiB at the same time. The rest of the work, planning
	// (tag lists, resolving tags, checking destination tags) and the small
	// requests of copy jobs (checks, manifests, small blobs), runs ahead on
	// at least 64 workers, bounded by the hosts' request limits
	// (MaxPerHost); one job still moves at most 4 blobs at once.
	Concurrency int
	// PerHostConcurrency, when positive, caps the copy jobs that touch one
	// registry host (or one Helm repository host) at a time; a job counts
	// against both its source and its destination host. Zero means no cap
	// beyond Concurrency: the hosts' request limits protect each registry.
	PerHostConcurrency int
	// MaxPerHost is the most requests in flight to one host (default
	// DefaultMaxPerHost, --max-per-host). Each host's limit starts at
	// InitialPerHost (or MaxPerHost when smaller), grows while the host
	// answers quickly and cleanly, halves on 429 or 503 answers or a steep
	// rise in latency, and pauses the host for a Retry-After; at most
	// MaxBlobsPerHost of a host's requests are blob transfers.
	MaxPerHost int
	// Retries is the number of job-level retries after a job's first
	// attempt (the CLI passes DefaultRetries unless --retries says
	// otherwise).
	//
	// Retries work at two levels, and only temporary failures are retried
	// (408, 429 and 5xx answers, network errors, interrupted streams; see
	// retry.Retryable). First each request is retried on its own: one tag
	// list, manifest HEAD, GET or PUT, blob check, mount, or one blob
	// transfer (the source read and the destination upload together, since
	// a stream cannot be replayed), for up to RetryWindow after its first
	// failure. Then, for what that cannot fix (a transfer whose stream kept
	// breaking, a request whose window ran out while its registry still
	// answered others, a signature check that failed in transit), the whole
	// job is retried up to Retries times. A job's progress survives its
	// retries, and everything stays within Timeout.
	Retries int
	// Timeout is the budget of one job, all attempts included (default 5m).
	Timeout time.Duration
	// RetryBase is the first backoff delay of both levels (default 500ms),
	// doubled per attempt up to RequestRetryMax (a request) or
	// DefaultRetryMax (a job), with jitter; a server's Retry-After is
	// honoured.
	RetryBase time.Duration
	// RetryWindow is how long one request is retried after its first
	// failure (default 60s); a negative window turns request-level retry
	// off. When a request to a host uses up its window on a temporary
	// failure and nothing else on that host answered meanwhile, or the
	// host's name does not resolve, the host is unreachable for the rest of
	// the run: its remaining requests fail at once with an
	// *UnreachableError, while other hosts' entries go on.
	RetryWindow time.Duration
	// RetryJitter returns a uniformly random number in [0, 1) for the
	// retry jitter; nil means math/rand/v2. Tests make it constant.
	RetryJitter func() float64
	// Overwrite forces overwrite on every entry (--overwrite).
	Overwrite bool
	// DryRun plans and compares but writes nothing: missing tags are
	// reported would-copy and differing ones would-overwrite.
	DryRun bool
	// FailOnEmpty fails an entry whose selector selects nothing (status
	// failed, error "selector matched 0 of N tags", exit code 1) instead of
	// completing it with no tags and a warning (--fail-on-empty).
	FailOnEmpty bool
	// Logger receives structured diagnostics; nil discards them.
	Logger *slog.Logger
	// Observer is told about progress as it happens; nil means none.
	Observer Observer
	// Now is the clock that signature ages are measured against and the
	// Report is stamped with; nil means time.Now.
	Now func() time.Time
	// Reporter is the Report's reporter, e.g. "flux-mirror/v1.2.3"
	// (default "flux-mirror").
	Reporter string
	// Shard, when set, runs only the part of the sync that shard owns
	// (sync --shard I/N): each entry's selection is computed on the whole
	// listing, then only the selected tags whose destination tag the shard
	// owns are planned and mirrored (see package shard); the Report records
	// the shard and each tag's position in the whole selection, for
	// report.Merge. The zero value is the whole run; an invalid shard
	// fails every entry.
	Shard shard.Shard
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.PerHostConcurrency < 0 {
		o.PerHostConcurrency = 0
	}
	if o.MaxPerHost <= 0 {
		o.MaxPerHost = DefaultMaxPerHost
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryWindow == 0 {
		o.RetryWindow = DefaultRetryWindow
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observer == nil {
		o.Observer = ObserverFuncs{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Reporter == "" {
		o.Reporter = DefaultReporter
	}
	return o
}
