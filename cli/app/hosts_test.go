package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/internal/testing/jwtgateway"
)

func hostsHeader() string { return "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n" }

// dockerAuths reads the auths of a Docker config.json.
func dockerAuths(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	return cf.Auths
}

func TestLoginThenSyncThroughDockerConfig(t *testing.T) {
	src := registrytest.NewDistribution(t, registrytest.WithHtpasswd("robot", "robot-secret-1"))
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)
	dir := t.TempDir()
	hosts := writeFile(t, dir, "hosts.yaml", hostsHeader()+fmt.Sprintf(`hosts:
  - host: %s
    username: robot
    credential:
      fromPath: ./robot.token
  - host: bearer.example.com
    credential:
      value: ${BEARER_TOKEN}
  - host: tls-only.example.com
    maxChunkSize: 512
`, src.Host()))
	writeFile(t, dir, "robot.token", "robot-secret-1\n")
	docker := t.TempDir()
	env := map[string]string{"BEARER_TOKEN": "eyJhbGciOiJFZERTQSJ9.e30.c2ln", "PATH": ""}

	res := run(t, runOpts{env: env}, "login", "-f", hosts, "--docker-config", docker, "--plaintext")
	if res.code != 0 {
		t.Fatalf("login exit %d: %s", res.code, res.stderr)
	}
	cfgPath := filepath.Join(docker, "config.json")
	for _, want := range []string{
		"✔ stored credential for " + src.Host() + " in " + cfgPath,
		"✔ stored credential for bearer.example.com in " + cfgPath,
		"• skipping tls-only.example.com",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("login output lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout+res.stderr, "robot-secret-1") {
		t.Error("login printed a secret")
	}
	auths := dockerAuths(t, docker)
	if auths[src.Host()]["auth"] == "" || auths["bearer.example.com"]["registrytoken"] != env["BEARER_TOKEN"] {
		t.Errorf("config.json auths: %v", auths)
	}
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode: %v %v", fi.Mode(), err)
	}

	// sync, with no hosts section, authenticates through what login stored.
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))
	rep, res := syncReport(t, runOpts{env: map[string]string{"DOCKER_CONFIG": docker}}, cfg)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("sync through the Docker config: exit %d %v\n%s", res.code, statuses(rep, 0), res.stdout)
	}

	t.Run("unknown --host", func(t *testing.T) {
		res := run(t, runOpts{env: env}, "login", "-f", hosts, "--docker-config", t.TempDir(), "--host", "nope.example.com")
		if res.code != 1 || !strings.Contains(res.stderr, "nope.example.com") {
			t.Errorf("exit %d: %s", res.code, res.stderr)
		}
	})
	t.Run("secret --export", func(t *testing.T) {
		res := run(t, runOpts{env: env}, "secret", "mirror-creds", "-f", hosts, "-n", "flux-system", "--export", "--kubeconfig", filepath.Join(t.TempDir(), "none"))
		if res.code != 0 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
		var sec struct {
			APIVersion string            `json:"apiVersion"`
			Kind       string            `json:"kind"`
			Type       string            `json:"type"`
			Metadata   map[string]any    `json:"metadata"`
			Data       map[string][]byte `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(res.stdout), &sec); err != nil {
			t.Fatalf("export is not YAML: %v\n%s", err, res.stdout)
		}
		if sec.Kind != "Secret" || sec.Type != "kubernetes.io/dockerconfigjson" || sec.Metadata["name"] != "mirror-creds" || sec.Metadata["namespace"] != "flux-system" {
			t.Errorf("secret: %+v", sec)
		}
		var dc struct {
			Auths map[string]map[string]string `json:"auths"`
		}
		if err := json.Unmarshal(sec.Data[".dockerconfigjson"], &dc); err != nil {
			t.Fatal(err)
		}
		if dc.Auths[src.Host()]["password"] != "robot-secret-1" || dc.Auths["bearer.example.com"]["registrytoken"] == "" {
			t.Errorf(".dockerconfigjson: %v", dc.Auths)
		}
		if !strings.Contains(res.stderr, "bearer.example.com: the bearer credential is written as registrytoken") {
			t.Errorf("no kubelet warning for the bearer host:\n%s", res.stderr)
		}
	})
}

func TestKeygenThenSyncThroughJWTGateway(t *testing.T) {
	keys := t.TempDir()
	res := run(t, runOpts{}, "keygen", "-o", keys)
	if res.code != 0 {
		t.Fatalf("keygen exit %d: %s", res.code, res.stderr)
	}
	if res := run(t, runOpts{}, "keygen", "-o", keys); res.code != 1 || !strings.Contains(res.stderr, "privkey.json") {
		t.Errorf("keygen must refuse to overwrite: exit %d %s", res.code, res.stderr)
	}
	pub, err := os.ReadFile(filepath.Join(keys, "pubkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwtgateway.ParseKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	// The destination accepts only JWTs signed by the key keygen wrote, the
	// way an OIDC-validating registry would.
	var gw *jwtgateway.Gateway
	dst := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gw.Wrap(next).ServeHTTP(w, r) })
	}))
	gw, err = jwtgateway.New(jwtgateway.Config{Keys: set, Issuer: "https://ci.example.com", Audience: dst.Host(), Subject: "mirror-bot"})
	if err != nil {
		t.Fatal(err)
	}
	src := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 2, 2048)

	dir := t.TempDir()
	priv, err := os.ReadFile(filepath.Join(keys, "privkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "keys/privkey.json", string(priv))
	cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))+fmt.Sprintf(`hosts:
  - host: %s
    credential:
      jwkPath: ./keys/privkey.json
      iss: https://ci.example.com
      sub: mirror-bot
`, dst.Host()))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("exit %d %v\n%s\n%s", res.code, statuses(rep, 0), res.stdout, res.stderr)
	}
	if gw.Accepted() == 0 || gw.Rejected() != 0 {
		t.Errorf("gateway accepted %d, rejected %d", gw.Accepted(), gw.Rejected())
	}
	// Without the credential the same registry refuses.
	plain := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))
	res = run(t, runOpts{}, "sync", plain)
	if res.code != 1 || !strings.Contains(res.stdout, "401") || !strings.Contains(res.stdout, "a bearer JWT is required") {
		t.Errorf("unauthenticated sync must fail with the registry's 401 reason: exit %d\n%s", res.code, res.stdout)
	}
	if strings.Contains(res.stdout, "attempts") {
		t.Errorf("an authorization failure must not be retried:\n%s", res.stdout)
	}
}

func TestSyncTLSAndTokenAuth(t *testing.T) {
	src := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 1024)

	tests := []struct {
		name  string
		dst   *registrytest.Server
		host  func(dir string, dst *registrytest.Server) string
		fails string
	}{
		{
			name: "custom CA",
			dst:  registrytest.NewDistribution(t, registrytest.WithTLS()),
			host: func(dir string, dst *registrytest.Server) string {
				writeFile(t, dir, "certs/ca.crt", string(dst.CAPEM()))
				return fmt.Sprintf("  - host: %s\n    tls:\n      serverAuth:\n        fromPath: ./certs/ca.crt\n", dst.Host())
			},
		},
		{
			name: "mTLS",
			dst:  registrytest.NewDistribution(t, registrytest.WithClientCA()),
			host: func(dir string, dst *registrytest.Server) string {
				cert, key := dst.ClientCertPEM()
				writeFile(t, dir, "certs/ca.crt", string(dst.CAPEM()))
				writeFile(t, dir, "certs/client.crt", string(cert))
				writeFile(t, dir, "certs/client.key", string(key))
				return fmt.Sprintf("  - host: %s\n    tls:\n      serverAuth:\n        fromPath: ./certs/ca.crt\n      clientAuth:\n        certificate:\n          fromPath: ./certs/client.crt\n        key:\n          fromPath: ./certs/client.key\n", dst.Host())
			},
		},
		{
			name: "CA that does not match",
			dst:  registrytest.NewDistribution(t, registrytest.WithTLS()),
			host: func(dir string, dst *registrytest.Server) string {
				other := registrytest.NewDistribution(t, registrytest.WithTLS())
				writeFile(t, dir, "certs/ca.crt", string(other.CAPEM()))
				return fmt.Sprintf("  - host: %s\n    tls:\n      serverAuth:\n        fromPath: ./certs/ca.crt\n", dst.Host())
			},
			fails: "certificate",
		},
		{
			name: "token auth through the challenge",
			dst:  registrytest.NewDistribution(t, registrytest.WithTokenAuth("mirror", "tok-pass-9")),
			host: func(dir string, dst *registrytest.Server) string {
				return fmt.Sprintf("  - host: %s\n    username: mirror\n    credential:\n      value: tok-pass-9\n", dst.Host())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry(src.Host()+"/app", tt.dst.Host()+"/app", "      semver: \"*\"\n"))+"hosts:\n"+tt.host(dir, tt.dst))
			rep, res := syncReport(t, runOpts{}, cfg)
			if tt.fails != "" {
				if res.code != 1 || !strings.Contains(res.stdout, tt.fails) {
					t.Fatalf("want a failure naming %q: exit %d\n%s", tt.fails, res.code, res.stdout)
				}
				return
			}
			if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
				t.Fatalf("exit %d %v\n%s", res.code, statuses(rep, 0), res.stdout)
			}
		})
	}
}

func TestSyncChunkedUploads(t *testing.T) {
	// A gateway that rejects request bodies over 64 KiB, as some proxies do.
	const limit = 64 << 10
	var patches atomic.Int64
	gate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
				return
			}
			if r.Method == http.MethodPatch {
				patches.Add(1)
			}
			if r.ContentLength < 0 && r.Body != nil {
				body, _ := io.ReadAll(io.LimitReader(r.Body, limit+1))
				if len(body) > limit {
					http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
					return
				}
				r.Body = io.NopCloser(strings.NewReader(string(body)))
			}
			next.ServeHTTP(w, r)
		})
	}
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t, registrytest.WithMiddleware(gate), registrytest.WithFilesystem())
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 300<<10)
	content := artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))

	rep, res := syncReport(t, runOpts{stdin: content}, "-", "--retries", "0")
	if res.code != 1 || !strings.Contains(rep.Report.Results[0].Tags[0].Error, "413") {
		t.Fatalf("a monolithic upload must hit the 413 limit: exit %d %+v", res.code, rep.Report.Results[0].Tags)
	}
	rep, res = syncReport(t, runOpts{stdin: content + fmt.Sprintf("hosts:\n  - host: %s\n    maxChunkSize: 64\n", dst.Host())}, "-")
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("chunked: exit %d %+v", res.code, rep.Report.Results[0].Tags)
	}
	if patches.Load() < 5 {
		t.Errorf("a 300 KiB layer in 64 KiB chunks needs at least 5 PATCH requests, saw %d", patches.Load())
	}
	if s, d := src.Digest(t, src.Host()+"/app:1.0.0"), dst.Digest(t, dst.Host()+"/app:1.0.0"); s != d {
		t.Errorf("digest %s, want %s", d, s)
	}
}
