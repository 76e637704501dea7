package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// TestSyncVerbose: --verbose writes structured log/slog lines on stderr for
// every step, including retries with their reason, and never a secret.
func TestSyncVerbose(t *testing.T) {
	// The first blob GET gets a 503 with Retry-After, then the source recovers.
	fault := registrytest.Fault(1, http.StatusServiceUnavailable, http.Header{"Retry-After": {"0"}}, func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/")
	})
	src := registrytest.NewDistribution(t, registrytest.WithMiddleware(fault))
	dst := registrytest.NewDistribution(t, registrytest.WithHtpasswd("bot", "verbose-secret-7"))
	digest := src.PushRandomImage(t, src.Host()+"/app:1.0.0", 2, 1024)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))+
		"hosts:\n  - host: "+dst.Host()+"\n    username: bot\n    credential:\n      value: verbose-secret-7\n")

	res := run(t, runOpts{cfg: func(c *Config) { c.IsTerminal = func(io.Writer) bool { return true } }}, "sync", cfg, "--verbose")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		`level=INFO msg="sync started"`,
		`msg="tag resolved"`,
		`msg="retrying request"`, "503",
		`msg="blob pushed"`,
		`msg="manifest pushed"`, digest,
		`msg="sync finished"`,
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("verbose log lacks %q", want)
		}
	}
	if strings.Contains(res.stderr, "⟳") {
		t.Error("--verbose must not draw the progress line")
	}
	if strings.Contains(res.stdout+res.stderr, "verbose-secret-7") {
		t.Error("the credential leaked into the verbose log")
	}

	res = run(t, runOpts{}, "sync", cfg, "--verbose")
	if res.code != 0 || !strings.Contains(res.stderr, `msg="tag up to date"`) {
		t.Errorf("re-run: exit %d, log lacks the up-to-date line:\n%s", res.code, res.stderr)
	}
}
