//go:build !fm_custom || fm_github

package main

import "github.com/fluxcd/flux-mirror/providers/github"

// The github and forgejo token providers (Actions OIDC).
func init() { wire("fm_github", github.NewFactory(), github.NewForgejoFactory()) }
