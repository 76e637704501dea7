package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/bench/counting"
)

func TestCheck(t *testing.T) {
	fm := Row{Tool: "flux-mirror", Wall: 2 * time.Second, MaxRSS: 20 << 20, Source: counting.Counts{Throttled: 5}}
	crane := Row{Tool: "crane", Wall: 5 * time.Second, Source: counting.Counts{Throttled: 50}}
	regctl := Row{Tool: "regctl", Wall: 3 * time.Second}
	skipped := Row{Tool: "regsync", Skipped: "install failed"}
	failed := Row{Tool: "crane-jobs-32", Wall: time.Second, Failed: "exit status 1", Source: counting.Counts{Throttled: 80}}
	rows := []Row{fm, crane, regctl, skipped, failed}
	cases := []struct {
		name      string
		target    target
		missed    bool
		unchecked string
		ratio     float64
		peer      string
	}{
		{name: "met", target: target{Metric: MetricWall, Peer: "crane", Max: 0.5}, ratio: 0.4, peer: "crane"},
		{name: "missed", target: target{Metric: MetricWall, Peer: "crane", Max: 0.3}, missed: true, ratio: 0.4, peer: "crane"},
		{name: "best peer is the fastest that finished", target: target{Metric: MetricWall, Peer: BestPeer, Max: 1}, ratio: 2.0 / 3, peer: "regctl"},
		{name: "skipped peer", target: target{Metric: MetricWall, Peer: "regsync", Max: 0.3}, unchecked: "regsync did not run to the end", peer: "regsync"},
		{name: "failed peer", target: target{Metric: MetricWall, Peer: "crane-jobs-32", Max: 0.3}, unchecked: "crane-jobs-32 did not run to the end", peer: "crane-jobs-32"},
		{name: "rss met", target: target{Metric: MetricRSS, Max: 32 << 20}, ratio: 20.0 / 32},
		{name: "rss missed", target: target{Metric: MetricRSS, Max: 16 << 20}, missed: true, ratio: 20.0 / 16},
		{name: "fewer 429s, even against a peer that gave up", target: target{Metric: MetricThrottled, Peer: "crane-jobs-32", Max: 1}, peer: "crane-jobs-32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := Check("s", []target{tc.target}, rows)[0]
			if v.Missed != tc.missed || v.Unchecked != tc.unchecked || v.Peer != tc.peer {
				t.Errorf("verdict %+v", v)
			}
			if tc.unchecked == "" && tc.ratio != 0 && (v.Ratio < tc.ratio-1e-9 || v.Ratio > tc.ratio+1e-9) {
				t.Errorf("ratio %v, want %v", v.Ratio, tc.ratio)
			}
		})
	}
	md := TargetsMarkdown(Check("noop-30", []target{{Metric: MetricWall, Peer: "crane", Max: 0.3}}, rows))
	if !strings.Contains(md, "| noop-30 | flux-mirror wall ≤ 0.30x crane | 0.40x (2.00 s against crane's 5.00 s) | **no** |") {
		t.Errorf("table:\n%s", md)
	}
}

func TestRegsyncConfig(t *testing.T) {
	got := string(RegsyncConfig(4,
		Entry{Source: "127.0.0.1:1/a", Destination: "127.0.0.1:2/a"},
		Entry{Source: "127.0.0.1:1/b", Destination: "127.0.0.1:2/b"}))
	want := `version: 1
creds:
  - registry: "127.0.0.1:1"
    tls: disabled
  - registry: "127.0.0.1:2"
    tls: disabled
defaults:
  parallel: 4
sync:
  - source: "127.0.0.1:1/a"
    target: "127.0.0.1:2/a"
    type: repository
  - source: "127.0.0.1:1/b"
    target: "127.0.0.1:2/b"
    type: repository
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestMedian(t *testing.T) {
	ms := []measurement{{wall: 3 * time.Second}, {wall: time.Second}, {wall: 2 * time.Second}}
	if got := median(ms); got.wall != 2*time.Second {
		t.Errorf("median %s", got.wall)
	}
	if got := median(ms[:1]); got.wall != 3*time.Second {
		t.Errorf("median of one %s", got.wall)
	}
}
