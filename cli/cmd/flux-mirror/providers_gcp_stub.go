//go:build fm_custom && !fm_gcp

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() {
	omitted = append(omitted, app.OmittedProvider{Name: "gcp", Tag: "fm_gcp"}, app.OmittedProvider{Name: "gar", Tag: "fm_gcp"})
}
