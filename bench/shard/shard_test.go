package shard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/bench/counting"
	"github.com/fluxcd/flux-mirror/bench/tools"
	"github.com/fluxcd/flux-mirror/core/report"
	"github.com/fluxcd/flux-mirror/core/shard"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// fluxMirror returns the binary under test: $FLUX_MIRROR_BIN, else one
// built once from ../../cli.
func fluxMirror(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("FLUX_MIRROR_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "fmshard-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath, binErr = tools.BuildFluxMirror(context.Background(), filepath.Join("..", "..", "cli"), filepath.Join(dir, "flux-mirror"))
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" && os.Getenv("FLUX_MIRROR_BIN") == "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// manifestPuts is a middleware that counts the manifest PUTs per
// repository:reference that succeeded, and tells puts about each.
type manifestPuts struct {
	mu     sync.Mutex
	counts map[string]int
	puts   chan string
}

func newManifestPuts() *manifestPuts {
	return &manifestPuts{counts: map[string]int{}, puts: make(chan string, 4096)}
}

func (m *manifestPuts) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		repo, ref, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
		if r.Method != http.MethodPut || !ok || sw.code != http.StatusCreated {
			return
		}
		key := repo + ":" + ref
		m.mu.Lock()
		m.counts[key]++
		m.mu.Unlock()
		select {
		case m.puts <- key:
		default:
		}
	})
}

func (m *manifestPuts) snapshot() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return clone(m.counts)
}

