package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	regctlVersion = "v0.11.7" // regsync is from the same module and version
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
	// source, when set, names a source registry shared with other
	// scenarios (seeded once, kept until the benchmark ends).
	source string
	// tools, when set, lists the only tools that run.
	tools []string
	// throttle makes the source answer 429 above a request rate during the
	// timed run.
	throttle *throttle
	// targets are asserted after the scenario's tools ran.
	targets []target
	// repeat times each tool this many times (default once) and keeps the
	// run with the median wall time, for short scenarios whose single
	// runs the shared machine's noise would decide.
	repeat int
}

// throttle is a source rate limit: requests per second, burst, Retry-After.
type throttle struct {
	rate       float64
	burst      int
	retryAfter time.Duration
}

// runs reports whether tool runs in the scenario: every tool but the
// fixed-high-concurrency crane (only where a scenario lists it), or those
// the scenario lists.
func (sc scenario) runs(tool string) bool {
	if len(sc.tools) == 0 {
		return tool != "crane-jobs-32"
	}
	return slices.Contains(sc.tools, tool)
}

var scenarios = []scenario{
	{name: "shared-base-30", seed: seedSharedBase, source: "shared-base-30", repeat: 3,
		targets: []target{{Metric: MetricWall, Peer: "crane", Max: 0.6}}},
	{name: "large-4x64MiB", seed: seedLarge, repeat: 3,
		targets: []target{{Metric: MetricWall, Peer: BestPeer, Max: 1.0}}},
	{name: "multiarch-10x4", seed: seedMultiArch},
	{name: "noop-30", noop: true, seed: seedSharedBase, source: "shared-base-30", repeat: 3,
		targets: []target{{Metric: MetricWall, Peer: "crane", Max: 0.5}}},
	// regsync is not run at 1,000 tags: it took 238 s cold and 42 s for the
	// no-op (plus an untimed 238 s first copy) in one run, which would
	// double the benchmark's time for a peer the targets do not use there.
	{name: "tags-1000", seed: seedThousand, source: "tags-1000", tools: []string{"flux-mirror", "crane"},
		targets: []target{{Metric: MetricWall, Peer: "crane", Max: 0.5}}},
	{name: "noop-1000", noop: true, seed: seedThousand, source: "tags-1000", tools: []string{"flux-mirror", "crane"},
		targets: []target{{Metric: MetricWall, Peer: "crane", Max: 0.2}}},
	{name: "entries-100x3", seed: seedEntries,
		targets: []target{{Metric: MetricWall, Peer: "regsync", Max: 0.3}}},
	{name: "large-1GiB", seed: seedGiB, tools: []string{"flux-mirror", "crane"},
		targets: []target{{Metric: MetricRSS, Max: 32 << 20}}},
	{name: "storm-429", seed: seedStorm, tools: []string{"flux-mirror", "crane-jobs-32"},
		throttle: &throttle{rate: 100, burst: 10, retryAfter: time.Second},
		targets:  []target{{Metric: MetricThrottled, Peer: "crane-jobs-32", Max: 1}}},
}

// regctlMaxTags: regctl runs one process per tag; beyond this many tags it
// is not run (its cost is a process start per tag, shown at 30 tags).
const regctlMaxTags = 40

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

// seedSmallTags pushes n tags 1.0.0…1.0.<n-1> of one repository, each an
// image of a base layer shared by all and a small layer of its own.
func seedSmallTags(tb testing.TB, src *side, path string, n int, base v1.Layer, own int64, seed uint64) seeded {
	tb.Helper()
	r := repo{path: path, digests: map[string]string{}}
	for i := range n {
		tag := fmt.Sprintf("1.0.%d", i)
		r.digests[tag] = src.PushImage(tb, r.path+":"+tag, []v1.Layer{base, mustLayer(tb, seed+uint64(i), own)})
		r.tags = append(r.tags, tag)
	}
	return seeded{repos: []repo{r}, workload: Workload{Entries: 1, Tags: n, Blobs: 1 + 2*n}}
}

// seedThousand pushes 1,000 tags of one repository: a 1 MiB base layer
// shared by all, an 8 KiB layer of its own each. 2,001 distinct blobs.
func seedThousand(tb testing.TB, src *side) seeded {
	tb.Helper()
	return seedSmallTags(tb, src, "bench/thousand", 1000, mustLayer(tb, 7, 1<<20), 8<<10, 10_000)
}

// seedStorm pushes 100 tags like seedThousand's (a 256 KiB base).
func seedStorm(tb testing.TB, src *side) seeded {
	tb.Helper()
	return seedSmallTags(tb, src, "bench/storm", 100, mustLayer(tb, 9, 256<<10), 4<<10, 20_000)
}

// seedEntries pushes 100 repositories of 3 tags each (one config entry
// per repository); every image has a 4 MiB base layer shared by all 300
// and a 64 KiB layer of its own. 601 distinct blobs; at the destination
// the base is needed in 100 repositories, so 99 of them may mount it.
func seedEntries(tb testing.TB, src *side) seeded {
	tb.Helper()
	base := mustLayer(tb, 8, 4<<20)
	sd := seeded{workload: Workload{Entries: 100, Tags: 300, Blobs: 1 + 2*300, Mounts: 99}}
	for e := range 100 {
		r := repo{path: fmt.Sprintf("bench/entry%03d", e), digests: map[string]string{}}
		for i := range 3 {
			tag := fmt.Sprintf("1.%d.0", i)
			r.digests[tag] = src.PushImage(tb, r.path+":"+tag, []v1.Layer{base, mustLayer(tb, uint64(30_000+10*e+i), 64<<10)})
			r.tags = append(r.tags, tag)
		}
		sd.repos = append(sd.repos, r)
	}
	return sd
}

