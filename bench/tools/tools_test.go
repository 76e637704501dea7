package tools

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the launcher (Main) and as a helper program:
// FMBENCH_TEST_ALLOC_MIB makes it touch that much memory and exit,
// FMBENCH_TEST_EXIT makes it print "boom" on stderr and exit with that code.
func TestMain(m *testing.M) {
	Main()
	if v := os.Getenv("FMBENCH_TEST_ALLOC_MIB"); v != "" {
		n, _ := strconv.Atoi(v)
		b := make([]byte, n<<20)
		for i := range b {
			b[i] = byte(i)
		}
		fmt.Println(len(b) >> 20)
		os.Exit(0)
	}
	if v := os.Getenv("FMBENCH_TEST_EXIT"); v != "" {
		n, _ := strconv.Atoi(v)
		fmt.Fprintln(os.Stderr, "boom")
		os.Exit(n)
	}
	os.Exit(m.Run())
}

func helper(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func TestRunMeasuresTheChildsOwnPeak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS semantics checked on Linux")
	}
	// Make this process large: without the launcher, a child would report
	// at least this much.
	ballast := make([]byte, 160<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	for _, tc := range []struct {
		mib      int
		min, max int64
	}{
		{mib: 8, min: 8 << 20, max: 100 << 20},
		{mib: 64, min: 64 << 20, max: 150 << 20},
	} {
		t.Run(strconv.Itoa(tc.mib), func(t *testing.T) {
			res, err := Run(helper(t, "FMBENCH_TEST_ALLOC_MIB="+strconv.Itoa(tc.mib)))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(res.Stdout)) != strconv.Itoa(tc.mib) {
				t.Fatalf("stdout %q", res.Stdout)
			}
			if res.MaxRSS < tc.min || res.MaxRSS > tc.max {
				t.Fatalf("MaxRSS = %.1f MiB, want between %d and %d MiB (this process holds %d MiB)",
					float64(res.MaxRSS)/(1<<20), tc.min>>20, tc.max>>20, len(ballast)>>20)
			}
			if res.Wall <= 0 || res.Wall > time.Minute || res.ExitCode != 0 {
				t.Fatalf("Wall %v, ExitCode %d", res.Wall, res.ExitCode)
			}
		})
	}
	runtime.KeepAlive(ballast)
}

func TestRunReportsFailureWithStderr(t *testing.T) {
	res, err := Run(helper(t, "FMBENCH_TEST_EXIT=3"))
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("err = %v, want exit status 3 and the stderr tail", err)
	}
	if res.ExitCode != 3 {
		t.Fatalf("ExitCode = %d, want 3", res.ExitCode)
	}
}

func TestRunMissingProgram(t *testing.T) {
	_, err := Run(exec.Command(filepath.Join(t.TempDir(), "no-such-tool")))
	if err == nil {
		t.Fatal("want an error for a missing program")
	}
}

func TestGoInstallKeepsAnInstalledTool(t *testing.T) {
	dir := t.TempDir()
	want := filepath.Join(dir, "crane@v9.9.9", "crane")
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The version does not exist: reaching `go install` would fail.
	got, err := GoInstall(context.Background(), "github.com/google/go-containerregistry/cmd/crane", "v9.9.9", dir)
	if err != nil || got != want {
		t.Fatalf("GoInstall = %q, %v; want %q", got, err, want)
	}
}

func TestParseReport(t *testing.T) {
	for _, tc := range []struct {
		in      string
		rss     int64
		wall    time.Duration
		wantErr bool
	}{
		{in: "1048576 2000000\n", rss: 1 << 20, wall: 2 * time.Millisecond},
		{in: "", wantErr: true},
		{in: "12", wantErr: true},
		{in: "a b", wantErr: true},
	} {
		rss, wall, err := parseReport([]byte(tc.in))
		if (err != nil) != tc.wantErr || rss != tc.rss || wall != tc.wall {
			t.Errorf("parseReport(%q) = %d, %v, %v", tc.in, rss, wall, err)
		}
	}
}
