// Package metrics turns the outcome of a sync into Prometheus metrics for
// batch jobs: written in the node exporter's textfile format for a
// collector to pick up, or pushed to a Pushgateway, the usual home of a
// CronJob's metrics.
//
// Every metric describes the last run, so they are gauges. The exception
// that makes "the mirror is stale" alerts possible is
// flux_mirror_last_success_timestamp_seconds: a failed run does not reset
// it, in the textfile (the previous value is carried over) and on the
// Pushgateway (the push leaves it out, and a push replaces only the metric
// families it carries).
package metrics
