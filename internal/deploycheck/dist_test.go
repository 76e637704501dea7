package deploycheck

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDist runs `make dist` for a Linux and a Windows target and checks
// what a release publishes: archives named flux-mirror_<version>_<os>_<arch>
// with the binary at their root (as Flux's plugin catalog expects), and a
// checksums file that matches them.
func TestDist(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: cross-compiles the CLI (-short)")
	}
	root := repoRoot(t)
	const version = "v1.2.3-test"
	run(t, root, nil, "make", "dist", "VERSION="+version, "DIST_PLATFORMS=linux/amd64 windows/amd64")
	dist := filepath.Join(root, "dist")
	t.Cleanup(func() { os.RemoveAll(dist) })

	want := map[string][]string{
		"flux-mirror_1.2.3-test_linux_amd64.tar.gz": {"README.md", "flux-mirror"},
		"flux-mirror_1.2.3-test_windows_amd64.zip":  {"README.md", "flux-mirror.exe"},
	}
	sums := readChecksums(t, filepath.Join(dist, "flux-mirror_1.2.3-test_checksums.txt"))
	if len(sums) != len(want) {
		t.Errorf("checksums list %v, want the %d archives", sums, len(want))
	}
	for name, files := range want {
		path := filepath.Join(dist, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("archive %s: %v", name, err)
		}
		sum := sha256.Sum256(data)
		if sums[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: checksum file says %q, the archive hashes to %x", name, sums[name], sum)
		}
		got, binary := archiveEntries(t, path)
		if !slices.Equal(got, files) {
			t.Errorf("%s holds %v, want %v at its root", name, got, files)
		}
		if !strings.Contains(string(binary), version) {
			t.Errorf("%s: the binary does not carry the version %s", name, version)
		}
	}
}

func readChecksums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("%s: line %q is not in sha256sum format", path, sc.Text())
		}
		out[name] = sum
	}
	return out
}

// archiveEntries lists a .tar.gz or .zip's entry names, sorted, and
// returns the content of its flux-mirror binary.
func archiveEntries(t *testing.T, path string) ([]string, []byte) {
	t.Helper()
	var names []string
	var binary []byte
	if strings.HasSuffix(path, ".zip") {
		z, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		for _, f := range z.File {
			names = append(names, f.Name)
			if strings.HasPrefix(f.Name, "flux-mirror") {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				binary, _ = io.ReadAll(rc)
				rc.Close()
			}
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
			if strings.HasPrefix(h.Name, "flux-mirror") {
				binary, _ = io.ReadAll(tr)
			}
		}
	}
	slices.Sort(names)
	return names, binary
}
