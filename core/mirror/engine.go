package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/fluxcd/flux-mirror/core/retry"
	"github.com/fluxcd/flux-mirror/core/selection"
)

// Deps are the optional ports of an Engine besides its Registry.
type Deps struct {
	// Charts reads Helm repository indexes and downloads charts. Required
	// when the config has charts: without it, every chart entry fails
	// planning with an error that says so.
	Charts ChartSource
	// Verifier checks signatures. Required when an artifact sets verify:
	// without it, such entries fail planning with an error that says so.
	Verifier Verifier
}

// Engine runs syncs. It holds no state between runs and is safe for
// concurrent use; every Run has its own caches (blobs known present,
// referrers API support), which last for that run only.
type Engine struct {
	reg  Registry
	deps Deps
	opts Options
}

// New returns an Engine that talks to OCI registries through reg (which must
// not be nil), to Helm repositories and signature verification through deps,
// tuned by opts (zero fields take their defaults, see Options).
func New(reg Registry, opts Options, deps Deps) *Engine {
	return &Engine{reg: reg, deps: deps, opts: opts.withDefaults()}
}

// Run mirrors every entry of in and returns the Report; it never returns
// nil. in should come from a validated config (an invalid entry fails that
// entry only). Entries are planned and their tags
// mirrored on one shared pool of Options.Concurrency workers; a failure is
// recorded in the Report (entry or tag) and never stops the other entries.
// When ctx is cancelled no new job starts, requests in flight are
// cancelled, and everything unfinished is reported failed with "cancelled".
func (e *Engine) Run(ctx context.Context, in Input) *report.Report {
	startMono := time.Now()
	start := e.opts.Now()
	rep := report.New(e.opts.Reporter, start)
	r := &run{
		Engine:      e,
		log:         e.opts.Logger,
		sched:       newScheduler(e.opts.PerHostConcurrency),
		now:         start,
		health:      newHealth(),
		objects:     newOnceSet(),
		uploads:     newOnceSet(),
		streams:     make(transfers, e.opts.Concurrency*blobParallelism),
		limits:      newHostLimits(InitialPerHost, e.opts.MaxPerHost, time.Now),
		referrerAPI: map[string]bool{},
		newRepos:    map[string]bool{},
		warmed:      map[string]bool{},
		fallbackMu:  map[string]*sync.Mutex{},
	}
	r.reg = retryingRegistry{r: r, reg: e.reg}
	if e.deps.Charts != nil {
		r.charts = retryingCharts{r: r, charts: e.deps.Charts}
	}
	n := len(in.Artifacts) + len(in.Charts)
	r.results = make([]report.Result, n)
	for i, a := range in.Artifacts {
		r.results[i] = report.Result{Source: a.Source, Destination: a.Destination, Status: report.EntryCompleted, Tags: []report.Tag{}}
		r.planArtifact(i, a)
	}
	for j, c := range in.Charts {
		i := len(in.Artifacts) + j
		r.results[i] = report.Result{Source: chartSource(c), Destination: chartDestination(c), Status: report.EntryCompleted, Tags: []report.Tag{}}
		r.planChart(i, c)
	}
	r.log.Info("sync started", "entries", n, "concurrency", e.opts.Concurrency, "maxPerHost", e.opts.MaxPerHost, "dryRun", e.opts.DryRun)
	warmCtx, stopWarming := context.WithCancel(ctx)
	r.warmCtx = warmCtx
	r.sched.run(ctx, planWorkers, max(e.opts.Concurrency, jobWorkers))
	stopWarming()
	r.warming.Wait()
	r.reportUnreachable()
	r.reportLimits()
	rep.Report.Results = r.results
	r.shardReport(&rep.Report)
	rep.Finish(startMono, time.Now())
	s := rep.Report.Summary
	r.log.Info("sync finished", "copied", s.Copied, "overwritten", s.Overwritten, "skipped", s.Skipped,
		"drifted", s.Drifted, "wouldCopy", s.WouldCopy, "wouldOverwrite", s.WouldOverwrite, "failed", s.Failed,
		"duration", rep.Duration())
	return rep
}

