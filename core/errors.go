package core

import "errors"

// Sentinel errors that adapters wrap at their boundary, so that core and the
// CLI can classify failures with errors.Is without knowing any SDK.
var (
	// ErrNotFound reports that a manifest, blob, repository or chart does not
	// exist (an HTTP 404). It is the only error that means "missing".
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized reports missing or rejected credentials (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDenied reports that the credentials lack permission (HTTP 403).
	ErrDenied = errors.New("denied")
	// ErrDigestMismatch reports content whose digest differs from the one
	// that was announced for it.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrTooLarge reports content over a configured size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnsupported reports a request for a feature a component lacks.
	ErrUnsupported = errors.New("unsupported")
	// ErrProviderNotCompiled reports a provider that the running binary was
	// built without.
	ErrProviderNotCompiled = errors.New("provider not compiled in")
	// ErrRedirectLoop reports a server whose redirects did not end (an HTTP
	// client that stopped following them). Adapters wrap it so that the
	// failure is not retried.
	ErrRedirectLoop = errors.New("redirect loop")
	// ErrPaginationLoop reports a server whose pagination links (a tag list,
	// a referrers list) lead back to a page already read.
	ErrPaginationLoop = errors.New("pagination loop")
)
