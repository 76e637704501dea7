// Package shard assigns the work of one sync to the shards of a scaled-out
// run (a Kubernetes Indexed Job: N pods, each with its own index), without
// a coordinator: every shard computes the same assignment from the same
// inputs.
//
// The unit of work is a destination tag: a tag belongs to the shard
// sha256(repository ":" tag) mod N, so one big repository spreads over all
// shards, adding or removing a tag moves no other tag, and the result is the
// same on every Go version, machine and process (no maphash, no map order).
// Referrers and the referrers fallback tag of a subject follow the tag they
// hang from; a chart version is the tag it is stored under (ChartTag).
//
// The package is pure: no I/O, no clock, no randomness.
package shard
