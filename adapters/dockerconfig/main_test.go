package dockerconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// helperBin is the docker-credential-fmtest program built by TestMain.
var helperBin string

// TestMain builds the test credential helper once for every test.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fmtest-helper-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the test credential helper needs the go command on PATH:", err)
		return 1
	}
	helperBin = filepath.Join(dir, "docker-credential-fmtest")
	cmd := exec.Command(goBin, "build", "-o", helperBin, "./internal/docker-credential-fmtest")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build docker-credential-fmtest: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// testEnv is a hermetic Docker config directory plus a PATH holding exactly
// the programs a test chooses, all of them the test credential helper.
type testEnv struct {
	dir     string // the Docker config directory (also $DOCKER_CONFIG)
	helpers string // the helper's JSON store ($FMTEST_STORE)
}

// newEnv isolates HOME, DOCKER_CONFIG, PATH and DOCKER_AUTH_CONFIG and puts
// the test helper on PATH under each of the given names (e.g.
// "docker-credential-fmtest", "pass", "docker-credential-pass").
func newEnv(t *testing.T, programs ...string) *testEnv {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		if err := os.Symlink(helperBin, filepath.Join(bin, p)); err != nil {
			t.Fatal(err)
		}
	}
	e := &testEnv{dir: filepath.Join(root, "docker"), helpers: filepath.Join(root, "helper-store.json")}
	t.Setenv("HOME", filepath.Join(root, "home"))
	t.Setenv("PATH", bin)
	t.Setenv("DOCKER_CONFIG", e.dir)
	t.Setenv("FMTEST_STORE", e.helpers)
	t.Setenv("FMTEST_FAIL", "")
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(root, "none.json"))
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	return e
}

func (e *testEnv) configPath() string { return filepath.Join(e.dir, "config.json") }

// writeConfig writes config.json with the given content and mode.
func (e *testEnv) writeConfig(t *testing.T, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.configPath(), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.configPath(), mode); err != nil {
		t.Fatal(err)
	}
}

// readConfig returns config.json decoded as generic JSON.
func (e *testEnv) readConfig(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(e.configPath())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("config.json is not JSON: %v\n%s", err, b)
	}
	return m
}

// helperEntries returns what the test helper holds.
func (e *testEnv) helperEntries(t *testing.T) map[string]map[string]string {
	t.Helper()
	all := map[string]map[string]string{}
	b, err := os.ReadFile(e.helpers)
	if os.IsNotExist(err) {
		return all
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return all
}

// seedHelper stores a credential in the test helper directly.
func (e *testEnv) seedHelper(t *testing.T, server, user, secret string) {
	t.Helper()
	all := e.helperEntries(t)
	all[server] = map[string]string{"username": user, "secret": secret}
	b, _ := json.Marshal(all)
	if err := os.WriteFile(e.helpers, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// dockerRead reads a host's credential back the way the docker CLI does.
func dockerRead(t *testing.T, dir, host string) types.AuthConfig {
	t.Helper()
	cf, err := config.Load(dir)
	if err != nil {
		t.Fatalf("docker/cli cannot load the config: %v", err)
	}
	ac, err := cf.GetAuthConfig(host)
	if err != nil {
		t.Fatalf("docker/cli GetAuthConfig(%s): %v", host, err)
	}
	return ac
}

// ggcrRead resolves a host's credential with go-containerregistry's
// DefaultKeychain, as crane and Flux do.
func ggcrRead(t *testing.T, host string) *authn.AuthConfig {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		t.Fatalf("DefaultKeychain.Resolve(%s): %v", host, err)
	}
	cfg, err := authn.Authorization(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// captureOutput runs fn with os.Stdout and os.Stderr redirected and returns
// what was written to them.
func captureOutput(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	func() {
		defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
		fn()
	}()
	_ = w.Close()
	return <-done
}

// authRegistry is an in-process OCI registry (ggcr pkg/registry) that only
// answers requests carrying the Authorization header want, and otherwise
// challenges for that scheme (Basic, or Bearer with a realm it never
// serves, so only a registrytoken sent as is gets through). It holds one image at repo:tag.
func authRegistry(t *testing.T, want string) (host string) {
	t.Helper()
	reg := registry.New()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			if strings.HasPrefix(want, "Basic ") {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			} else {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, srv.URL))
			}
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(authFromHeader(want))); err != nil {
		t.Fatalf("seed the registry: %v", err)
	}
	return host
}

// authFromHeader turns an Authorization header value into an authenticator.
func authFromHeader(h string) authn.Authenticator {
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return &authn.Bearer{Token: tok}
	}
	return authn.FromConfig(authn.AuthConfig{Auth: strings.TrimPrefix(h, "Basic ")})
}

// pullWithDefaultKeychain fetches the seeded image's manifest with the
// credentials go-containerregistry finds in the Docker config.
func pullWithDefaultKeychain(host string) error {
	ref, err := name.ParseReference(host+"/app:v1", name.Insecure)
	if err != nil {
		return err
	}
	_, err = remote.Head(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	return err
}
