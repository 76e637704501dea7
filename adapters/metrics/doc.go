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
//
// The package uses the standard library only (and core's report): a dozen
// gauges do not need a metrics library, and prometheus/client_golang, with
// the packages it brings, cost flux-mirror about 1.4 MiB of resident
// memory for its package initialisation and code. It writes the text
// exposition format 0.0.4 as client_golang's registry does (families
// sorted by name, samples by label values, Prometheus float formatting and
// escaping), builds the Pushgateway URL as client_golang's push package
// does, and reads back only the one sample of a previous file it needs.
// The tests check the output with prometheus/common's strict parser and
// against a real Pushgateway, and fail if a Prometheus package enters the
// non-test build.
package metrics
