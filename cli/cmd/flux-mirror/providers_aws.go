//go:build !fm_custom || fm_aws

package main

import "github.com/fluxcd/flux-mirror/providers/aws"

// The aws token provider (signed STS GetCallerIdentity) and the ecr registry provider.
func init() { wire("fm_aws", aws.NewTokenFactory(), aws.NewRegistryFactory()) }
