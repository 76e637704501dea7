package bench

import (
	"fmt"
	"strings"
	"time"
)

// Metric is what a target compares.
type Metric string

const (
	// MetricWall compares flux-mirror's wall time with a peer's.
	MetricWall Metric = "wall"
	// MetricRSS bounds flux-mirror's peak RSS (Max is bytes).
	MetricRSS Metric = "peak-RSS"
	// MetricThrottled compares the 429 answers flux-mirror drew with a
	// peer's on a throttled registry.
	MetricThrottled Metric = "429s"
)

// BestPeer as a target's peer means the fastest peer of the scenario.
const BestPeer = "best peer"

// target is one performance goal of a scenario: flux-mirror's Metric at
// most Max times the peer's (MetricWall), below Max times the peer's
// (MetricThrottled), or at most Max bytes (MetricRSS).
type target struct {
	Metric Metric
	Peer   string
	Max    float64
}

// Verdict is a target checked against one run.
type Verdict struct {
	Scenario string
	Target   target
	// Peer is the peer compared with (the fastest one for BestPeer).
	Peer string
	// Got is flux-mirror's value, Ref the peer's (or the bound); Ratio is
	// Got/Ref where a ratio applies.
	Got, Ref, Ratio float64
	// Unchecked says why the target could not be checked (a tool did not
	// run); Missed is set when it was checked and not met.
	Unchecked string
	Missed    bool
}

// Failed reports a checked target that was missed. An unchecked target
// does not fail: the table shows it.
func (v Verdict) Failed() bool { return v.Missed }

func (v Verdict) String() string {
	if v.Unchecked != "" {
		return fmt.Sprintf("%s: %s not checked: %s", v.Scenario, v.goal(), v.Unchecked)
	}
	return fmt.Sprintf("%s: %s; got %s", v.Scenario, v.goal(), v.got())
}

func (v Verdict) goal() string {
	switch v.Target.Metric {
	case MetricRSS:
		return fmt.Sprintf("flux-mirror peak RSS ≤ %.0f MiB", v.Target.Max/mib)
	case MetricThrottled:
		return fmt.Sprintf("flux-mirror draws fewer 429s than %s", v.Target.Peer)
	}
	return fmt.Sprintf("flux-mirror wall ≤ %.2fx %s", v.Target.Max, v.Target.Peer)
}

func (v Verdict) got() string {
	switch v.Target.Metric {
	case MetricRSS:
		return fmt.Sprintf("%.1f MiB", v.Got/mib)
	case MetricThrottled:
		return fmt.Sprintf("%.0f against %.0f", v.Got, v.Ref)
	}
	return fmt.Sprintf("%.2fx (%.2f s against %s's %.2f s)", v.Ratio, v.Got, v.Peer, v.Ref)
}

// Check evaluates a scenario's targets against its rows (flux-mirror's
// and the peers'). A peer that was skipped or failed leaves a wall target
// unchecked; a failed peer still counts for MetricThrottled (it drew its
// 429s before it gave up).
func Check(scenario string, targets []target, rows []Row) []Verdict {
	byTool := map[string]Row{}
	for _, r := range rows {
		byTool[r.Tool] = r
	}
	var out []Verdict
	for _, t := range targets {
		v := Verdict{Scenario: scenario, Target: t, Peer: t.Peer}
		fm, ok := byTool["flux-mirror"]
		if !ok || fm.Skipped != "" {
			v.Unchecked = "flux-mirror did not run"
			out = append(out, v)
			continue
		}
		switch t.Metric {
		case MetricRSS:
			v.Got, v.Ref = float64(fm.MaxRSS), t.Max
			v.Ratio = v.Got / v.Ref
			v.Missed = v.Got > t.Max
		case MetricThrottled:
			p, ok := byTool[t.Peer]
			if !ok || p.Skipped != "" {
				v.Unchecked = t.Peer + " did not run"
				break
			}
			v.Got = float64(fm.Source.Throttled + fm.Destination.Throttled)
			v.Ref = float64(p.Source.Throttled + p.Destination.Throttled)
			v.Missed = v.Got >= v.Ref*t.Max
		default:
			p, why := peerRow(t.Peer, rows)
			if why != "" {
				v.Unchecked = why
				break
			}
			v.Peer = p.Tool
			v.Got, v.Ref = fm.Wall.Seconds(), p.Wall.Seconds()
			v.Ratio = float64(fm.Wall) / float64(max(p.Wall, time.Nanosecond))
			v.Missed = v.Ratio > t.Max
		}
		out = append(out, v)
	}
	return out
}

// peerRow returns the named peer's row, or the fastest peer's for
// BestPeer, among those that ran to the end; else why there is none.
func peerRow(name string, rows []Row) (Row, string) {
	var best Row
	for _, r := range rows {
		if r.Tool == "flux-mirror" || r.Skipped != "" || r.Failed != "" {
			continue
		}
		if name == BestPeer && (best.Tool == "" || r.Wall < best.Wall) || r.Tool == name {
			best = r
		}
	}
	if best.Tool == "" {
		return Row{}, name + " did not run to the end"
	}
	return best, ""
}

// TargetsMarkdown renders the verdicts as a Markdown table.
func TargetsMarkdown(vs []Verdict) string {
	var b strings.Builder
	b.WriteString("| scenario | target | result | met |\n|---|---|---|---|\n")
	for _, v := range vs {
		met := "yes"
		switch {
		case v.Unchecked != "":
			met = "not checked: " + cell(v.Unchecked)
		case v.Missed:
			met = "**no**"
		}
		res := "–"
		if v.Unchecked == "" {
			res = v.got()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", v.Scenario, v.goal(), res, met)
	}
	return b.String()
}
