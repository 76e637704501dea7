// Package bench is flux-mirror's sync benchmark harness. BenchmarkSync (in
// bench_test.go) starts two real registries on loopback (CNCF distribution
// in-process, filesystem storage), each behind a counting.Counter that
// counts requests per route kind and adds latency, seeds the source, and
// runs the real flux-mirror binary, crane and regctl against them,
// measuring wall time, requests per side, bytes moved and the child
// process's peak memory. See README.md.
//
// This package holds the pure parts: the request-count Contract the
// benchmark enforces on flux-mirror, the Config it gives flux-mirror, and the
// Markdown table of results.
package bench
