package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// providerModules are the modules, and the SDKs they pull in, that each
// build tag adds to the binary.
var providerModules = map[string][]string{
	"fm_github": {"github.com/fluxcd/flux-mirror/providers/github"},
	"fm_aws":    {"github.com/fluxcd/flux-mirror/providers/aws", "github.com/aws/aws-sdk-go-v2"},
	"fm_azure":  {"github.com/fluxcd/flux-mirror/providers/azure", "github.com/Azure/azure-sdk-for-go/sdk/azidentity"},
	"fm_gcp":    {"github.com/fluxcd/flux-mirror/providers/gcp", "cloud.google.com/go/auth"},
	"fm_spiffe": {"github.com/fluxcd/flux-mirror/providers/spiffe"},
}

// TestSlimBuilds builds binaries with a subset of the providers and proves,
// from the module list the Go toolchain embeds (go version -m), that a
// left-out provider's module and SDK are not linked in; the binary also
// names what it omits and explains how to bring it back.
func TestSlimBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries; skipped with -short")
	}
	tests := []struct {
		tags     []string
		provides []string
		omits    []string
	}{
		{tags: []string{"fm_custom", "fm_github"}, provides: []string{"github", "forgejo"}, omits: []string{"aws", "ecr", "gcp", "gar", "azure", "acr", "jwt-svid"}},
		{tags: []string{"fm_custom", "fm_aws"}, provides: []string{"aws", "ecr"}, omits: []string{"github", "gcp", "azure", "jwt-svid"}},
		{tags: []string{"fm_custom"}, omits: []string{"github", "aws", "gcp", "azure", "jwt-svid"}},
	}
	for _, tt := range tests {
		name := strings.Join(tt.tags, ",")
		t.Run(name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "flux-mirror")
			if out, err := exec.Command("go", "build", "-tags", name, "-o", bin, ".").CombinedOutput(); err != nil {
				t.Fatalf("go build -tags %s: %v\n%s", name, err, out)
			}
			mods, err := exec.Command("go", "version", "-m", bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			for tag, modules := range providerModules {
				included := false
				for _, tg := range tt.tags {
					included = included || tg == tag
				}
				for _, m := range modules {
					if has := strings.Contains(string(mods), "\t"+m+"\t"); has != included {
						t.Errorf("%s: module %s linked in = %v, want %v", name, m, has, included)
					}
				}
			}
			out, err := exec.Command(bin, "version").Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.provides {
				if !strings.Contains(string(out), p) {
					t.Errorf("version does not list %s:\n%s", p, out)
				}
			}
			omitted := ""
			if _, rest, ok := strings.Cut(string(out), "omitted: "); ok {
				omitted = rest
			}
			for _, p := range tt.omits {
				if !strings.Contains(omitted, p) {
					t.Errorf("version does not list %s as omitted:\n%s", p, out)
				}
			}
			if fi, err := os.Stat(bin); err == nil {
				t.Logf("%s: %.1f MB", name, float64(fi.Size())/1e6)
			}
		})
	}
}

// TestLeftOutProviderError runs a slim binary on a config that names a
// provider it was built without.
func TestLeftOutProviderError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "flux-mirror")
	if out, err := exec.Command("go", "build", "-tags", "fm_custom,fm_github", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n  - host: r.example.com\n    credential:\n      provider: gcp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "validate", "--hosts-only", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("validate passed a config naming a left-out provider:\n%s", out)
	}
	for _, want := range []string{`credential.provider: "gcp" is not compiled into this flux-mirror binary`, "go build -tags fm_custom,fm_github,fm_gcp"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
