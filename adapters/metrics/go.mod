module github.com/fluxcd/flux-mirror/adapters/metrics

go 1.26.0

require (
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_model v0.6.3
	github.com/prometheus/common v0.72.0
)

require go.yaml.in/yaml/v3 v3.0.6 // indirect

require (
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/fluxcd/flux-mirror/core => ../../core
