module github.com/fluxcd/flux-mirror/internal/testing/spiffehostauth

go 1.26.0

require (
	github.com/fluxcd/flux-mirror/adapters/hostauth v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/internal/testing/jwtgateway v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/providers/spiffe v0.0.0-00010101000000-000000000000
	github.com/spiffe/go-spiffe/v2 v2.9.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/Microsoft/go-winio v0.6.2 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/fluxcd/flux-mirror/adapters/hostauth => ../../../adapters/hostauth
	github.com/fluxcd/flux-mirror/core => ../../../core
	github.com/fluxcd/flux-mirror/internal/testing/jwtgateway => ../jwtgateway
	github.com/fluxcd/flux-mirror/providers/spiffe => ../../../providers/spiffe
)
