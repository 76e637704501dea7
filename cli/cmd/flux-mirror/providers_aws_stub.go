//go:build fm_custom && !fm_aws

package main

import (
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
)

func init() {
	omit("fm_aws", app.Omitted{Name: "aws", Kind: auth.KindToken}, app.Omitted{Name: "ecr", Kind: auth.KindRegistry})
}
