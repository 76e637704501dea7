module github.com/fluxcd/flux-mirror/providers/gcp

go 1.26.0

require (
	cloud.google.com/go/auth v0.24.3
	cloud.google.com/go/compute/metadata v0.10.0
	github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000
)

require (
	github.com/googleapis/enterprise-certificate-proxy v0.3.24 // indirect
	github.com/googleapis/gax-go/v2 v2.27.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/api v0.311.0 // indirect
)

replace github.com/fluxcd/flux-mirror/core => ../../core
