// Package core holds the sentinel errors shared by flux-mirror's domain packages.
//
// The core module is flux-mirror's domain: configuration types and validation
// (package config), tag selection (selection), OCI value types (oci), the sync
// engine and its ports (mirror), credential ports (auth), the report (report)
// and retry policy (retry). It depends on the standard library and
// github.com/Masterminds/semver/v3 only; adapters and providers implement its
// ports in their own modules.
package core
