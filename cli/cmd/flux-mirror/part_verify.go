//go:build !fm_custom || fm_verify

package main

import (
	"github.com/fluxcd/flux-mirror/adapters/cosign"
	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/mirror"
)

// Cosign keyless signature verification of verify: entries (sigstore-go).
func init() {
	built = append(built, "fm_verify")
	verify = func(reg *registry.Client, o app.VerifyOptions) (mirror.Verifier, error) {
		return cosign.New(cosign.Options{Registry: reg, TrustedRootPath: o.TrustedRoot, Logger: o.Logger})
	}
}
