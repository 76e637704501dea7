package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// tagModules are the modules, and the SDKs they pull in, that each build
// tag adds to the binary: a provider family or an optional part.
var tagModules = map[string][]string{
	"fm_github": {"github.com/fluxcd/flux-mirror/providers/github"},
	"fm_aws":    {"github.com/fluxcd/flux-mirror/providers/aws", "github.com/aws/aws-sdk-go-v2"},
	"fm_azure":  {"github.com/fluxcd/flux-mirror/providers/azure", "github.com/Azure/azure-sdk-for-go/sdk/azidentity"},
	"fm_gcp":    {"github.com/fluxcd/flux-mirror/providers/gcp", "cloud.google.com/go/auth"},
	"fm_spiffe": {"github.com/fluxcd/flux-mirror/providers/spiffe"},
	"fm_secret": {"k8s.io/client-go", "k8s.io/api"},
	"fm_verify": {"github.com/fluxcd/flux-mirror/adapters/cosign", "github.com/sigstore/sigstore-go"},
}

// Size targets of issue 12 ("Slim means slim"), for builds made as
// `make build` makes them (-trimpath -ldflags "-s -w").
const (
	slimMax    = 16e6 // no optional part, or GitHub only
	defaultMax = 46e6 // 15% under the 54.1 MB of the default build before
)

// buildSlim builds flux-mirror with tags ("" is the default build) as make
// build does, and returns its path.
func buildSlim(t *testing.T, tags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flux-mirror")
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", bin}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %q: %v\n%s", tags, err, out)
	}
	return bin
}

// TestSlimBuilds builds binaries with a subset of the providers and parts
// and proves, from the module list the Go toolchain embeds (go version -m),
// that what was left out is not linked in; the binary names what it has
// and what it omits, and stays under its size target.
func TestSlimBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries; skipped with -short")
	}
	all := slices.Sorted(func(yield func(string) bool) {
		for tag := range tagModules {
			if !yield(tag) {
				return
			}
		}
	})
	tests := []struct {
		tags     []string // nil: the default build
		provides []string
		parts    string
		omits    []string
		maxSize  float64
	}{
		{tags: []string{"fm_custom"}, omits: []string{"github", "aws", "gcp", "azure", "jwt-svid", "x509-svid", "secret", "verify"}, maxSize: slimMax},
		{tags: []string{"fm_custom", "fm_github"}, provides: []string{"github", "forgejo"}, omits: []string{"aws", "ecr", "gcp", "gar", "azure", "acr", "jwt-svid", "secret", "verify"}, maxSize: slimMax},
		{tags: []string{"fm_custom", "fm_aws", "fm_secret"}, provides: []string{"aws", "ecr"}, parts: "secret", omits: []string{"github", "gcp", "azure", "jwt-svid", "verify"}},
		{provides: []string{"github", "forgejo", "aws", "ecr", "gcp", "gar", "azure", "acr", "jwt-svid", "x509-svid"}, parts: "secret, verify", maxSize: defaultMax},
	}
	for _, tt := range tests {
		name := strings.Join(tt.tags, ",")
		if tt.tags == nil {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			bin := buildSlim(t, strings.Join(tt.tags, ","))
			mods, err := exec.Command("go", "version", "-m", bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range all {
				included := tt.tags == nil || slices.Contains(tt.tags, tag)
				for _, m := range tagModules[tag] {
					if has := strings.Contains(string(mods), "\t"+m+"\t"); has != included {
						t.Errorf("%s: module %s linked in = %v, want %v", name, m, has, included)
					}
				}
			}
			out, err := exec.Command(bin, "version").Output()
			if err != nil {
				t.Fatal(err)
			}
			text := string(out)
			providers, _, _ := strings.Cut(text[strings.Index(text, "providers: "):], "\n")
			for _, p := range tt.provides {
				if !strings.Contains(providers, p) {
					t.Errorf("version does not list %s:\n%s", p, out)
				}
			}
			if !strings.Contains(text, "\nparts: "+tt.parts+"\n") {
				t.Errorf("version does not list the parts %q:\n%s", tt.parts, out)
			}
			omitted := ""
			if _, rest, ok := strings.Cut(text, "omitted: "); ok {
				omitted = rest
			}
			for _, p := range tt.omits {
				if !strings.Contains(omitted, p) {
					t.Errorf("version does not list %s as omitted:\n%s", p, out)
				}
			}
			fi, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			size := float64(fi.Size())
			t.Logf("%s: %.1f MB", name, size/1e6)
			if tt.maxSize > 0 && size > tt.maxSize {
				t.Errorf("%s is %.1f MB, over its %.0f MB target: check what grew with go version -m and go tool nm -size -sort size", name, size/1e6, tt.maxSize/1e6)
			}
		})
	}
}

// TestLeftOutError runs a slim binary on what needs a provider or a part
// it was built without: each fails with the build command that brings it
// back, keeping what the binary has.
func TestLeftOutError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	bin := buildSlim(t, "fm_custom,fm_github")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n"+content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gcp := write("gcp.yaml", "hosts:\n  - host: r.example.com\n    credential:\n      provider: gcp\n")
	verify := write("verify.yaml", "artifacts:\n  - source: ghcr.io/org/app\n    destination: quay.io/org/app\n    selector: {semver: \"*\"}\n    verify:\n      provider: cosign\n      matchOIDCIdentity:\n        - {issuer: https://token.actions.githubusercontent.com, subject: .*}\n")
	hosts := write("hosts.yaml", "hosts:\n  - host: r.example.com\n    credential: {value: tok}\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"provider", []string{"validate", "--hosts-only", gcp}, []string{`credential.provider: "gcp" is not compiled into this flux-mirror binary`, "go build -tags fm_custom,fm_github,fm_gcp "}},
		{"verify", []string{"validate", verify}, []string{`artifacts[0].verify: signature verification (the verify part) is not compiled into this flux-mirror binary`, "go build -tags fm_custom,fm_github,fm_verify "}},
		{"secret", []string{"secret", "creds", "-f", hosts, "--export"}, []string{"the secret command (the secret part) is not compiled into this flux-mirror binary", "go build -tags fm_custom,fm_github,fm_secret "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(bin, tt.args...).CombinedOutput()
			if err == nil {
				t.Fatalf("%v passed in a binary without it:\n%s", tt.args, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestSlimSync proves that a binary with no provider and no optional part
// still does the main job: a real sync between two registries, then a
// no-op re-run.
func TestSlimSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	bin := buildSlim(t, "fm_custom")
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 2, 1024)
	src.PushRandomImage(t, src.Host()+"/app:1.1.0", 2, 1024)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	content := fmt.Sprintf("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nartifacts:\n  - source: %s/app\n    destination: %s/mirror/app\n    selector: {semver: \"*\", limit: 0}\n", src.Host(), dst.Host())
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Summary: 2 copied", "Summary: 2 skipped"} {
		cmd := exec.Command(bin, "sync", cfg, "--insecure", "--no-progress")
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("sync: %v, want %q:\n%s", err, want, out)
		}
	}
}
