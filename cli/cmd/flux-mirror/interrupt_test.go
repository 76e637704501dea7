package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// TestInterruptReportsWhatFinished sends SIGINT to a running sync whose
// source is slow: the binary must stop promptly, cancel what is in flight,
// start nothing new, and still print the report with what finished.
func TestInterruptReportsWhatFinished(t *testing.T) {
	slow := make(chan struct{})
	var stalled atomic.Bool
	src := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Blob downloads of the "slow" repository hang until the test ends.
			if stalled.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/slow/blobs/") {
				select {
				case <-slow:
				case <-r.Context().Done():
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	t.Cleanup(func() { close(slow) })
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/fast:1.0.0", 1, 512)
	for i := 0; i < 6; i++ {
		src.PushRandomImage(t, fmt.Sprintf("%s/slow:1.0.%d", src.Host(), i), 1, 512)
	}
	stalled.Store(true)

	cfg := filepath.Join(t.TempDir(), "c.yaml")
	content := fmt.Sprintf(`apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
artifacts:
  - source: %[1]s/fast
    destination: %[2]s/fast
    selector: {semver: "*"}
  - source: %[1]s/slow
    destination: %[2]s/slow
    selector: {semver: "*", limit: 0}
`, src.Host(), dst.Host())
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	// Room for every job at once: the fast entry must not wait behind the
	// hanging ones, whatever order the pool starts them in.
	cmd := exec.Command(filepath.Join(binDir, "flux-mirror"), "sync", cfg, "-o", "json", "--concurrency", "16")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the fast entry is done, so there is something to report.
	deadline := time.Now().Add(20 * time.Second)
	for !dst.HasManifest(t, dst.Host()+"/fast:1.0.0") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the fast entry was never copied")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the slow jobs reach their hanging downloads
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if took := time.Since(sent); took > 10*time.Second {
		t.Errorf("sync took %v to stop after SIGINT", took)
	}
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v (want 1)\nstderr: %s", err, stderr.String())
	}
	var rep struct {
		Report struct {
			Summary struct{ Copied, Failed int }
			Results []struct {
				Source string
				Tags   []struct{ Tag, Status, Error string }
			}
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("no report after SIGINT: %v\n%s", err, stdout.String())
	}
	if rep.Report.Summary.Copied != 1 || rep.Report.Results[0].Tags[0].Status != "copied" {
		t.Errorf("the finished copy is not reported: %+v", rep.Report)
	}
	for _, tag := range rep.Report.Results[1].Tags {
		if tag.Status != "failed" || !strings.Contains(tag.Error, "cancel") {
			t.Errorf("slow tag %s: %s %q, want failed and cancelled", tag.Tag, tag.Status, tag.Error)
		}
		if dst.HasManifest(t, dst.Host()+"/slow:"+tag.Tag) {
			t.Errorf("slow tag %s was written after the interrupt", tag.Tag)
		}
	}
}