// run is the state of one Run.
type run struct {
	*Engine
	log   *slog.Logger
	sched *scheduler
	now   time.Time // the clock reading signature ages are measured against

	// reg and charts are the Engine's ports behind request-level retry and
	// the hosts' breakers (request.go); reg shadows Engine.reg, which only
	// blob transfers use directly, as one request each.
	reg    Registry
	charts ChartSource
	health *health
	// limits are the hosts' adaptive request limits (limiter.go).
	limits *hostLimits

	// results are written by tasks, each into its own slots (one entry's
	// plan owns results[i]; a tag job owns results[i].Tags[j]); obsMu
	// serializes the Observer and guards nothing else.
	results []report.Result
	obsMu   sync.Mutex

	// objects tracks blobs and manifests known present at a destination
	// ("repo@digest") and deduplicates concurrent uploads of them.
	objects *onceSet
	// uploads deduplicates uploads of one blob to one registry host
	// ("host@digest") across its repositories; the others mount it.
	uploads *onceSet
	// streams are the run's slots for large blob transfers (over
	// smallBlob bytes): Options.Concurrency jobs' worth of blobParallelism.
	streams transfers

	mu          sync.Mutex
	referrerAPI map[string]bool // destination repository → serves the referrers API
	newRepos    map[string]bool // destination repositories found absent (destindex.go)
	warmed      map[string]bool // registry hosts warmed (HostWarmer)
	warmCtx     context.Context // cancelled when the run's work is over
	warming     sync.WaitGroup
	positions   map[int][]int          // sharded run: entry → its tags' positions in the whole selection
	fallbackMu  map[string]*sync.Mutex // destination fallback tag → writer lock
}

// header is the entry's result without tags, for Observer calls.
func (r *run) header(i int) report.Result {
	h := r.results[i]
	h.Tags = nil
	return h
}

// failEntry records a planning failure of entry i.
func (r *run) failEntry(i int, err error) {
	r.health.count(err, true)
	res := &r.results[i]
	res.Status = report.EntryFailed
	res.Error = errorText(err)
	res.Tags = []report.Tag{}
	r.log.Error("plan failed", "source", res.Source, "destination", res.Destination, "error", res.Error)
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	r.opts.Observer.EntryFailed(i, r.header(i))
}

// selectionDone records the selection counts of entry i and reports
// whether its planning goes on: an empty selection completes the entry
// with no tags, or fails it under Options.FailOnEmpty.
func (r *run) selectionDone(i int, sel selection.Result, chart bool) bool {
	s := &report.Selection{Listed: sel.Listed, FallbackTags: sel.FallbackTags, Matched: sel.Matched, Selected: len(sel.Selected), Limit: sel.Limit}
	r.results[i].Selection = s
	if s.Selected > 0 {
		return true
	}
	if r.opts.FailOnEmpty {
		r.failEntry(i, errors.New(report.EmptySelectionError(*s, chart)))
		return false
	}
	r.log.Warn("selector matched nothing", "source", r.results[i].Source, "considered", s.Considered())
	r.entryPlanned(i, 0)
	return false
}

// entryPlanned tells the Observer how many tags entry i will report.
func (r *run) entryPlanned(i, tags int) {
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	r.opts.Observer.EntryPlanned(i, r.header(i), tags)
}

// finishTag records tag j of entry i and tells the Observer.
func (r *run) finishTag(i, j int, t report.Tag) {
	r.results[i].Tags[j] = t
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	r.opts.Observer.TagDone(i, r.header(i), t)
}

// activity calls f with the Observer's ActivityObserver side, if it has
// one, serialized with the other Observer calls.
func (r *run) activity(f func(ActivityObserver)) {
	a, ok := r.opts.Observer.(ActivityObserver)
	if !ok {
		return
	}
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	f(a)
}

func (r *run) bytes(n int64) {
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	r.opts.Observer.BytesTransferred(n)
}

