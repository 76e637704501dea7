package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/bench/counting"
)

// Row is the result of one tool on one scenario.
type Row struct {
	Scenario, Tool string
	// Skipped, when set, says why the tool did not run (e.g. it could not
	// be installed); the measurements are then empty.
	Skipped string
	// Failed, when set, is the error of a comparison tool that ran but
	// did not finish (its measurements cover the run until then).
	Failed string
	// Processes is how many times the tool was started (regctl runs once
	// per tag).
	Processes int
	// Wall is the total wall time of the timed run.
	Wall time.Duration
	// MaxRSS is the largest peak resident set size of any of the tool's
	// processes, in bytes.
	MaxRSS int64
	// Source and Destination are the requests and bytes each registry saw.
	Source, Destination counting.Counts
}

// MovedBytes is what crossed the wire as content: bytes downloaded from the
// source plus bytes uploaded to the destination.
func (r Row) MovedBytes() int64 { return r.Source.BytesOut + r.Destination.BytesIn }

const mib = 1 << 20

// Markdown renders rows as two Markdown tables: the totals (with the most
// requests each registry had in flight at once, and the 429 answers of a
// throttled source), then the requests per route kind on each side.
func Markdown(rows []Row) string {
	var b strings.Builder
	b.WriteString("| scenario | tool | wall | peak RSS | moved | source requests | destination requests | in flight src/dst | 429s | processes |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		if r.Skipped != "" {
			fmt.Fprintf(&b, "| %s | %s | – | – | – | – | – | – | – | not run: %s |\n", r.Scenario, r.Tool, cell(r.Skipped))
			continue
		}
		procs := fmt.Sprint(r.Processes)
		if r.Failed != "" {
			procs += " (failed: " + cell(r.Failed) + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f s | %.1f MiB | %.1f MiB | %d | %d | %d/%d | %d | %s |\n",
			r.Scenario, r.Tool, r.Wall.Seconds(), float64(r.MaxRSS)/mib, float64(r.MovedBytes())/mib,
			r.Source.Total(), r.Destination.Total(), r.Source.PeakInFlight, r.Destination.PeakInFlight,
			r.Source.Throttled+r.Destination.Throttled, procs)
	}
	b.WriteString("\n| scenario | tool | source requests by kind | destination requests by kind |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, r := range rows {
		if r.Skipped != "" {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Scenario, r.Tool, r.Source, r.Destination)
	}
	return b.String()
}

// cell makes s safe for one Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
