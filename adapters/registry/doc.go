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
package registry
