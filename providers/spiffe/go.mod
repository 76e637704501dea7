module github.com/fluxcd/flux-mirror/providers/spiffe

go 1.26.0

require (
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/spiffe/go-spiffe/v2 v2.9.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/Microsoft/go-winio v0.6.2 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/fluxcd/flux-mirror/adapters/hostauth => ../../adapters/hostauth
	github.com/fluxcd/flux-mirror/core => ../../core
)

replace github.com/fluxcd/flux-mirror/internal/testing/jwtgateway => ../../internal/testing/jwtgateway
