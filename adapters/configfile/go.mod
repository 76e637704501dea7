module github.com/fluxcd/flux-mirror/adapters/configfile

go 1.26.0

require (
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	go.yaml.in/yaml/v2 v2.4.2
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	golang.org/x/text v0.14.0 // indirect
)

replace github.com/fluxcd/flux-mirror/core => ../../core
