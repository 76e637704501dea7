//go:build fm_custom && !fm_azure

package main

import (
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
)

func init() {
	omit("fm_azure", app.Omitted{Name: "azure", Kind: auth.KindToken}, app.Omitted{Name: "acr", Kind: auth.KindRegistry})
}
