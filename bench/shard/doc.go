// Package shard tests and measures a sync split over several processes of
// the flux-mirror binary (sync --shard I/N, --shards N with
// $JOB_COMPLETION_INDEX, as the pods of a Kubernetes Indexed Job run it)
// against real registries on loopback: the shards' union equals an
// unsharded run byte for byte, each destination tag is written by one
// manifest PUT, a shard killed mid-copy leaves its tags absent or complete
// and a re-run of its index completes them, and report merge combines the
// shards' reports. BenchmarkShardedSync records how a 1,000-tag sync
// scales with 1, 2 and 4 shards (bench/README.md).
//
// The package holds only tests; it builds the binary once (or uses
// $FLUX_MIRROR_BIN).
package shard