// attempt runs op, one job, under the job budget (Options.Timeout, all
// attempts included) with Options.Retries job-level retries of temporary
// failures; each request within op has its own retries (request.go). It
// turns a cancelled sync into errCancelled and an exhausted budget into an
// error that says so. A job tried more than once says how often at the end
// ("(job tried 3 times)"), so that its count does not stack on the "after N
// attempts" of the request that failed.
func (r *run) attempt(ctx context.Context, what string, op func(ctx context.Context) error) error {
	if ctx.Err() != nil {
		return errCancelled
	}
	jctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	tries := 0
	var own error // the last failure that was not a host's breaker refusing
	err := retry.Do(jctx, retry.Policy{
		Retries: r.opts.Retries,
		Base:    r.opts.RetryBase,
		Max:     DefaultRetryMax,
		Rand:    r.opts.RetryJitter,
		OnRetry: func(attempt int, wait time.Duration, err error) {
			r.log.Warn("retrying job", "job", what, "attempt", attempt, "wait", wait, "error", err)
		},
	}, func(ctx context.Context) error {
		err := op(ctx)
		var ue *UnreachableError
		if !errors.As(err, &ue) {
			tries++
			own = err
		}
		return err
	})
	if ae, ok := err.(*retry.AttemptsError); ok {
		err = ae.Err
	}
	// A retry refused because this job's own failure proved its host
	// unreachable reports that failure, not the refusal.
	if own != nil && err != nil && !errors.Is(err, own) {
		var ue *UnreachableError
		if errors.As(err, &ue) {
			err = own
		}
	}
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return errCancelled
	case jctx.Err() != nil:
		return fmt.Errorf("timed out after %s (%s): %w", r.opts.Timeout, plural(tries, "attempt"), err)
	case tries > 1:
		return &jobError{err: err, tries: tries}
	}
	return err
}

// jobError is the last error of a job tried more than once.
type jobError struct {
	err   error
	tries int
}

func (e *jobError) Error() string { return fmt.Sprintf("%v (job tried %d times)", e.err, e.tries) }
func (e *jobError) Unwrap() error { return e.err }

// reportUnreachable says once, at the end of the run, which hosts were
// found unreachable and how much work that cost.
func (r *run) reportUnreachable() {
	obs, _ := r.opts.Observer.(UnreachableObserver)
	for _, d := range r.health.unreachable() {
		r.log.Error(d.err.Summary(d.tags, d.entries), "kind", d.err.Kind, "host", d.err.Host, "notAttemptedTags", d.tags, "notPlannedEntries", d.entries)
		if obs != nil {
			obs.HostUnreachable(d.err, d.tags, d.entries)
		}
	}
}

// warm prepares the connection to repo's host in the background, once per
// host and run, when the Registry can (HostWarmer): the destination's
// handshake then overlaps the source's tag list instead of delaying the
// first destination check.
func (r *run) warm(repo oci.Repository) {
	w, ok := r.Engine.reg.(HostWarmer)
	if !ok {
		return
	}
	r.mu.Lock()
	first := !r.warmed[repo.Host]
	r.warmed[repo.Host] = true
	r.mu.Unlock()
	if first && r.health.check(kindRegistry, repo.Host) == nil {
		r.warming.Go(func() { w.Warm(r.warmCtx, repo) })
	}
}

// reportLimits logs what each host's request limit reached, for --verbose
// and for tuning --max-per-host, and tells a LimitObserver.
func (r *run) reportLimits() {
	hosts := r.limits.summary()
	for _, h := range hosts {
		r.log.Info("host concurrency", "host", h.Host, "limit", h.Limit, "peakLimit", h.PeakLimit,
			"peakRequests", h.PeakRequests, "peakTransfers", h.PeakTransfers, "throttled", h.Throttled)
	}
	if obs, ok := r.opts.Observer.(LimitObserver); ok && len(hosts) > 0 {
		r.obsMu.Lock()
		defer r.obsMu.Unlock()
		obs.HostLimits(hosts)
	}
}

// LimitObserver is an optional extension of Observer, found by type
// assertion: at the end of a run it hears what each host's adaptive
// request limit reached (see Options.MaxPerHost).
type LimitObserver interface {
	HostLimits(hosts []HostConcurrency)
}

// errCancelled is the error of work cut short by a cancelled sync.
var errCancelled = errors.New("cancelled")

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// urlHost returns the host of a Helm repository URL, for per-host limits.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}
