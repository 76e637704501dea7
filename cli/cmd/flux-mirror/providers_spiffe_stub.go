//go:build fm_custom && !fm_spiffe

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() {
	omitted = append(omitted, app.OmittedProvider{Name: "jwt-svid", Tag: "fm_spiffe"}, app.OmittedProvider{Name: "spiffe", Tag: "fm_spiffe"})
}
