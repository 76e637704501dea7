module github.com/fluxcd/flux-mirror/providers/github

go 1.26.0

require github.com/fluxcd/flux-mirror/core v0.0.0-00010101000000-000000000000

replace github.com/fluxcd/flux-mirror/core => ../../core
