package metrics

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "flux_mirror"

// HostStats counts the requests of a run to one registry or Helm
// repository host.
type HostStats struct {
	// Requests is every HTTP request sent, retries included.
	Requests int64
	// Retries is the requests that repeated a failed one.
	Retries int64
	// Throttled is the 429 Too Many Requests answers.
	Throttled int64
}

// Run is what a sync leaves behind for its metrics.
type Run struct {
	// Report is the sync's report; required.
	Report *report.Report
	// BytesCopied is the blob and manifest bytes written to destinations.
	BytesCopied int64
	// Hosts are the request counts per host (may be nil).
	Hosts map[string]HostStats
	// Labels are constant labels added to every metric, such as the shard
	// of a sharded run (may be nil).
	Labels map[string]string
}

// Succeeded reports whether the run counts as a success for the
// last-success timestamp: nothing failed (drift is not a failure).
func (r Run) Succeeded() bool {
	return r.Report.Report.Summary.Failed == 0
}

// finished returns when the run ended.
func (r Run) finished() time.Time {
	b := r.Report.Report
	return b.Timestamp.Add(time.Duration(b.DurationMs) * time.Millisecond)
}

// lastSuccessName is the one metric a failed run leaves untouched.
var lastSuccessName = Namespace + "_last_success_timestamp_seconds"

// Registry returns a registry holding the run's metrics. When the run
// failed it holds no last-success metric, unless lastSuccess is non-zero:
// then that earlier success time is kept.
func Registry(run Run, lastSuccess time.Time) (*prometheus.Registry, error) {
	if run.Report == nil {
		return nil, fmt.Errorf("metrics of a run without a report")
	}
	reg := prometheus.NewPedanticRegistry()
	r := prometheus.WrapRegistererWith(prometheus.Labels(run.Labels), reg)
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
		r.MustRegister(g)
		return g
	}
	vec := func(name, help string, label string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, []string{label})
		r.MustRegister(g)
		return g
	}
	b := run.Report.Report
	s := b.Summary

	tags := vec("tags", "Tags of the last run by outcome.", "outcome")
	counts := map[report.Status]int{
		report.StatusCopied: s.Copied, report.StatusOverwritten: s.Overwritten, report.StatusSkipped: s.Skipped,
		report.StatusDrifted: s.Drifted, report.StatusWouldCopy: s.WouldCopy, report.StatusWouldOverwrite: s.WouldOverwrite,
	}
	failedTags := 0
	entries := vec("entries", "Config entries of the last run by status.", "status")
	entryCounts := map[report.EntryStatus]int{}
	for _, res := range b.Results {
		entryCounts[res.Status]++
		for _, t := range res.Tags {
			if t.Status == report.StatusFailed {
				failedTags++
			}
		}
	}
	counts[report.StatusFailed] = failedTags
	for _, st := range report.Statuses {
		tags.WithLabelValues(string(st)).Set(float64(counts[st]))
	}
	for _, st := range report.EntryStatuses {
		entries.WithLabelValues(string(st)).Set(float64(entryCounts[st]))
	}
	gauge("bytes_copied", "Bytes written to destinations by the last run.").Set(float64(run.BytesCopied))
	gauge("duration_seconds", "Wall time of the last run.").Set(float64(b.DurationMs) / 1000)
	gauge("exit_code", "Semantic exit code of the last run: 0 ok, 1 failure, 2 drift.").Set(float64(s.ExitCode))
	gauge("last_run_timestamp_seconds", "When the last run finished, in Unix seconds.").Set(unix(run.finished()))
	switch {
	case run.Succeeded():
		gauge("last_success_timestamp_seconds", "When the last run without a failure finished, in Unix seconds.").Set(unix(run.finished()))
	case !lastSuccess.IsZero():
		gauge("last_success_timestamp_seconds", "When the last run without a failure finished, in Unix seconds.").Set(unix(lastSuccess))
	}

	requests := vec("requests", "HTTP requests of the last run per host, retries included.", "host")
	retries := vec("retries", "Retried requests of the last run per host.", "host")
	throttled := vec("throttled", "429 Too Many Requests answers of the last run per host.", "host")
	for _, host := range slices.Sorted(maps.Keys(run.Hosts)) {
		h := run.Hosts[host]
		requests.WithLabelValues(host).Set(float64(h.Requests))
		retries.WithLabelValues(host).Set(float64(h.Retries))
		throttled.WithLabelValues(host).Set(float64(h.Throttled))
	}
	return reg, nil
}

func unix(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
