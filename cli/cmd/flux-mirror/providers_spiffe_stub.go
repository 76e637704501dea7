//go:build fm_custom && !fm_spiffe

package main

import (
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
)

func init() {
	omit("fm_spiffe", app.Omitted{Name: "jwt-svid", Kind: auth.KindToken}, app.Omitted{Name: "x509-svid", Kind: auth.KindTLS})
}
