//go:build fm_custom && !fm_gcp

package main

import (
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
)

func init() {
	omit("fm_gcp", app.Omitted{Name: "gcp", Kind: auth.KindToken}, app.Omitted{Name: "gar", Kind: auth.KindRegistry})
}
