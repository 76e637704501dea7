package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/bench/counting"
	"github.com/fluxcd/flux-mirror/bench/layers"
	"github.com/fluxcd/flux-mirror/bench/tools"
	"github.com/fluxcd/flux-mirror/core/report"
)

// Versions of the comparison tools (the newest that build with Go 1.26).
const (
	craneVersion  = "v0.22.1"
	regctlVersion = "v0.11.7"
)

// defaultLatency is added to every request on both registries during a
// timed run, so that round trips cost something, as they do on a network.
const defaultLatency = 20 * time.Millisecond

// side is one registry with its request counter.
type side struct {
	*registrytest.Server
	counter *counting.Counter
}

// newSide starts CNCF distribution in-process on 127.0.0.1 with filesystem
// storage in a temporary folder, behind a counting middleware.
func newSide(tb testing.TB) *side {
	tb.Helper()
	c := counting.New()
	s := registrytest.NewDistribution(tb, registrytest.WithFilesystem(), registrytest.WithMiddleware(c.Middleware))
	return &side{Server: s, counter: c}
}

// repo is one seeded source repository.
type repo struct {
	path    string
	tags    []string
	digests map[string]string
}

// seeded is what a scenario put in the source registry.
type seeded struct {
	repos    []repo
	workload Workload
}

// scenario is one benchmark case.
type scenario struct {
	name string
	// noop runs the tool once untimed, then times an immediate re-run.
	noop bool
	seed func(tb testing.TB, src *side) seeded
}

var scenarios = []scenario{
	{name: "shared-base-30", seed: seedSharedBase},
	{name: "large-4x64MiB", seed: seedLarge},
	{name: "multiarch-10x4", seed: seedMultiArch},
	{name: "noop-30", noop: true, seed: seedSharedBase},
}

// seedSharedBase pushes 30 tags of one repository, each an image of three
// layers: an 8 MiB base layer shared by all, a 1 MiB layer and a 16 KiB
// layer of its own. 91 distinct blobs (1 base, 60 own layers, 30 configs).
func seedSharedBase(tb testing.TB, src *side) seeded {
	tb.Helper()
	const tags = 30
	base := mustLayer(tb, 1, 8<<20)
	r := repo{path: "bench/shared", digests: map[string]string{}}
	for i := range tags {
		tag := fmt.Sprintf("1.%d.0", i)
		ls := []v1.Layer{base, mustLayer(tb, uint64(100+i), 1<<20), mustLayer(tb, uint64(200+i), 16<<10)}
		r.digests[tag] = src.PushImage(tb, r.path+":"+tag, ls)
		r.tags = append(r.tags, tag)
	}
	return seeded{repos: []repo{r}, workload: Workload{Entries: 1, Tags: tags, Blobs: 1 + 2*tags + tags}}
}

// seedLarge pushes one image of four 64 MiB layers, generated and streamed
// from seeds (never held in memory). 5 distinct blobs.
func seedLarge(tb testing.TB, src *side) seeded {
	tb.Helper()
	var ls []v1.Layer
	for i := range 4 {
		ls = append(ls, mustLayer(tb, uint64(1000+i), 64<<20))
	}
	r := repo{path: "bench/large", tags: []string{"1.0.0"}, digests: map[string]string{}}
	r.digests["1.0.0"] = src.PushImage(tb, r.path+":1.0.0", ls)
	return seeded{repos: []repo{r}, workload: Workload{Entries: 1, Tags: 1, Blobs: 5}}
}

// seedMultiArch pushes 10 tags of one repository, each an OCI index of four
// platform images; each image has its platform's 4 MiB base layer, shared by
// the ten tags, and a 512 KiB layer of its own. 40 child manifests and 84
// distinct blobs (4 bases, 40 own layers, 40 configs).
func seedMultiArch(tb testing.TB, src *side) seeded {
	tb.Helper()
	const tags = 10
	platforms := []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le"}
	bases := make([]v1.Layer, len(platforms))
	for p := range platforms {
		bases[p] = mustLayer(tb, uint64(300+p), 4<<20)
	}
	r := repo{path: "bench/multiarch", digests: map[string]string{}}
	for i := range tags {
		tag := fmt.Sprintf("2.%d.0", i)
		images := make([]registrytest.PlatformImage, len(platforms))
		for p, plat := range platforms {
			images[p] = registrytest.PlatformImage{Platform: plat, Layers: []v1.Layer{bases[p], mustLayer(tb, uint64(400+10*i+p), 512<<10)}}
		}
		r.digests[tag] = src.PushIndexOf(tb, r.path+":"+tag, images...)
		r.tags = append(r.tags, tag)
	}
	children := tags * len(platforms)
	return seeded{repos: []repo{r}, workload: Workload{Entries: 1, Tags: tags, Children: children, Blobs: len(platforms) + 2*children}}
}

