package bench

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/fluxcd/flux-mirror/bench/tools"
)

// results collects one Row per tool and scenario for the table TestMain
// prints after the benchmarks. The framework may call a benchmark function
// more than once (growing b.N); the last call's row wins.
var results struct {
	sync.Mutex
	rows []Row
}

func addRow(r Row) {
	results.Lock()
	defer results.Unlock()
	for i, old := range results.rows {
		if old.Scenario == r.Scenario && old.Tool == r.Tool {
			results.rows[i] = r
			return
		}
	}
	results.rows = append(results.rows, r)
}

// TestMain makes the test binary the tools' launcher (see tools.Main), then
// runs the tests and benchmarks and prints the results table, if any.
func TestMain(m *testing.M) {
	tools.Main()
	code := m.Run()
	for _, d := range builtBins {
		_ = os.RemoveAll(d)
	}
	results.Lock()
	rows := results.rows
	results.Unlock()
	if len(rows) > 0 {
		fmt.Print("\n" + header(latencyUsed) + Markdown(rows))
	}
	os.Exit(code)
}

// latencyUsed is the latency of the timed runs, for the table's header.
var latencyUsed = defaultLatency

// BenchmarkSync mirrors each scenario with each tool between two real
// registries on loopback (CNCF distribution, filesystem storage), each
// behind a counting middleware that adds latency (FMBENCH_LATENCY, default
// 20ms) per request. Run it once per case:
//
//	go test -run '^$' -bench . -benchtime 1x
//
// Metrics per case: wall time (ns/op), src-reqs and dst-reqs (requests per
// registry), peak-RSS-MiB (largest peak resident memory of the tool's
// processes) and MiB-moved (downloaded from the source plus uploaded to the
// destination). For flux-mirror, the request counts must stay within the
// scenario's Contract, or the benchmark fails. A tool that cannot be built
// or installed is skipped with the reason, in the log and in the table,
// except flux-mirror itself: if it does not build, the benchmark fails.
func BenchmarkSync(b *testing.B) {
	lat := latency(b)
	latencyUsed = lat
	ts := toolset()
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			src := newSide(b)
			sd := sc.seed(b, src)
			for _, t := range ts {
				b.Run(t.name, func(b *testing.B) {
					if t.unavailable != nil && t.required {
						b.Fatalf("%s is not available: %v", t.name, t.unavailable)
					}
					if t.unavailable != nil {
						addRow(Row{Scenario: sc.name, Tool: t.name, Skipped: t.unavailable.Error()})
						b.Skipf("%s is not available: %v", t.name, t.unavailable)
					}
					b.StopTimer()
					var m measurement
					for range b.N {
						m = runOnce(b, t, src, sd, sc.noop, lat)
					}
					if t.name == "flux-mirror" {
						checkContract(b, sd, sc.noop, m)
					}
					b.ReportMetric(float64(m.src.Total()), "src-reqs")
					b.ReportMetric(float64(m.dst.Total()), "dst-reqs")
					b.ReportMetric(float64(m.maxRSS)/mib, "peak-RSS-MiB")
					row := Row{Scenario: sc.name, Tool: t.name, Processes: m.procs, Wall: m.wall, MaxRSS: m.maxRSS, Source: m.src, Destination: m.dst}
					b.ReportMetric(float64(row.MovedBytes())/mib, "MiB-moved")
					b.Logf("source: %s; destination: %s", m.src, m.dst)
					addRow(row)
				})
			}
		})
	}
}
