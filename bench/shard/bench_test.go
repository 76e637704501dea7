package shard

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/bench/counting"
)

// benchLatency is the delay added to every request while a sync is timed:
// $FMBENCH_LATENCY (a Go duration, "0" for none), else 20ms, as in
// BenchmarkSync.
func benchLatency(tb testing.TB) time.Duration {
	v := os.Getenv("FMBENCH_LATENCY")
	if v == "" {
		return 20 * time.Millisecond
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		tb.Fatalf("FMBENCH_LATENCY=%q: want a duration such as 20ms or 0", v)
	}
	return d
}

// BenchmarkShardedSync mirrors 1,000 tags of one repository (small images
// sharing a base layer) with 1, 2 and 4 shards, each shard a process of the
// binary with the default --concurrency 4, all started at once, as the pods
// of an Indexed Job with that parallelism. Every request to either registry
// waits FMBENCH_LATENCY. It reports the wall time of the slowest shard and
// checks that all 1,000 tags arrived.
func BenchmarkShardedSync(b *testing.B) {
	const tags = 1000
	lat := benchLatency(b)
	srcLat := counting.New()
	src := registrytest.NewDistribution(b, registrytest.WithMiddleware(srcLat.Middleware))
	f := seed(b, src, map[string]int{"app": tags}, 1024)
	dir := b.TempDir()
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("%d-shards", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dstLat := counting.New()
				dst := registrytest.NewDistribution(b, registrytest.WithMiddleware(func(h http.Handler) http.Handler { return dstLat.Middleware(h) }))
				cfg := f.config(b, dir, dst, 0)
				srcLat.SetLatency(lat)
				dstLat.SetLatency(lat)
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				errs := make([]error, n)
				for i := range n {
					cmd := command(b.Context(), b, []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)},
						"sync", cfg, "--no-progress", "--shards", fmt.Sprint(n), "--report-file", filepath.Join(dir, fmt.Sprintf("bench-%d-%d.json", n, i)))
					wg.Go(func() {
						if out, err := cmd.CombinedOutput(); err != nil {
							errs[i] = fmt.Errorf("shard %d/%d: %v\n%s", i, n, err, out)
						}
					})
				}
				wg.Wait()
				wall := time.Since(start)
				b.StopTimer()
				srcLat.SetLatency(0)
				dstLat.SetLatency(0)
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
				if got := len(tagDigests(b, dst, "mirror/app")); got != tags {
					b.Fatalf("%d of %d tags arrived", got, tags)
				}
				b.ReportMetric(wall.Seconds(), "s/sync")
				b.ReportMetric(float64(tags)/wall.Seconds(), "tags/s")
				b.StartTimer()
			}
		})
	}
}
