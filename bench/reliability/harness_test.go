package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/bench"
	"github.com/fluxcd/flux-mirror/bench/layers"
	"github.com/fluxcd/flux-mirror/bench/reliability/faultproxy"
	"github.com/fluxcd/flux-mirror/bench/tools"
	"github.com/fluxcd/flux-mirror/core/report"
)

// binDir holds the flux-mirror binary built for this test run; TestMain
// removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// fluxMirror builds ./cli/cmd/flux-mirror once per test run, or uses
// $FLUX_MIRROR_BIN when it is set.
var fluxMirror = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("FLUX_MIRROR_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("FLUX_MIRROR_BIN: %w", err)
		}
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "fm-reliability-")
	if err != nil {
		return "", fmt.Errorf("build flux-mirror: %w", err)
	}
	binDir = dir
	return tools.BuildFluxMirror(context.Background(), filepath.Join("..", "..", "cli"), filepath.Join(dir, "flux-mirror"))
})

// seededRepo is one repository of registry A and what it holds.
type seededRepo struct {
	// path at A, and at B under the same name.
	path string
	// digests maps each tag to its manifest digest.
	digests map[string]string
}

// source is registry A, seeded once and only read by the cases.
type source struct {
	*registrytest.Server
	repos []seededRepo
}

// tags returns the number of seeded tags.
func (s *source) tags() int {
	n := 0
	for _, r := range s.repos {
		n += len(r.digests)
	}
	return n
}

// seedSource starts registry A and pushes:
//   - rel/app 1.0.0, 1.1.0, 1.2.0: images of a 3 MiB base layer shared by
//     the three, a 1.5 MiB layer and a 256 KiB layer of their own;
//   - rel/multi 2.0.0, 2.1.0: OCI indexes of linux/amd64 and linux/arm64
//     images, each of its platform's 2 MiB base layer (shared by the two
//     tags) and a 1 MiB layer of its own.
//
// 17 distinct blobs, about 16 MiB.
func seedSource(t *testing.T) *source {
	t.Helper()
	a := registrytest.NewDistribution(t, registrytest.WithFilesystem())
	s := &source{Server: a}

	app := seededRepo{path: "rel/app", digests: map[string]string{}}
	base := layer(t, 1, 3<<20)
	for i, tag := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		ls := []v1.Layer{base, layer(t, uint64(10+i), 3<<19), layer(t, uint64(20+i), 256<<10)}
		app.digests[tag] = a.PushImage(t, app.path+":"+tag, ls)
	}

	multi := seededRepo{path: "rel/multi", digests: map[string]string{}}
	platforms := []string{"linux/amd64", "linux/arm64"}
	for i, tag := range []string{"2.0.0", "2.1.0"} {
		images := make([]registrytest.PlatformImage, len(platforms))
		for p, plat := range platforms {
			images[p] = registrytest.PlatformImage{Platform: plat, Layers: []v1.Layer{layer(t, uint64(30+p), 2<<20), layer(t, uint64(40+10*i+p), 1<<20)}}
		}
		multi.digests[tag] = a.PushIndexOf(t, multi.path+":"+tag, images...)
	}
	s.repos = []seededRepo{app, multi}
	return s
}

