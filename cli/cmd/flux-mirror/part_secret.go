//go:build !fm_custom || fm_secret

package main

import "github.com/fluxcd/flux-mirror/adapters/kubesecret"

// The secret command's backend: kubectl's connection flags and the Secrets
// API (client-go's REST client).
func init() {
	built = append(built, "fm_secret")
	secret = kubesecret.Writer{}
}