func mustLayer(tb testing.TB, seed uint64, size int64) v1.Layer {
	tb.Helper()
	l, err := layers.New(seed, size)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// job is one run of a tool: mirror every tag of the seeded repositories
// from src to dst.
type job struct {
	src, dst *side
	seeded   seeded
	// dir is a scratch folder for the run (config files).
	dir string
	// env is the environment of every child process (HOME and
	// DOCKER_CONFIG point into a scratch folder).
	env []string
	// noop is set when everything is already at the destination.
	noop bool
}

// tool is one program under comparison.
type tool struct {
	name string
	// unavailable says why the tool cannot run (it failed to build or
	// install); nil when it is ready.
	unavailable error
	// required fails the benchmark when the tool is unavailable, instead
	// of skipping it: flux-mirror is what is being measured.
	required bool
	// prepare runs untimed before each run (e.g. regctl's registry
	// settings). It may be nil.
	prepare func(ctx context.Context, j job) error
	// run mirrors the job and returns one Result per process it started.
	run func(ctx context.Context, j job) ([]tools.Result, error)
}

// destination returns the destination repository of a source repository.
func destination(dst *side, r repo) string { return dst.Ref(r.path) }

// fluxMirror runs `flux-mirror sync cfg.yaml --no-progress -o json` once
// and checks its report: nothing failed, and every tag copied (or, on a
// re-run, skipped).
func fluxMirror(bin string) tool {
	return tool{name: "flux-mirror", required: true, run: func(ctx context.Context, j job) ([]tools.Result, error) {
		var entries []Entry
		for _, r := range j.seeded.repos {
			entries = append(entries, Entry{Source: j.src.Ref(r.path), Destination: destination(j.dst, r)})
		}
		cfg, err := FluxMirrorConfig(entries...)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(j.dir, "cfg.yaml")
		if err := os.WriteFile(path, cfg, 0o600); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, bin, "sync", path, "--no-progress", "-o", "json")
		cmd.Env = j.env
		res, err := tools.Run(cmd)
		if err != nil {
			return []tools.Result{res}, err
		}
		var rep report.Report
		if err := json.Unmarshal(res.Stdout, &rep); err != nil {
			return []tools.Result{res}, fmt.Errorf("flux-mirror report: %w\n%s", err, res.Stdout)
		}
		s, want := rep.Report.Summary, j.seeded.workload.Tags
		done := s.Copied
		if j.noop {
			done = s.Skipped
		}
		if s.Failed != 0 || done != want {
			return []tools.Result{res}, fmt.Errorf("flux-mirror summary %+v, want %d %s", s, want, map[bool]string{false: "copied", true: "skipped"}[j.noop])
		}
		return []tools.Result{res}, nil
	}}
}

// crane runs `crane copy --all-tags --jobs 4 SRC DST` once per repository:
// crane's own repository mode (crane.CopyRepository), with as many copies in
// flight as flux-mirror's default --concurrency.
func crane(bin string) tool {
	return tool{name: "crane", run: func(ctx context.Context, j job) ([]tools.Result, error) {
		var out []tools.Result
		for _, r := range j.seeded.repos {
			cmd := exec.CommandContext(ctx, bin, "copy", "--all-tags", "--jobs", "4", j.src.Ref(r.path), destination(j.dst, r))
			cmd.Env = j.env
			res, err := tools.Run(cmd)
			out = append(out, res)
			if err != nil {
				return out, err
			}
		}
		return out, nil
	}}
}

// regctl runs `regctl image copy SRC:TAG DST:TAG` once per tag, one after
// the other (regctl has no repository copy; regsync would be its tool for
// that). prepare marks both registries as plain HTTP with `regctl registry
// set --tls disabled`, in the scratch HOME.
func regctl(bin string) tool {
	return tool{
		name: "regctl",
		prepare: func(ctx context.Context, j job) error {
			for _, h := range []string{j.src.Host(), j.dst.Host()} {
				cmd := exec.CommandContext(ctx, bin, "registry", "set", "--tls", "disabled", h)
				cmd.Env = j.env
				if _, err := tools.Run(cmd); err != nil {
					return err
				}
			}
			return nil
		},
		run: func(ctx context.Context, j job) ([]tools.Result, error) {
			var out []tools.Result
			for _, r := range j.seeded.repos {
				for _, tag := range r.tags {
					cmd := exec.CommandContext(ctx, bin, "image", "copy", j.src.Ref(r.path)+":"+tag, destination(j.dst, r)+":"+tag)
					cmd.Env = j.env
					res, err := tools.Run(cmd)
					out = append(out, res)
					if err != nil {
						return out, err
					}
				}
			}
			return out, nil
		},
	}
}