func layer(t *testing.T, seed uint64, size int64) v1.Layer {
	t.Helper()
	l, err := layers.New(seed, size)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// env is one case's world: registry A behind its own proxy, a fresh
// registry B behind another, and a config that mirrors every seeded
// repository from the one proxy to the other.
type env struct {
	src      *source
	srcProxy *faultproxy.Proxy
	dst      *registrytest.Server
	dstProxy *faultproxy.Proxy
	bin      string
	cfg      string
	home     string
}

func newEnv(t *testing.T, src *source) *env {
	t.Helper()
	bin, err := fluxMirror()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{src: src, bin: bin, home: t.TempDir()}
	e.srcProxy = startProxy(t, src.URL())
	e.dst = registrytest.NewDistribution(t, registrytest.WithFilesystem())
	e.dstProxy = startProxy(t, e.dst.URL())

	var entries []bench.Entry
	for _, r := range src.repos {
		entries = append(entries, bench.Entry{Source: e.srcProxy.Host() + "/" + r.path, Destination: e.dstProxy.Host() + "/" + r.path})
	}
	cfg, err := bench.FluxMirrorConfig(entries...)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = filepath.Join(t.TempDir(), "flux-mirror.yaml")
	if err := os.WriteFile(e.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func startProxy(t *testing.T, upstream string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// running is a flux-mirror sync in progress.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	started        time.Time
	// done is closed when the process has exited; err is then Wait's.
	done  chan struct{}
	err   error
	ended time.Time
}

// result is how a sync ended.
type result struct {
	code           int
	stdout, stderr []byte
	took           time.Duration
}

// start runs `flux-mirror sync CONFIG --no-progress -o json ARGS...` with
// a scratch HOME and Docker config.
func (e *env) start(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{done: make(chan struct{})}
	r.cmd = exec.Command(e.bin, append([]string{"sync", e.cfg, "--no-progress", "-o", "json"}, args...)...)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.Env = append(os.Environ(), "HOME="+e.home, "DOCKER_CONFIG="+filepath.Join(e.home, ".docker"), "NO_COLOR=1")
	r.started = time.Now()
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start flux-mirror: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		r.ended = time.Now()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait waits for the sync to exit, for at most two minutes.
func (r *running) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("flux-mirror still running after 2m; killed\nstderr:\n%s", r.stderr.String())
	}
	res := result{code: 0, stdout: r.stdout.Bytes(), stderr: r.stderr.Bytes(), took: r.ended.Sub(r.started)}
	var exit *exec.ExitError
	switch {
	case errors.As(r.err, &exit):
		res.code = exit.ExitCode()
	case r.err != nil:
		t.Fatalf("flux-mirror: %v", r.err)
	}
	return res
}

// sync runs a sync to completion.
func (e *env) sync(t *testing.T, args ...string) result {
	t.Helper()
	return e.start(t, args...).wait(t)
}

// report decodes the Report the sync printed.
func (r result) report(t *testing.T) report.Report {
	t.Helper()
	var rep report.Report
	if err := json.Unmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("no JSON report on stdout (exit %d): %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
	return rep
}

// wantExit marks the test failed unless the sync exited with code; the
// case goes on, so that its other assertions report too.
func (r result) wantExit(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (after %s)\nstdout:\n%s\nstderr:\n%s", r.code, code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
	}
}

// wantAllCopied fails the test unless the report says every seeded tag
// was copied and nothing else happened.
func (e *env) wantAllCopied(t *testing.T, rep report.Report) {
	t.Helper()
	s := rep.Report.Summary
	if s.Copied != e.src.tags() || s.Failed != 0 || s.Skipped != 0 || s.ExitCode != report.ExitOK {
		t.Errorf("summary %+v, want %d copied and nothing else", s, e.src.tags())
	}
	for _, res := range rep.Report.Results {
		for _, tag := range res.Tags {
			if tag.Status != report.StatusCopied {
				t.Errorf("%s:%s %s %s %s, want copied", res.Source, tag.Tag, tag.Status, tag.Reason, tag.Error)
			}
		}
	}
}

// wantApplied fails the test unless each injection struck exactly its
// count of requests: proof that the fault happened during the run.
func wantApplied(t *testing.T, p *faultproxy.Proxy, want map[*faultproxy.Injection]int) {
	t.Helper()
	for in, n := range want {
		if got := in.Applied(); got != n {
			t.Errorf("a fault struck %d requests, want %d: %v\nrequests:\n%s", got, n, in.Hits(), requestLog(p))
		}
	}
}

func requestLog(p *faultproxy.Proxy) string {
	var b bytes.Buffer
	for _, r := range p.Requests() {
		fmt.Fprintf(&b, "  %s %s\n", r.Arrived.Format("15:04:05.000"), r)
	}
	return b.String()
}
