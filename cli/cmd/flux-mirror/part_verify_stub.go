//go:build fm_custom && !fm_verify

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() { omit("fm_verify", app.Omitted{Name: "verify"}) }
