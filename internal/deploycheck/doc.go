// Package deploycheck holds the tests of what the project ships to run
// flux-mirror: the Kubernetes manifests under deploy/kubernetes, decoded
// strictly with the Kubernetes API types, and the container image of
// `make image`, run the way the CronJob runs it. It is a test-only module;
// nothing links it.
package deploycheck
