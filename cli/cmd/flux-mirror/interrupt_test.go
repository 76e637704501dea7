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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

// TestInterruptReportsWhatFinished signals a running sync whose source is
// slow: the binary must stop promptly, cancel what is in flight, start
// nothing new, write no tag it did not finish, still print the whole
// report, sum up what it left undone in one line, and exit with the shell's
// code for the signal.
func TestInterruptReportsWhatFinished(t *testing.T) {
	tests := []struct {
		name   string
		signal syscall.Signal
		output string
		code   int
	}{
		{name: "SIGINT json", signal: syscall.SIGINT, output: "json", code: 130},
		{name: "SIGTERM json", signal: syscall.SIGTERM, output: "json", code: 143},
		{name: "SIGINT text", signal: syscall.SIGINT, output: "text", code: 130},
		{name: "SIGTERM yaml", signal: syscall.SIGTERM, output: "yaml", code: 143},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testInterrupt(t, tt.signal, tt.output, tt.code)
		})
	}
}

func testInterrupt(t *testing.T, sig syscall.Signal, output string, wantCode int) {
	const slowTags = 6
	release := make(chan struct{})
	hung := make(chan string, 64) // digests of the blob downloads held open
	var stalled atomic.Bool
	src := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Blob downloads of the "slow" repository hang until the test ends.
			if stalled.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/slow/blobs/") {
				select { // never block: the server waits for its handlers on Close
				case hung <- r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]:
				default:
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	t.Cleanup(func() { close(release) })
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/fast:1.0.0", 1, 512)
	blobsOf := map[string]string{} // blob digest → slow tag
	for i := 0; i < slowTags; i++ {
		tag := fmt.Sprintf("1.0.%d", i)
		src.PushRandomImage(t, src.Host()+"/slow:"+tag, 1, 512)
		for _, d := range manifestBlobs(t, src.ManifestBytes(t, src.Host()+"/slow:"+tag)) {
			blobsOf[d] = tag
		}
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
	// --verbose logs "manifest pushed" once the fast tag's write has
	// succeeded: from then on the tag counts as copied.
	var stdout bytes.Buffer
	stderr := &watchWriter{want: `msg="manifest pushed" ref=` + dst.Host() + "/fast:1.0.0 ", found: make(chan struct{})}
	// Room for every job at once: the fast entry must not wait behind the
	// hanging ones, whatever order the pool starts them in.
	cmd := exec.Command(filepath.Join(binDir, "flux-mirror"), "sync", cfg, "-o", output, "--concurrency", "16", "--verbose")
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the fast entry is written and every slow tag's job is
	// hanging on a download, so the signal finds work finished and work in
	// flight.
	deadline := time.After(30 * time.Second)
	fail := func(format string, args ...any) {
		t.Helper()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf(format+"\nstderr: %s", append(args, stderr.String())...)
	}
	for done := false; !done; {
		select {
		case <-stderr.found:
			done = true
		case <-deadline:
			fail("the fast entry was never copied")
		}
	}
	hanging := map[string]bool{}
	for len(hanging) < slowTags {
		select {
		case d := <-hung:
			if tag, ok := blobsOf[d]; ok {
				hanging[tag] = true
			}
		case <-deadline:
			fail("only %d of %d slow tags reached their downloads", len(hanging), slowTags)
		}
	}

	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if took := time.Since(sent); took > 10*time.Second {
		t.Errorf("sync took %v to stop after %v", took, sig)
	}
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != wantCode {
		t.Fatalf("exit: %v (want %d)\nstderr: %s", err, wantCode, stderr.String())
	}

	// One line sums up what was left undone, instead of one per tag (the
	// other lines on stderr are --verbose's log).
	var marked []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(line, "✗") {
			marked = append(marked, line)
		}
	}
	if want := fmt.Sprintf("✗ interrupted: %d tags not attempted", slowTags); len(marked) != 1 || marked[0] != want {
		t.Errorf("stderr's ✗ lines %q, want only %q", marked, want)
	}
	if strings.Contains(stdout.String(), "cancelled") && output == "text" {
		t.Errorf("text output lists cancelled tags:\n%s", stdout.String())
	}
	for i := 0; i < slowTags; i++ {
		tag := fmt.Sprintf("1.0.%d", i)
		if dst.HasManifest(t, dst.Host()+"/slow:"+tag) {
			t.Errorf("slow tag %s was written after the interrupt", tag)
		}
	}

	if output == "text" {
		for _, want := range []string{
			"✓ " + src.Host() + "/fast:1.0.0 (copied)\n",
			fmt.Sprintf("Summary: 1 copied, %d failed in ", slowTags),
		} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
			}
		}
		return
	}
	var rep struct {
		Report struct {
			Summary struct{ Copied, Failed, ExitCode int }
			Results []struct {
				Source string
				Tags   []struct{ Tag, Status, Error string }
			}
		}
	}
	raw := stdout.Bytes()
	if output == "yaml" {
		var err error
		if raw, err = yaml.YAMLToJSON(raw); err != nil {
			t.Fatalf("the YAML report does not parse: %v\n%s", err, stdout.String())
		}
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("no complete report after %v: %v\n%s", sig, err, stdout.String())
	}
	s := rep.Report.Summary
	if s.Copied != 1 || s.Failed != slowTags || s.ExitCode != 1 || rep.Report.Results[0].Tags[0].Status != "copied" {
		t.Errorf("summary %+v, fast entry %+v", s, rep.Report.Results[0].Tags)
	}
	if got := len(rep.Report.Results[1].Tags); got != slowTags {
		t.Errorf("the report lists %d slow tags, want all %d", got, slowTags)
	}
	for _, tag := range rep.Report.Results[1].Tags {
		if tag.Status != "failed" || tag.Error != "cancelled" {
			t.Errorf("slow tag %s: %s %q, want failed and cancelled", tag.Tag, tag.Status, tag.Error)
		}
	}
}

// watchWriter collects a process's output and closes found once it holds
// want.
type watchWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	found chan struct{}
	seen  bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.seen && strings.Contains(w.buf.String(), w.want) {
		w.seen = true
		close(w.found)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// manifestBlobs returns the config and layer digests of an image manifest.
func manifestBlobs(t *testing.T, manifest []byte) []string {
	t.Helper()
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	out := []string{m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}
