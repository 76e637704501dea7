//go:build fm_custom && !fm_github

package main

import "github.com/fluxcd/flux-mirror/cli/app"

func init() {
	omitted = append(omitted, app.OmittedProvider{Name: "github", Tag: "fm_github"}, app.OmittedProvider{Name: "forgejo", Tag: "fm_github"})
}