func clone(in map[string]int) map[string]int {
	out := make(map[string]int, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int)        { w.code = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// fixture is a seeded source and the config that mirrors it to dst.
type fixture struct {
	src   *registrytest.Server
	repos map[string][]string // source repository path → its tags
}

// seed pushes tags tags of each repository, small images with a layer
// shared by all (so shards upload one blob concurrently) and one of their own.
func seed(tb testing.TB, src *registrytest.Server, repos map[string]int, size int64) fixture {
	tb.Helper()
	f := fixture{src: src, repos: map[string][]string{}}
	shared := registrytest.RandomLayer(tb, size)
	for repo, n := range repos {
		for i := range n {
			tag := fmt.Sprintf("1.%d.%d", i/100, i%100)
			src.PushImage(tb, src.Host()+"/"+repo+":"+tag, []v1.Layer{shared, registrytest.RandomLayer(tb, size)})
			f.repos[repo] = append(f.repos[repo], tag)
		}
	}
	return f
}

// config writes the config mirroring every repository of f to dst and
// returns its path; limit caps each entry's selection.
func (f fixture) config(tb testing.TB, dir string, dst *registrytest.Server, limit int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nartifacts:\n")
	keys := mapsKeys(f.repos)
	slices.Sort(keys)
	for _, repo := range keys {
		fmt.Fprintf(&b, "  - source: %s/%s\n    destination: %s/mirror/%s\n    selector:\n      semver: \"*\"\n      limit: %d\n",
			f.src.Host(), repo, dst.Host(), repo, limit)
	}
	path := filepath.Join(dir, "flux-mirror-"+strings.ReplaceAll(dst.Host(), ":", "_")+".yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func mapsKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// command returns the binary with args; env adds to a scratch environment.
func command(ctx context.Context, tb testing.TB, env []string, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.CommandContext(ctx, fluxMirror(tb), args...)
	home := tb.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "DOCKER_CONFIG=" + home, "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

func runSync(tb testing.TB, env []string, args ...string) []byte {
	tb.Helper()
	cmd := command(context.Background(), tb, env, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("flux-mirror %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func readReport(tb testing.TB, data []byte) report.Report {
	tb.Helper()
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		tb.Fatalf("report: %v\n%s", err, data)
	}
	return r
}

// tagDigests lists every tag of repo at reg with its manifest digest.
func tagDigests(tb testing.TB, reg *registrytest.Server, repo string) map[string]string {
	tb.Helper()
	tags, err := crane.ListTags(reg.Host() + "/" + repo)
	if err != nil {
		return map[string]string{}
	}
	out := map[string]string{}
	for _, tag := range tags {
		d, err := crane.Digest(reg.Host() + "/" + repo + ":" + tag)
		if err != nil {
			tb.Fatalf("digest of %s:%s: %v", repo, tag, err)
		}
		out[tag] = d
	}
	return out
}

// wantComplete checks that repo:tag at reg is a whole image: the manifest,
// its config and every layer, each hashing to its digest.
func wantComplete(tb testing.TB, reg *registrytest.Server, repo, tag string) {
	tb.Helper()
	ref, err := name.ParseReference(reg.Host() + "/" + repo + ":" + tag)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err == nil {
		err = wholeBlobs(img)
	}
	if err != nil {
		tb.Errorf("%s:%s is present but not complete: %v", repo, tag, err)
	}
}

// wholeBlobs reads the config and every layer of img from the registry
// and checks that each hashes to its digest.
func wholeBlobs(img v1.Image) error {
	if _, err := img.RawConfigFile(); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.String() {
			return fmt.Errorf("layer %s hashes to %s", d, got)
		}
	}
	return nil
}

// TestShardedProcessesEqualUnsharded runs N processes of the binary at once,
// each its own shard as an Indexed Job's pods do, and compares their union
// with one unsharded run: the same tags with the same digests, every tag
// PUT exactly once, and report merge giving the unsharded report.
func TestShardedProcessesEqualUnsharded(t *testing.T) {
	src := registrytest.NewDistribution(t)
	f := seed(t, src, map[string]int{"big": 30, "small": 5}, 2048)
	whole := registrytest.NewDistribution(t)
	dir := t.TempDir()
	want := readReport(t, runSync(t, nil, "sync", f.config(t, dir, whole, 24), "--no-progress", "-o", "json"))

	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			puts := newManifestPuts()
			dst := registrytest.NewDistribution(t, registrytest.WithMiddleware(puts.Middleware))
			cfg := f.config(t, dir, dst, 24)
			var wg sync.WaitGroup
			files := make([]string, n)
			errs := make([]error, n)
			for i := range n {
				files[i] = filepath.Join(dir, fmt.Sprintf("%d-shard-%d.json", n, i))
				cmd := command(context.Background(), t, []string{"JOB_COMPLETION_INDEX=" + fmt.Sprint(i)},
					"sync", cfg, "--no-progress", "--shards", fmt.Sprint(n), "--report-file", files[i])
				wg.Go(func() {
					if out, err := cmd.CombinedOutput(); err != nil {
						errs[i] = fmt.Errorf("shard %d/%d: %v\n%s", i, n, err, out)
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			for repo := range f.repos {
				got, wantTags := tagDigests(t, dst, "mirror/"+repo), tagDigests(t, whole, "mirror/"+repo)
				if !reflect.DeepEqual(got, wantTags) {
					t.Errorf("mirror/%s: the shards wrote %v, the unsharded run %v", repo, got, wantTags)
				}
				for tag := range got {
					if c := puts.snapshot()["mirror/"+repo+":"+tag]; c != 1 {
						t.Errorf("mirror/%s:%s was PUT %d times, want once", repo, tag, c)
					}
				}
			}
			merged := readReport(t, runSync(t, nil, append([]string{"report", "merge", "-o", "json"}, files...)...))
			for i := range want.Report.Results {
				want.Report.Results[i].Destination = strings.Replace(want.Report.Results[i].Destination, whole.Host(), dst.Host(), 1)
			}
			if !reflect.DeepEqual(merged.Report.Results, want.Report.Results) || merged.Report.Summary != want.Report.Summary {
				t.Errorf("merged report:\n got %+v\nwant %+v", merged.Report, want.Report)
			}
			for i := range want.Report.Results {
				want.Report.Results[i].Destination = strings.Replace(want.Report.Results[i].Destination, dst.Host(), whole.Host(), 1)
			}
		})
	}
}

// firstPutGate lets the first manifest PUT through and holds the later
// ones until release is closed, then refuses those it held with 503 and
// passes every later request: a shard killed right after its first tag
// landed cannot land another in between, however fast it copies.
type firstPutGate struct {
	mu      sync.Mutex
	passed  bool
	release chan struct{}
}

func (g *firstPutGate) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			g.mu.Lock()
			first := !g.passed
			g.passed = true
			g.mu.Unlock()
			if !first {
				select {
				case <-g.release:
				default:
					<-g.release
					http.Error(w, "held until the shard was killed", http.StatusServiceUnavailable)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestKilledShardIsCompletedByItsRerun kills shard 1 of 2 right after its
// first tag landed, while it still copies: each of its tags is absent or
// complete at the destination, merging without its report fails naming the
// shard, and a re-run of index 1 completes its tags without rewriting the
// ones it had written; the merged report then shows every tag.
func TestKilledShardIsCompletedByItsRerun(t *testing.T) {
	src := registrytest.NewDistribution(t)
	f := seed(t, src, map[string]int{"app": 40}, 4096)
	puts := newManifestPuts()
	slow := counting.New()
	slow.SetLatency(20 * time.Millisecond)
	gate := &firstPutGate{release: make(chan struct{})}
	dst := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
		return slow.Middleware(gate.Middleware(puts.Middleware(h)))
	}))
	dir := t.TempDir()
	cfg := f.config(t, dir, dst, 0)
	repo := dst.Host() + "/mirror/app"
	var owned []string
	for _, tag := range f.repos["app"] {
		if shard.Of(repo, tag, 2) == 1 {
			owned = append(owned, tag)
		}
	}
	files := []string{filepath.Join(dir, "shard-0.json"), filepath.Join(dir, "shard-1.json")}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := command(ctx, t, nil, "sync", cfg, "--no-progress", "--concurrency", "1", "--shard", "1/2", "--report-file", files[1])
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	first := <-puts.puts // its first tag is in place; the others are being copied
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = killed.Wait()
	close(gate.release) // the PUTs it held fail; later runs pass
	t.Logf("killed shard 1/2 after it wrote %s", first)

	got := tagDigests(t, dst, "mirror/app")
	if len(got) == 0 || len(got) >= len(owned) {
		t.Fatalf("after the kill %d of shard 1's %d tags are present; want it stopped mid-copy", len(got), len(owned))
	}
	for tag := range got {
		if !slices.Contains(owned, tag) {
			t.Errorf("shard 1 wrote %s, which it does not own", tag)
		}
		wantComplete(t, dst, "mirror/app", tag)
	}
	if _, err := os.Stat(files[1]); err == nil {
		t.Errorf("the killed shard left a report file")
	}

	runSync(t, []string{"JOB_COMPLETION_INDEX=0"}, "sync", cfg, "--no-progress", "--shards", "2", "--report-file", files[0])
	cmd := command(context.Background(), t, nil, "report", "merge", files[0])
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "missing the report of shard 1/2") {
		t.Errorf("merge without the killed shard: %v\n%s", err, out)
	}

	before := puts.snapshot()
	runSync(t, []string{"JOB_COMPLETION_INDEX=1"}, "sync", cfg, "--no-progress", "--shards", "2", "--report-file", files[1])
	after := puts.snapshot()
	for tag := range got {
		if after["mirror/app:"+tag] != before["mirror/app:"+tag] {
			t.Errorf("the re-run wrote %s again, which the killed run had completed", tag)
		}
	}
	final := tagDigests(t, dst, "mirror/app")
	for _, tag := range f.repos["app"] {
		if final[tag] == "" {
			t.Errorf("%s is missing after the re-run", tag)
			continue
		}
		wantComplete(t, dst, "mirror/app", tag)
	}
	merged := readReport(t, runSync(t, nil, "report", "merge", "-o", "json", files[0], files[1]))
	s := merged.Report.Summary
	if s.Copied+s.Skipped != len(f.repos["app"]) || s.Skipped != len(got) || s.Failed != 0 || len(merged.Report.Results[0].Tags) != len(f.repos["app"]) {
		t.Errorf("merged summary %+v; want %d tags, the %d the killed run wrote skipped", s, len(f.repos["app"]), len(got))
	}
}
