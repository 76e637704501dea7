package registrycontainer

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSkipsWithoutDocker runs TestDistributionContainer again in a child
// process that cannot reach any Docker engine (DOCKER_HOST points nowhere
// and, in a private mount namespace, the default socket is covered by
// /dev/null) and checks that it skips with the reason instead of failing.
// Hiding the socket needs root and unshare(1); elsewhere the test skips.
func TestSkipsWithoutDocker(t *testing.T) {
	if os.Getenv("REGISTRYTEST_CHILD") != "" {
		t.Skip("running as the child of TestSkipsWithoutDocker")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("hiding the Docker socket needs root and unshare(1)")
	}
	const hide = `for s in /run/docker.sock /var/run/docker.sock; do
  if [ -S "$s" ]; then mount --bind /dev/null "$s" || exit 99; fi
done
exec "$@"`
	cmd := exec.CommandContext(t.Context(), unshare, "--mount", "sh", "-c", hide, "sh",
		os.Args[0], "-test.run", "^TestDistributionContainer$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"REGISTRYTEST_CHILD=1",
		"DOCKER_HOST=unix:///nonexistent/docker.sock",
		"XDG_RUNTIME_DIR=/nonexistent",
		"HOME="+t.TempDir(), // no ~/.docker/run/docker.sock, no ~/.testcontainers.properties
	)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 99 {
		t.Skipf("cannot hide the Docker socket here:\n%s", out)
	}
	if strings.Contains(string(out), "--- PASS: TestDistributionContainer/") {
		t.Skipf("the child still reached a Docker engine; cannot test the skip here:\n%s", out)
	}
	if err != nil {
		if strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "unshare:") {
			t.Skipf("no mount namespace here: %s", out)
		}
		t.Fatalf("without Docker the container tests must skip, not fail: %v\n%s", err, out)
	}
	for _, want := range []string{"--- SKIP: TestDistributionContainer/plain", "no Docker engine reachable"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}
