//go:build !fm_custom || fm_azure

package main

import "github.com/fluxcd/flux-mirror/providers/azure"

// The azure token provider (Entra ID access token) and the acr registry provider.
func init() { wire("fm_azure", azure.NewTokenFactory(), azure.NewRegistryFactory()) }
