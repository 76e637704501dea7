//go:build fm_custom && !fm_azure

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() {
	omitted = append(omitted, app.OmittedProvider{Name: "azure", Tag: "fm_azure"}, app.OmittedProvider{Name: "acr", Tag: "fm_azure"})
}
