module github.com/fluxcd/flux-mirror/internal/testing/jwtgateway

go 1.26.0

replace (
	github.com/fluxcd/flux-mirror/adapters/hostauth => ../../../adapters/hostauth
	github.com/fluxcd/flux-mirror/core => ../../../core
)

require (
	github.com/fluxcd/flux-mirror/adapters/hostauth v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/go-jose/go-jose/v4 v4.1.9
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/spiffe/go-spiffe/v2 v2.9.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
