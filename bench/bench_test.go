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
	rows     []Row
	verdicts []Verdict
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
	rows, verdicts := results.rows, results.verdicts
	results.Unlock()
	if len(rows) > 0 {
		fmt.Print("\n" + header(latencyUsed) + Markdown(rows))
	}
	if len(verdicts) > 0 {
		fmt.Print("\n" + TargetsMarkdown(verdicts))
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
	shared := map[string]sharedSource{}
	for _, sc := range scenarios {
		b.Run(sc.name, func(sb *testing.B) {
			var src *side
			var sd seeded
			if s, ok := shared[sc.source]; ok && sc.source != "" {
				src, sd = s.side, s.seeded
			} else {
				owner := sb // a shared source lives as long as the whole benchmark
				if sc.source != "" {
					owner = b
				}
				src = newSide(owner)
				sd = sc.seed(owner, src)
				if sc.source != "" {
					shared[sc.source] = sharedSource{src, sd}
				}
			}
			for _, t := range ts {
				if !sc.runs(t.name) {
					continue
				}
				sb.Run(t.name, func(b *testing.B) {
					if t.unavailable != nil && t.required {
						b.Fatalf("%s is not available: %v", t.name, t.unavailable)
					}
					if t.unavailable != nil {
						addRow(Row{Scenario: sc.name, Tool: t.name, Skipped: t.unavailable.Error()})
						b.Skipf("%s is not available: %v", t.name, t.unavailable)
					}
					if t.name == "regctl" && sd.workload.Tags > regctlMaxTags {
						why := fmt.Sprintf("one process per tag: %d processes", sd.workload.Tags)
						addRow(Row{Scenario: sc.name, Tool: t.name, Skipped: why})
						b.Skip(why)
					}
					b.StopTimer()
					var m measurement
					for range b.N {
						ms := make([]measurement, 0, max(sc.repeat, 1))
						for range max(sc.repeat, 1) {
							ms = append(ms, runOnce(b, t, src, sd, sc, lat))
						}
						m = median(ms)
					}
					// The contract is for runs without faults: a throttled
					// request's retry (and the upload session a failed
					// source GET left open) comes on top.
					if t.name == "flux-mirror" && sc.throttle == nil {
						checkContract(b, sd, sc.noop, m)
					}
					b.ReportMetric(float64(m.src.Total()), "src-reqs")
					b.ReportMetric(float64(m.dst.Total()), "dst-reqs")
					b.ReportMetric(float64(m.maxRSS)/mib, "peak-RSS-MiB")
					row := Row{Scenario: sc.name, Tool: t.name, Processes: m.procs, Wall: m.wall, MaxRSS: m.maxRSS, Source: m.src, Destination: m.dst}
					if m.err != nil {
						row.Failed = m.err.Error()
						b.Logf("%s failed: %v", t.name, m.err)
					}
					b.ReportMetric(float64(row.MovedBytes())/mib, "MiB-moved")
					b.Logf("source: %s; destination: %s", m.src, m.dst)
					addRow(row)
				})
			}
			for _, v := range Check(sc.name, sc.targets, rowsOf(sc.name)) {
				addVerdict(v)
				if v.Failed() {
					sb.Errorf("target missed: %s", v)
				}
			}
		})
	}
}

// sharedSource is a seeded source registry used by several scenarios.
type sharedSource struct {
	side   *side
	seeded seeded
}

// rowsOf returns the rows of one scenario so far.
func rowsOf(scenario string) []Row {
	results.Lock()
	defer results.Unlock()
	var out []Row
	for _, r := range results.rows {
		if r.Scenario == scenario {
			out = append(out, r)
		}
	}
	return out
}

func addVerdict(v Verdict) {
	results.Lock()
	defer results.Unlock()
	results.verdicts = append(results.verdicts, v)
}