// toolset builds flux-mirror and installs crane and regctl once per test
// binary run. A tool that cannot be had is kept with the reason, so the
// benchmark reports it instead of failing.
var toolset = sync.OnceValue(func() []tool {
	ctx := context.Background()
	var ts []tool

	fm := os.Getenv("FLUX_MIRROR_BIN")
	var fmErr error
	if fm != "" {
		if _, err := os.Stat(fm); err != nil {
			fmErr = fmt.Errorf("FLUX_MIRROR_BIN: %w", err)
		}
	} else {
		dir, err := os.MkdirTemp("", "fmbench-bin-")
		if err == nil {
			builtBins = append(builtBins, dir)
			fm, fmErr = tools.BuildFluxMirror(ctx, filepath.Join("..", "cli"), filepath.Join(dir, "flux-mirror"))
		} else {
			fmErr = err
		}
	}
	t := fluxMirror(fm)
	t.unavailable = fmErr
	ts = append(ts, t)

	cache, cacheErr := tools.CacheDir()
	install := func(pkg, version string, mk func(string) tool, name string) {
		if cacheErr != nil {
			ts = append(ts, tool{name: name, unavailable: cacheErr})
			return
		}
		bin, err := tools.GoInstall(ctx, pkg, version, filepath.Join(cache, "bin"))
		t := mk(bin)
		t.unavailable = err
		ts = append(ts, t)
	}
	install("github.com/google/go-containerregistry/cmd/crane", craneVersion, crane, "crane")
	install("github.com/regclient/regclient/cmd/regctl", regctlVersion, regctl, "regctl")
	return ts
})

// builtBins are temporary folders holding a built flux-mirror, removed by
// TestMain.
var builtBins []string

// latency returns the per-request latency of timed runs: $FMBENCH_LATENCY
// (a Go duration, "0" for none), else 20ms.
func latency(tb testing.TB) time.Duration {
	v := os.Getenv("FMBENCH_LATENCY")
	if v == "" {
		return defaultLatency
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		tb.Fatalf("FMBENCH_LATENCY=%q: want a duration such as 20ms or 0", v)
	}
	return d
}

// childEnv is the environment of the tools: the benchmark's own, with HOME
// and DOCKER_CONFIG in a scratch folder, so that no ambient credential or
// regctl setting applies.
func childEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, ".docker"), "NO_COLOR=1")
}

// measurement is one timed run of a tool.
type measurement struct {
	wall     time.Duration
	maxRSS   int64
	procs    int
	src, dst counting.Counts
}

// runOnce gives the tool a fresh destination, prepares it (and, for a no-op
// scenario, mirrors everything once, untimed), then times one run with
// latency on both registries and checks that every tag arrived with its
// source digest. The caller's timer is stopped except around the run.
func runOnce(b *testing.B, t tool, src *side, sd seeded, noop bool, lat time.Duration) measurement {
	b.Helper()
	ctx := b.Context()
	dst := newSide(b)
	home := b.TempDir()
	j := job{src: src, dst: dst, seeded: sd, dir: b.TempDir(), env: childEnv(home)}
	if t.prepare != nil {
		if err := t.prepare(ctx, j); err != nil {
			b.Fatalf("prepare %s: %v", t.name, err)
		}
	}
	if noop {
		if _, err := t.run(ctx, j); err != nil {
			b.Fatalf("%s: first run: %v", t.name, err)
		}
		j.noop = true
	}

	src.counter.Reset()
	dst.counter.Reset()
	src.counter.SetLatency(lat)
	dst.counter.SetLatency(lat)
	b.StartTimer()
	start := time.Now()
	results, err := t.run(ctx, j)
	wall := time.Since(start)
	b.StopTimer()
	src.counter.SetLatency(0)
	dst.counter.SetLatency(0)
	m := measurement{wall: wall, procs: len(results), src: src.counter.Snapshot(), dst: dst.counter.Snapshot()}
	for _, r := range results {
		m.maxRSS = max(m.maxRSS, r.MaxRSS)
	}
	if err != nil {
		b.Fatalf("%s: %v", t.name, err)
	}

	for _, r := range sd.repos {
		for _, tag := range r.tags {
			if got := dst.Digest(b, r.path+":"+tag); got != r.digests[tag] {
				b.Fatalf("%s: destination %s:%s has digest %s, want %s", t.name, r.path, tag, got, r.digests[tag])
			}
		}
	}
	return m
}

// checkContract fails the benchmark when flux-mirror sent more requests
// than the contract of the scenario allows.
func checkContract(b *testing.B, sd seeded, noop bool, m measurement) {
	b.Helper()
	srcC, dstC := CopyContract(sd.workload)
	if noop {
		srcC, dstC = NoOpContract(sd.workload)
	}
	var errs []error
	if err := srcC.Check(m.src); err != nil {
		errs = append(errs, fmt.Errorf("source: %w\n  requests: %s", err, logTail(m.src.Log)))
	}
	if err := dstC.Check(m.dst); err != nil {
		errs = append(errs, fmt.Errorf("destination: %w\n  requests: %s", err, logTail(m.dst.Log)))
	}
	if err := errors.Join(errs...); err != nil {
		b.Errorf("flux-mirror broke the request-count contract:\n%v", err)
	}
}

func logTail(log []string) string {
	if len(log) > 60 {
		log = append(log[:60:60], fmt.Sprintf("… %d more", len(log)-60))
	}
	return strings.Join(log, "\n    ")
}

// header describes the machine and settings above the results table.
func header(lat time.Duration) string {
	commit := "unknown"
	if out, err := exec.Command("git", "-C", "..", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("flux-mirror sync benchmark: commit %s, %s/%s, %d CPUs, %s latency per request on each registry, crane %s, regctl %s\n\n",
		commit, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), lat, craneVersion, regctlVersion)
}
