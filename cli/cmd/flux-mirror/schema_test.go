package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

var update = flag.Bool("update", false, "rewrite the repository's "+config.SchemaFile+" and "+config.SchemaFileV1Beta2+" from the Go types and this build's providers")

// schemaProviders are the provider names the published schema lists: those
// this build compiled in and those it left out, which together are the
// default build's in every build.
func schemaProviders() config.ProviderNames {
	var names config.ProviderNames
	add := func(k auth.Kind, name string) {
		switch k {
		case auth.KindToken:
			names.Token = append(names.Token, name)
		case auth.KindRegistry:
			names.Registry = append(names.Registry, name)
		case auth.KindTLS:
			names.TLS = append(names.TLS, name)
		}
	}
	for _, f := range providers {
		add(f.ProviderKind(), f.ProviderName())
	}
	for _, o := range omitted {
		add(o.Kind, o.Name)
	}
	return names
}

// TestSchemaFile fails when a committed schema (config-v1beta1.json,
// config-v1beta2.json) differs from the one the Go types and the default
// build's providers generate. Run `go generate ./cli/cmd/flux-mirror` (this
// test with -update) to rewrite them.
func TestSchemaFile(t *testing.T) {
	for _, tt := range []struct {
		file   string
		schema func(config.ProviderNames) []byte
	}{
		{config.SchemaFile, config.Schema},
		{config.SchemaFileV1Beta2, config.SchemaV1Beta2},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "..", tt.file)
			got := tt.schema(schemaProviders())
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read the published schema: %v (run go generate ./cli/cmd/flux-mirror)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is stale: run go generate ./cli/cmd/flux-mirror to regenerate it from the Go types and the default build's providers", path)
			}
		})
	}
}
