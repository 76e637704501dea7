// Package helmindex benchmarks the memory that reading a Helm repository
// index takes: a generated 64 MiB index, served by a real HTTP server, is
// read by helmrepo in a child process whose peak resident set size is
// reported, and must stay under 128 MiB. Hostile indexes (an alias bomb,
// an oversized and an endless stream) must be refused within the same
// bound. See bench/README.md.
package helmindex
