package initpages

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"testing"
)

// initialised is written by package initialisation into the writable data
// of the executable, which Release must leave alone.
var initialised = hex.EncodeToString([]byte("kept"))

// executableRSS returns the resident bytes of the test binary's releasable
// mappings.
func executableRSS(t *testing.T) (releasable uint64) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	maps, err := parseSmaps(f)
	if err != nil {
		t.Fatal(err)
	}
	pc := uint64(reflect.ValueOf(executableRSS).Pointer())
	var exe mapping
	for _, m := range maps {
		if m.start <= pc && pc < m.end {
			exe = m
		}
	}
	for _, m := range maps {
		if m.releasable(exe.dev, exe.inode) {
			releasable += m.rss
		}
	}
	return releasable
}

func TestReleaseDropsTheExecutablesReadOnlyPages(t *testing.T) {
	before := executableRSS(t)
	sumBefore := sha256.Sum256([]byte("kept"))
	released, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	after := executableRSS(t)
	if released <= 0 || uint64(released) > before+before/4 {
		t.Errorf("Release reported %d bytes released; %d were resident in the read-only mappings before", released, before)
	}
	// Reading smaps again maps back the code doing it, far less than what
	// initialisation left resident.
	if after >= before {
		t.Errorf("read-only mappings hold %d bytes after Release, %d before", after, before)
	}
	t.Logf("read-only pages of the test binary: %d KiB before, %d KiB released, %d KiB after", before>>10, released>>10, after>>10)

	// Code and data read back as they were.
	if initialised != "6b657074" {
		t.Errorf("data written by init changed: %q", initialised)
	}
	if sum := sha256.Sum256([]byte("kept")); sum != sumBefore {
		t.Errorf("sha256 after Release: %x, before: %x", sum, sumBefore)
	}
}
