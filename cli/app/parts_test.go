package app

import (
	"github.com/fluxcd/flux-mirror/adapters/cosign"
	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/core/mirror"
)

// cosignVerifier is the verify part as the default build wires it
// (cmd/flux-mirror/part_verify.go).
func cosignVerifier(reg *registry.Client, o VerifyOptions) (mirror.Verifier, error) {
	return cosign.New(cosign.Options{Registry: reg, TrustedRootPath: o.TrustedRoot, Logger: o.Logger})
}
