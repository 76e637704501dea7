//go:build !fm_custom || fm_aws

package main

import "github.com/fluxcd/flux-mirror/providers/aws"

// The aws token provider (signed STS GetCallerIdentity) and the ecr registry provider.
func init() {
	tokenProviders = append(tokenProviders, aws.NewTokenFactory())
	registryProviders = append(registryProviders, aws.NewRegistryFactory())
}
