// Package registrycontainer runs CNCF distribution as a separate process in a
// Docker container for tests, through testcontainers-go, behind a
// registrytest.Server. Nothing is pulled: the registry binary is compiled
// from the distribution module (and cached), and the image is built FROM
// scratch. Tests skip when no Docker engine is reachable.
//
// Ryuk, testcontainers' reaper container, needs an image pull, so it is
// disabled (TESTCONTAINERS_RYUK_DISABLED=true unless already set);
// containers are removed when their test ends. testcontainers' logs are
// discarded unless REGISTRYTEST_LOGS is set.
package registrycontainer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

const (
	imageRepo     = "flux-mirror-registrytest-distribution"
	containerPort = "5000/tcp"
)

var (
	setupOnce sync.Once
	setupErr  error
	skipMsg   string
	imageRef  string
)

// NewDistribution starts distribution in a container and returns a Server
// in front of it (see registrytest.NewProxied): WithHtpasswd and
// WithTokenAuth are enforced by the containerized registry itself; TLS,
// the token endpoint and middleware live in the in-process front. Storage
// is always the container's filesystem. The first call in a process
// builds the registry binary (about a minute on a cold build cache) and
// the image.
func NewDistribution(t testing.TB, opts ...registrytest.Option) *registrytest.Server {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup() })
	if skipMsg != "" {
		t.Skip(skipMsg)
	}
	if setupErr != nil {
		t.Fatalf("container: %v", setupErr)
	}
	return registrytest.NewProxied(t, "container", start, opts...)
}

// setup checks for Docker, builds the registry binary and the image.
func setup() error {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	if os.Getenv("REGISTRYTEST_LOGS") == "" {
		tclog.SetDefault(tclog.NewNoopLogger())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		skipMsg = "no Docker engine reachable: " + err.Error()
		return nil
	}
	defer p.Close()
	hctx, hcancel := context.WithTimeout(ctx, 15*time.Second)
	defer hcancel()
	if err := p.Health(hctx); err != nil {
		skipMsg = "no Docker engine reachable: " + err.Error()
		return nil
	}
	dir, err := os.MkdirTemp("", "registrytest-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "registry")
	if err := buildRegistry(ctx, bin); err != nil {
		return err
	}
	dockerfile := "FROM scratch\nCOPY registry /registry\nEXPOSE 5000\nENTRYPOINT [\"/registry\", \"serve\", \"/etc/registry/config.yml\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	sum, err := fileDigest(bin)
	if err != nil {
		return err
	}
	tag := "registryd-" + sum[:12]
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Repo: imageRepo, Tag: tag, KeepImage: true, BuildLogWriter: io.Discard,
	}}
	if imageRef, err = p.BuildImage(ctx, req); err != nil {
		return fmt.Errorf("build the registry image FROM scratch: %w", err)
	}
	return nil
}

// buildRegistry compiles registryd (distribution with the drivers the
// tests use, from this module, so the same version as the in-process
// registry) for the container's platform into bin. One test process at a
// time builds, under a lock file in the user cache directory: the test
// binaries of several packages start together, and without the lock each
// would compile distribution at the same time; with it, the later ones
// find Go's build cache warm and only link.
func buildRegistry(ctx context.Context, bin string) error {
	_, self, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(self) {
		return errors.New("locate registryd: the test binary was built with -trimpath; build it without")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	lockDir := filepath.Join(cache, "flux-mirror", "registrytest")
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(lockDir, "build.lock"))
	if err != nil {
		return fmt.Errorf("lock the registry build: %w", err)
	}
	defer unlock()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(self), "registryd")
	// Static, for an image FROM scratch.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build registryd: %w\n%s", err, out.String())
	}
	return nil
}

// start runs one registry container configured for b and returns its URL.
func start(t testing.TB, b registrytest.Backend) string {
	t.Helper()
	ctx := context.Background()
	files := []testcontainers.ContainerFile{{
		Reader: strings.NewReader(config(b)), ContainerFilePath: "/etc/registry/config.yml", FileMode: 0o644,
	}}
	if b.Htpasswd != nil {
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(b.Htpasswd), ContainerFilePath: "/etc/registry/htpasswd", FileMode: 0o644})
	}
	if b.Token != nil {
		files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(b.Token.JWKS), ContainerFilePath: "/etc/registry/jwks.json", FileMode: 0o644})
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        imageRef,
			ExposedPorts: []string{containerPort},
			Files:        files,
		},
		Started: true,
	})
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatalf("container: start the registry: %v", err)
	}
	host, err := c.Host(ctx)
	if err != nil {
		t.Fatalf("container: host: %v", err)
	}
	port, err := c.MappedPort(ctx, containerPort)
	if err != nil {
		t.Fatalf("container: mapped port: %v", err)
	}
	// testcontainers may resolve the host to a gateway address that is
	// not routable from here (e.g. when the tests run in a container that
	// shares the engine's network); the published port is also on
	// loopback when the engine is local.
	var candidates []string
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" && (host == "localhost" || host == "127.0.0.1" || localEngine()) {
		candidates = append(candidates, "http://127.0.0.1:"+port.Port())
	}
	if host != "localhost" && host != "127.0.0.1" {
		candidates = append(candidates, "http://"+host+":"+port.Port())
	}
	u, err := waitReady(ctx, candidates, 60*time.Second)
	if err != nil {
		logs := ""
		if r, lerr := c.Logs(ctx); lerr == nil {
			b, _ := io.ReadAll(io.LimitReader(r, 8<<10))
			r.Close()
			logs = string(b)
		}
		t.Fatalf("container: the registry (%s) did not get ready: %v\n%s", strings.Join(candidates, ", "), err, logs)
	}
	return u
}

// localEngine reports whether the Docker engine is reached through a
// local unix socket.
func localEngine() bool {
	h := os.Getenv("DOCKER_HOST")
	return h == "" || strings.HasPrefix(h, "unix://")
}

// waitReady polls the candidate base URLs' /v2/ until one answers 200 or
// 401, and returns that base URL.
func waitReady(ctx context.Context, candidates []string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	var last error
	for {
		for _, base := range candidates {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/", nil)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
					return base, nil
				}
				err = fmt.Errorf("GET %s/v2/: %s", base, resp.Status)
			}
			last = err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// config renders distribution's configuration for the backend.
func config(b registrytest.Backend) string {
	var s strings.Builder
	s.WriteString("version: 0.1\n")
	s.WriteString("log:\n  level: error\n  accesslog:\n    disabled: true\n")
	s.WriteString("storage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  delete:\n    enabled: true\n")
	s.WriteString("  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&s, "http:\n  addr: :5000\n  secret: %s\n", randomSecret())
	if b.MaxTags > 0 {
		fmt.Fprintf(&s, "tags:\n  maxtags: %d\n", b.MaxTags)
	}
	switch {
	case b.Token != nil:
		fmt.Fprintf(&s, "auth:\n  token:\n    realm: %q\n    service: %q\n    issuer: %q\n    jwks: /etc/registry/jwks.json\n    signingalgorithms: [%s]\n",
			b.Token.Realm, b.Token.Service, b.Token.Issuer, b.Token.Algorithm)
	case b.Htpasswd != nil:
		s.WriteString("auth:\n  htpasswd:\n    realm: registrytest\n    path: /etc/registry/htpasswd\n")
	}
	return s.String()
}

func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
