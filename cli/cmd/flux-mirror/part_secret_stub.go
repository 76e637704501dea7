//go:build fm_custom && !fm_secret

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() { omit("fm_secret", app.Omitted{Name: "secret"}) }
