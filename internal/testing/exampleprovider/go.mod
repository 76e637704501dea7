module github.com/fluxcd/flux-mirror/internal/testing/exampleprovider

go 1.26.0

replace (
	github.com/fluxcd/flux-mirror/adapters/configfile => ../../../adapters/configfile
	github.com/fluxcd/flux-mirror/adapters/cosign => ../../../adapters/cosign
	github.com/fluxcd/flux-mirror/adapters/dockerconfig => ../../../adapters/dockerconfig
	github.com/fluxcd/flux-mirror/adapters/helmrepo => ../../../adapters/helmrepo
	github.com/fluxcd/flux-mirror/adapters/hostauth => ../../../adapters/hostauth
	github.com/fluxcd/flux-mirror/adapters/kubesecret => ../../../adapters/kubesecret
	github.com/fluxcd/flux-mirror/adapters/metrics => ../../../adapters/metrics
	github.com/fluxcd/flux-mirror/adapters/registry => ../../../adapters/registry
	github.com/fluxcd/flux-mirror/cli => ../../../cli
	github.com/fluxcd/flux-mirror/core => ../../../core
	github.com/fluxcd/flux-mirror/providers/aws => ../../../providers/aws
	github.com/fluxcd/flux-mirror/providers/azure => ../../../providers/azure
	github.com/fluxcd/flux-mirror/providers/gcp => ../../../providers/gcp
	github.com/fluxcd/flux-mirror/providers/github => ../../../providers/github
	github.com/fluxcd/flux-mirror/providers/spiffe => ../../../providers/spiffe
)

require (
	github.com/fluxcd/flux-mirror/cli v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
	github.com/fluxcd/flux-mirror/providers/github v0.0.0-00010101000000-000000000000
)

require (
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/alecthomas/kong v1.17.0 // indirect
	github.com/docker/cli v29.9.3+incompatible // indirect
	github.com/docker/docker-credential-helpers v0.9.5 // indirect
	github.com/fluxcd/flux-mirror/adapters/configfile v0.0.0-00010101000000-000000000000 // indirect
	github.com/fluxcd/flux-mirror/adapters/dockerconfig v0.0.0-00010101000000-000000000000 // indirect
	github.com/fluxcd/flux-mirror/adapters/helmrepo v0.0.0-00010101000000-000000000000 // indirect
	github.com/fluxcd/flux-mirror/adapters/hostauth v0.0.0-00010101000000-000000000000 // indirect
	github.com/fluxcd/flux-mirror/adapters/kubesecret v0.0.0-00010101000000-000000000000 // indirect
	github.com/fluxcd/flux-mirror/adapters/metrics v0.0.0-00010101000000-000000000000 // indirect
	github.com/fluxcd/flux-mirror/adapters/registry v0.0.0-00010101000000-000000000000 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/google/go-containerregistry v0.22.1 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/sirupsen/logrus v1.10.2 // indirect
	github.com/spiffe/go-spiffe/v2 v2.9.0 // indirect
	go.yaml.in/yaml/v2 v2.4.4 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.49.0 // indirect
	helm.sh/helm/v3 v3.22.0 // indirect
	sigs.k8s.io/yaml v1.6.0 // indirect
)

replace github.com/fluxcd/flux-mirror/internal/testing/jwtgateway => ../jwtgateway
