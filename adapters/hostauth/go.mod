module github.com/fluxcd/flux-mirror/adapters/hostauth

go 1.26.0

require (
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/spiffe/go-spiffe/v2 v2.9.0
)

require github.com/Masterminds/semver/v3 v3.5.0 // indirect

replace github.com/fluxcd/flux-mirror/core => ../../core
