package deploycheck

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// imageCABundle is where the image keeps its root certificates: the first
// file Go's crypto/x509 reads on Linux.
const imageCABundle = "/etc/ssl/certs/ca-certificates.crt"

// TestImageTrustsTheBundledRoots checks the image's trust store: the file
// `make image` generated from the pinned Mozilla roots is in the image at
// the path Go reads, and the binary in the image uses that file: a registry
// whose CA is mounted over it is trusted, and the same registry is refused
// with the image's own bundle.
func TestImageTrustsTheBundledRoots(t *testing.T) {
	if reason := dockerReason(); reason != "" {
		t.Skip("skipping the image test: " + reason)
	}
	root := repoRoot(t)
	run(t, root, nil, "make", "image")

	want, err := os.ReadFile(filepath.Join(root, "bin", "image", "ca-certificates.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := imageFile(t, "flux-mirror:dev", imageCABundle); !bytes.Equal(got, want) {
		t.Fatalf("%s in the image (%d bytes) is not the bundle make image wrote (%d bytes)", imageCABundle, len(got), len(want))
	}
	if n := countCertificates(t, want); n < 100 {
		t.Fatalf("the bundle holds %d certificates", n)
	}

	// A registry on HTTPS with a certificate of its own CA, and one on HTTP.
	srv := httptest.NewTLSServer(registry.New())
	t.Cleanup(srv.Close)
	src := strings.TrimPrefix(srv.URL, "https://")
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustRef(t, src+"/app:1.0.0"), img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	dst := serveRegistry(t, "", "")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	dir := writeFiles(t, map[string][]byte{
		"ca.crt": ca,
		"config.yaml": fmt.Appendf(nil, `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
artifacts:
  - source: %s/app
    destination: %s/app
    selector:
      semver: "*"
`, src, dst),
	})
	docker := func(extra ...string) (string, error) {
		args := append([]string{"run", "--rm", "--network", "host", "--read-only", "--volume", dir + ":/config:ro"}, extra...)
		args = append(args, "flux-mirror:dev", "sync", "/config/config.yaml", "--no-progress", "--retries", "0")
		out, err := exec.Command("docker", args...).CombinedOutput()
		return string(out), err
	}

	// The image's own roots do not know the test CA: refused.
	out, err := docker()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "certificate signed by unknown authority") {
		t.Fatalf("sync from a registry of an unknown CA: %v, want a refusal naming the unknown authority:\n%s", err, out)
	}
	// The same file replaced by the test CA: trusted, so the binary reads
	// its roots from that path.
	out, err = docker("--volume", filepath.Join(dir, "ca.crt")+":"+imageCABundle+":ro")
	if err != nil || !strings.Contains(out, "(copied)") {
		t.Fatalf("sync with the test CA as %s: %v\n%s", imageCABundle, err, out)
	}
}

// imageFile returns the content of path in image, copied out of a created
// (never started) container.
func imageFile(t *testing.T, image, path string) []byte {
	t.Helper()
	id := strings.TrimSpace(run(t, "", nil, "docker", "create", image))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	cmd := exec.Command("docker", "cp", id+":"+path, "-")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker cp %s: %v", path, err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("docker cp %s: no file in the archive", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// countCertificates returns how many certificates crypto/x509 parses from
// the PEM bundle, failing on any block it cannot parse.
func countCertificates(t *testing.T, bundle []byte) int {
	t.Helper()
	n := 0
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return n
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Fatalf("certificate %d of the bundle: %v", n+1, err)
		}
		n++
	}
}
