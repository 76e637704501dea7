// Package mirror is flux-mirror's sync engine: it plans the tags of every
// configured entry, compares them with the destination, and runs the copy
// jobs of all entries on one bounded worker pool, with retries and a time
// budget per job. It talks to registries, Helm repositories and signature
// verifiers only through the ports declared in ports.go.
//
// # Use
//
//	e := mirror.New(reg, mirror.Options{Concurrency: 4, Retries: mirror.DefaultRetries}, mirror.Deps{Charts: charts, Verifier: v})
//	rep := e.Run(ctx, cfg.MirrorInput()) // a *report.Report, never nil; cfg a validated *config.Config
//
// # Planning
//
// Per artifacts entry: list the source tags, select them (package
// selection), then resolve each selected tag. An entry without verify or
// includeReferrers resolves against the destination: where the destination
// has the tag, one manifest HEAD on each side decides; where it lacks it,
// the source manifest is read with one GET, whose bytes the copy puts (a
// destination that answers 404 to its first tags is listed once instead of
// HEADed per tag, see destindex.go). Otherwise the tag is resolved with one
// HEAD; when verify is set, its digest is verified (a tag that fails fails
// the planning of the whole entry, so nothing of it is copied; a valid
// signature younger than verify.minAge makes the tag skipped with reason
// signature-too-new); when includeReferrers is set, its referrers are
// snapshotted (see referrers.go). Per charts entry: read the index and
// select versions. A planning error fails that entry only, reported once;
// the jobs of an entry start when all its tags are resolved.
//
// # Jobs
//
// Every selected tag is a job. Planning and jobs run on separate workers,
// so planning never waits for copies. What bounds them is each host's
// adaptive request limit (aimd.go, limiter.go: it starts at
// InitialPerHost, grows while the host answers fast, halves on 429/503 or
// a steep latency rise, pauses for Retry-After, never exceeds
// Options.MaxPerHost, and keeps at most MaxBlobsPerHost of its slots for
// blob transfers) and, for blobs over 256 KiB, Options.Concurrency jobs'
// worth of streams (4 per job). Options.PerHostConcurrency, when set, also
// caps the jobs per host. A job compares the destination tag with the
// planned digest (only core.ErrNotFound means missing) and copies,
// overwrites, or leaves a drifted tag alone. A copy uses the manifest
// planning read, or fetches it by tag and refuses it if the tag moved
// since planning, copies child manifests and blobs first (a blob is
// checked with one HEAD, mounted when source and destination share a host
// or when the run already put it in another repository of the destination
// registry, else streamed through a reader that verifies its size and
// digest, its source GET sent beside the upload's POST), and writes the tag
// last, with the manifest bytes exactly as fetched.
//
// A manifest nested under more than MaxIndexDepth indexes fails its tag.
//
// # Failures
//
// Retries work at two levels, for temporary failures only (see
// retry.Retryable, the one classifier). Each request (a tag list, a
// manifest HEAD, GET or PUT, a blob check or mount, one blob transfer:
// source read and destination upload as a unit) is retried on its own with
// backoff for up to Options.RetryWindow, enough to ride out a registry
// restart; then the whole job is retried up to Options.Retries times, all
// within Options.Timeout. A job keeps its progress across attempts (a tag
// whose PUT was sent is reported copied even if only a retry saw it land),
// and the run remembers every blob and manifest known present at a
// destination, so a retry does not redo finished uploads, and a blob shared
// by several jobs is checked and uploaded once per run even when the jobs
// run at the same time.
//
// A host whose request fails for its whole retry window while nothing else
// on it answers, or whose name does not resolve, is unreachable for the
// rest of the run: its remaining work fails at once with a short
// *UnreachableError, retries waiting on it give up, the other hosts go on,
// and the run reports the host once (UnreachableObserver, the log).
// Transfer failures name their side (*TransferError), and every error
// context is wrapped once.
//
// # Results
//
// The Report lists entries in config order (artifacts, then charts) and
// tags in plan order, whatever order the jobs finish in. When ctx is
// cancelled, no new task starts, requests in flight are cancelled, and
// everything unfinished is reported failed with "cancelled". Options.Observer
// hears about progress as it happens; Options.Logger gets a structured log
// of every blob, manifest, retry, drift and fallback-tag update.
package mirror
