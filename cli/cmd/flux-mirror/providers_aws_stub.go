//go:build fm_custom && !fm_aws

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() {
	omitted = append(omitted, app.OmittedProvider{Name: "aws", Tag: "fm_aws"}, app.OmittedProvider{Name: "ecr", Tag: "fm_aws"})
}
