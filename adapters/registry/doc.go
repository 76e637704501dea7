// Package registry implements flux-mirror's registry port (mirror.Registry)
// on the OCI distribution API, with go-containerregistry's authentication:
// the /v2/ ping and scheme rules, Basic and token-endpoint challenges, and
// the Docker config keychain.
//
// Every port method sends exactly the requests the distribution spec
// needs (one HEAD to resolve a manifest, POST + PUT to upload a blob, ...),
// with no retries: the sync engine owns retries and reads RetryAfter from
// the *core.HTTPError every failed exchange becomes. Blobs are streamed in
// both directions and never buffered. Per-host settings (Host) choose the
// credential, TLS configuration and upload chunk size; a host's credential
// is never sent to another host, including on redirects.
//
// A request that moves no byte for Options.IdleTimeout fails with an
// *IdleError (retryable). Every error starts with the operation and its
// target ("push blob host/repo@digest: …") and names the registry host;
// callers add only what the adapter cannot know, such as the side of a
// copy. Failures no retry fixes are marked so for core/retry: 4xx answers
// (a *core.HTTPError), a registry that refuses writes
// (*WriteRefusedError, core.ErrDenied), pagination and redirect loops
// (core.ErrPaginationLoop, core.ErrRedirectLoop) and malformed Location
// headers (retry.Permanent). When the content given to PushBlob fails,
// the error wraps the reader's error, not a failed request.
package registry
