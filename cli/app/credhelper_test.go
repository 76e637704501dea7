package app

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// credentialHelper builds the docker-credential-fmtest helper (a real
// docker-credential-helpers program keeping its store in $FMTEST_STORE),
// puts it on PATH and returns its store file.
func credentialHelper(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "docker-credential-fmtest"),
		"github.com/fluxcd/flux-mirror/adapters/dockerconfig/internal/docker-credential-fmtest").CombinedOutput()
	if err != nil {
		t.Fatalf("build the credential helper: %v\n%s", err, out)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	store := filepath.Join(t.TempDir(), "store.json")
	t.Setenv("FMTEST_STORE", store)
	t.Setenv("FMTEST_FAIL", "")
	return store
}

func TestCredentialHelperPaths(t *testing.T) {
	store := credentialHelper(t)
	src := registrytest.NewDistribution(t, registrytest.WithHtpasswd("robot", "helper-secret-3"))
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)

	t.Run("login stores through credsStore", func(t *testing.T) {
		docker := t.TempDir()
		writeFile(t, docker, "config.json", `{"credsStore":"fmtest","proxies":{"default":{"httpProxy":"http://proxy.example:3128"}}}`)
		hosts := writeFile(t, t.TempDir(), "hosts.yaml", hostsHeader()+fmt.Sprintf("hosts:\n  - host: %s\n    username: robot\n    credential:\n      value: helper-secret-3\n", src.Host()))
		res := run(t, runOpts{}, "login", "-f", hosts, "--docker-config", docker)
		if res.code != 0 || !strings.Contains(res.stdout, `✔ stored credential for `+src.Host()+` via the "fmtest" credential helper`) {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		b, err := os.ReadFile(store)
		if err != nil {
			t.Fatal(err)
		}
		var entries map[string]struct{ Username, Secret string }
		if err := json.Unmarshal(b, &entries); err != nil {
			t.Fatal(err)
		}
		if e := entries[src.Host()]; e.Username != "robot" || e.Secret != "helper-secret-3" {
			t.Errorf("helper store %v", entries)
		}
		cf, _ := os.ReadFile(filepath.Join(docker, "config.json"))
		if strings.Contains(string(cf), "helper-secret-3") || !strings.Contains(string(cf), "proxy.example") {
			t.Errorf("config.json must keep its content and hold no secret:\n%s", cf)
		}
	})

	t.Run("sync falls back to credHelpers", func(t *testing.T) {
		docker := t.TempDir()
		writeFile(t, docker, "config.json", fmt.Sprintf(`{"credHelpers":{%q:"fmtest"}}`, src.Host()))
		cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))
		rep, res := syncReport(t, runOpts{env: map[string]string{"DOCKER_CONFIG": docker}}, cfg)
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
			t.Fatalf("exit %d %v\n%s", res.code, statuses(rep, 0), res.stdout)
		}
	})

	t.Run("a failing helper is a clear error", func(t *testing.T) {
		t.Setenv("FMTEST_FAIL", "keychain is locked")
		docker := t.TempDir()
		writeFile(t, docker, "config.json", fmt.Sprintf(`{"credHelpers":{%q:"fmtest"}}`, src.Host()))
		cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app2", "      semver: \"*\"\n")))
		res := run(t, runOpts{env: map[string]string{"DOCKER_CONFIG": docker}}, "sync", cfg)
		if res.code != 1 || !strings.Contains(res.stdout, "plan failed") || !strings.Contains(res.stdout, "keychain is locked") || !strings.Contains(res.stdout, "credHelpers") {
			t.Fatalf("want a plan failure naming the helper's error and the fix: exit %d\n%s", res.code, res.stdout)
		}
		if strings.Contains(res.stdout, "attempts") {
			t.Errorf("a failing credential helper must not be retried:\n%s", res.stdout)
		}
	})
}
