//go:build fm_custom && !fm_github

package main

import (
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
)

func init() {
	omit("fm_github", app.Omitted{Name: "github", Kind: auth.KindToken}, app.Omitted{Name: "forgejo", Kind: auth.KindToken})
}
