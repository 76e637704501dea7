package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/bench/counting"
)

func TestMarkdown(t *testing.T) {
	rows := []Row{
		{
			Scenario: "noop-30", Tool: "flux-mirror", Processes: 1, Wall: 1500 * time.Millisecond, MaxRSS: 30 << 20,
			Source:      counting.Counts{Requests: map[counting.Kind]int{counting.TagList: 1, counting.ManifestHead: 30}, BytesOut: 1 << 20, PeakInFlight: 12, Throttled: 3},
			Destination: counting.Counts{Requests: map[counting.Kind]int{counting.ManifestHead: 30}, BytesIn: 2 << 20, PeakInFlight: 9},
		},
		{Scenario: "noop-30", Tool: "crane", Processes: 1, Wall: time.Second, Failed: "exit status 1"},
		{Scenario: "noop-30", Tool: "regctl", Skipped: "install: exit status 1 | proxy\nrefused"},
	}
	got := Markdown(rows)
	for _, want := range []string{
		"| noop-30 | flux-mirror | 1.50 s | 30.0 MiB | 3.0 MiB | 31 | 30 | 12/9 | 3 | 1 |",
		"| noop-30 | crane | 1.00 s | 0.0 MiB | 0.0 MiB | 0 | 0 | 0/0 | 0 | 1 (failed: exit status 1) |",
		`| noop-30 | regctl | – | – | – | – | – | – | – | not run: install: exit status 1 \| proxy refused |`,
		"| noop-30 | flux-mirror | tags 1, manifest-HEAD 30 | manifest-HEAD 30 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing line %q in\n%s", want, got)
		}
	}
	if strings.Count(got, "regctl") != 1 {
		t.Errorf("a skipped tool belongs in the first table only:\n%s", got)
	}
}
