// Package registrytest runs real OCI registries on 127.0.0.1 for tests:
// CNCF distribution v3 in-process (NewDistribution) and
// go-containerregistry's registry (NewOCI), with options for storage,
// htpasswd and token authentication, TLS and mutual TLS, and middleware
// that counts requests or injects faults (Recorder, Fault). Seed helpers
// push images, indexes, artifacts and referrers with go-containerregistry
// and read content back.
//
//	src := registrytest.NewDistribution(t, registrytest.WithHtpasswd("alice", "pw"))
//	dgst := src.PushRandomImage(t, "app:1.0", 2, 1024)
//	// ... run the code under test against src.Host() ...
//	if got := src.Digest(t, "app:1.0"); got != dgst { ... }
//
// The package is test support: it fails the test (t.Fatal) on any setup
// error, and every server stops when its test ends.
package registrytest
