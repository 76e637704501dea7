//go:build !fm_custom || fm_gcp

package main

import "github.com/fluxcd/flux-mirror/providers/gcp"

// The gcp token provider (Google ID token) and the gar registry provider.
func init() { wire("fm_gcp", gcp.NewTokenFactory(), gcp.NewRegistryFactory()) }