// seedGiB pushes one image with a single 1 GiB layer, generated and
// streamed from a seed. 2 distinct blobs.
func seedGiB(tb testing.TB, src *side) seeded {
	tb.Helper()
	r := repo{path: "bench/gib", tags: []string{"1.0.0"}, digests: map[string]string{}}
	r.digests["1.0.0"] = src.PushImage(tb, r.path+":1.0.0", []v1.Layer{mustLayer(tb, 5000, 1<<30)})
	return seeded{repos: []repo{r}, workload: Workload{Entries: 1, Tags: 1, Blobs: 2}}
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

// crane runs `crane copy --all-tags --jobs N SRC DST` once per
// repository: crane's own repository mode (crane.CopyRepository). With 4
// jobs ("crane") it has as many copies in flight as flux-mirror's default
// --concurrency; "crane-jobs-32" is a fixed high concurrency, for the
// 429 storm.
func crane(bin string, jobs int) tool {
	name := "crane"
	if jobs != 4 {
		name = fmt.Sprintf("crane-jobs-%d", jobs)
	}
	return tool{name: name, run: func(ctx context.Context, j job) ([]tools.Result, error) {
		var out []tools.Result
		for _, r := range j.seeded.repos {
			cmd := exec.CommandContext(ctx, bin, "copy", "--all-tags", "--jobs", fmt.Sprint(jobs), j.src.Ref(r.path), destination(j.dst, r))
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

// regsync runs `regsync once -c cfg.yaml` with one repository sync per
// seeded repository (RegsyncConfig: plain HTTP, 4 in parallel).
func regsync(bin string) tool {
	return tool{name: "regsync", run: func(ctx context.Context, j job) ([]tools.Result, error) {
		var entries []Entry
		for _, r := range j.seeded.repos {
			entries = append(entries, Entry{Source: j.src.Ref(r.path), Destination: destination(j.dst, r)})
		}
		path := filepath.Join(j.dir, "regsync.yaml")
		if err := os.WriteFile(path, RegsyncConfig(4, entries...), 0o600); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, bin, "once", "-c", path)
		cmd.Env = j.env
		res, err := tools.Run(cmd)
		return []tools.Result{res}, err
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
	install("github.com/google/go-containerregistry/cmd/crane", craneVersion, func(bin string) tool { return crane(bin, 4) }, "crane")
	install("github.com/regclient/regclient/cmd/regctl", regctlVersion, regctl, "regctl")
	install("github.com/regclient/regclient/cmd/regsync", regctlVersion, regsync, "regsync")
	install("github.com/google/go-containerregistry/cmd/crane", craneVersion, func(bin string) tool { return crane(bin, 32) }, "crane-jobs-32")
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

// median returns the measurement with the median wall time (the upper
// one of an even count).
func median(ms []measurement) measurement {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measurement) int { return cmp.Compare(a.wall, b.wall) })
	return s[len(s)/2]
}

// measurement is one timed run of a tool.
type measurement struct {
	wall     time.Duration
	maxRSS   int64
	procs    int
	src, dst counting.Counts
	err      error // a peer's failure
}

// runOnce gives the tool a fresh destination, prepares it (and, for a no-op
// scenario, mirrors everything once, untimed), then times one run with
// latency on both registries and checks that every tag arrived with its
// source digest. The caller's timer is stopped except around the run.
func runOnce(b *testing.B, t tool, src *side, sd seeded, sc scenario, lat time.Duration) measurement {
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
	if sc.noop {
		if _, err := t.run(ctx, j); err != nil {
			b.Fatalf("%s: first run: %v", t.name, err)
		}
		j.noop = true
	}

	// Every run starts with nothing left to write back: the first tool after
	// seeding 1 GiB would otherwise share the disk with its writeback.
	tools.FlushDirtyPages()
	src.counter.Reset()
	dst.counter.Reset()
	src.counter.SetLatency(lat)
	dst.counter.SetLatency(lat)
	if th := sc.throttle; th != nil {
		src.counter.SetThrottle(th.rate, th.burst, th.retryAfter)
	}
	b.StartTimer()
	start := time.Now()
	results, err := t.run(ctx, j)
	wall := time.Since(start)
	b.StopTimer()
	src.counter.SetThrottle(0, 0, 0)
	src.counter.SetLatency(0)
	dst.counter.SetLatency(0)
	m := measurement{wall: wall, procs: len(results), src: src.counter.Snapshot(), dst: dst.counter.Snapshot(), err: err}
	for _, r := range results {
		m.maxRSS = max(m.maxRSS, r.MaxRSS)
	}
	if err != nil {
		if t.required {
			b.Fatalf("%s: %v", t.name, err)
		}
		return m // a peer that fails is reported, not fatal
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
	return fmt.Sprintf("flux-mirror sync benchmark: commit %s, %s/%s, %d CPUs, %s latency per request on each registry, crane %s, regctl and regsync %s\n\n",
		commit, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), lat, craneVersion, regctlVersion)
}
