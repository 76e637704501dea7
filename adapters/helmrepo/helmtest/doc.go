// Package helmtest runs real, in-process classic Helm repositories for tests.
//
// A Server is an httptest server (plain HTTP, or HTTPS with its own test CA
// and optional client-certificate authentication) that serves an index.yaml
// and chart tarballs. Charts are packaged with Helm's own library
// (chartutil.Save) and the index is generated with repo.IndexDirectory, so
// what a client reads is what a real `helm package` + `helm repo index`
// publication serves. Hooks break the repository on purpose (a wrong digest,
// a missing tarball, an oversized or malformed index, chart URLs on another
// host) and every request is recorded, so tests can assert on what a client
// sent.
//
// The package is test support: it is importable by other modules' tests but
// must not be linked into a binary.
package helmtest
