package metrics

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly fails when the package, built without its tests,
// imports anything but the standard library and flux-mirror's core: the
// Prometheus client and its dependencies cost about 1.4 MiB of resident
// memory, against a 32 MiB budget for the whole sync (issue 13). The tests
// may import prometheus/common to check the output.
func TestStandardLibraryOnly(t *testing.T) {
	// go test puts its own toolchain first in PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(pkg, "github.com/prometheus/"):
			t.Errorf("the build imports %s: write the text format with the standard library", pkg)
		case pkg == "github.com/fluxcd/flux-mirror/adapters/metrics",
			pkg == "github.com/fluxcd/flux-mirror/core" || strings.HasPrefix(pkg, "github.com/fluxcd/flux-mirror/core/"):
		default:
			t.Errorf("the build imports %s, which is neither the standard library nor flux-mirror's core", pkg)
		}
	}
}
