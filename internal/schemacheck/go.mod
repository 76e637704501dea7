module github.com/fluxcd/flux-mirror/internal/schemacheck

go 1.26.0

replace (
	github.com/fluxcd/flux-mirror/adapters/configfile => ../../adapters/configfile
	github.com/fluxcd/flux-mirror/core => ../../core
)

require (
	github.com/fluxcd/flux-mirror/adapters/configfile v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	go.yaml.in/yaml/v2 v2.4.4 // indirect
	golang.org/x/text v0.43.0 // indirect
)
