package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fluxcd/flux-mirror/core/report"
)

// Namespace prefixes every metric name.
const Namespace = "flux_mirror"

// HostStats counts the requests of a run to one registry or Helm
// repository host.
type HostStats struct {
	// Requests is every HTTP request sent, retries included.
	Requests int64
	// Retries is the requests that repeated a failed one.
	Retries int64
	// Throttled is the 429 Too Many Requests answers.
	Throttled int64
}

// Run is what a sync leaves behind for its metrics.
type Run struct {
	// Report is the sync's report; required.
	Report *report.Report
	// BytesCopied is the blob and manifest bytes written to destinations.
	BytesCopied int64
	// Hosts are the request counts per host (may be nil).
	Hosts map[string]HostStats
	// Labels are constant labels added to every metric, such as the shard
	// of a sharded run (may be nil). Names match [a-zA-Z_][a-zA-Z0-9_]*,
	// do not start with "__" and are none of the metrics' own labels
	// (outcome, status, host); values are UTF-8.
	Labels map[string]string
}

// Succeeded reports whether the run counts as a success for the
// last-success timestamp: nothing failed (drift is not a failure).
func (r Run) Succeeded() bool {
	return r.Report.Report.Summary.Failed == 0
}

// finished returns when the run ended.
func (r Run) finished() time.Time {
	b := r.Report.Report
	return b.Timestamp.Add(time.Duration(b.DurationMs) * time.Millisecond)
}

// lastSuccessName is the one metric a failed run leaves untouched.
const lastSuccessName = Namespace + "_last_success_timestamp_seconds"

// errNoReport is returned for a Run without a Report.
var errNoReport = errors.New("metrics of a run without a report")

// family is one metric family: gauges sharing a name and a HELP text.
type family struct {
	Name    string
	Help    string
	Samples []sample
}

// sample is one gauge of a family: its labels, sorted by name, and value.
type sample struct {
	Labels []label
	Value  float64
}

// label is one name="value" pair of a sample.
type label struct {
	Name, Value string
}

// families returns the run's metric families in the order a Prometheus
// registry gathers them: families sorted by name, without empty ones, and
// the samples of each sorted by their label values. When the run failed
// they hold no last-success metric, unless lastSuccess is non-zero: then
// that earlier success time is kept.
func families(run Run, lastSuccess time.Time) ([]family, error) {
	if run.Report == nil {
		return nil, errNoReport
	}
	constant, err := constantLabels(run.Labels)
	if err != nil {
		return nil, err
	}
	var fams []family
	gauge := func(name, help string, v float64) {
		fams = append(fams, family{Name: Namespace + "_" + name, Help: help, Samples: []sample{{Labels: slices.Clone(constant), Value: v}}})
	}
	// vec adds a family with one sample per value of the label key.
	vec := func(name, help, key string, values []string, value func(string) float64) {
		f := family{Name: Namespace + "_" + name, Help: help}
		for _, v := range values {
			f.Samples = append(f.Samples, sample{Labels: append(slices.Clone(constant), label{key, v}), Value: value(v)})
		}
		fams = append(fams, f)
	}
	b := run.Report.Report
	s := b.Summary

	counts := map[string]int{
		string(report.StatusCopied): s.Copied, string(report.StatusOverwritten): s.Overwritten, string(report.StatusSkipped): s.Skipped,
		string(report.StatusDrifted): s.Drifted, string(report.StatusWouldCopy): s.WouldCopy, string(report.StatusWouldOverwrite): s.WouldOverwrite,
	}
	failedTags := 0
	entryCounts := map[string]int{}
	for _, res := range b.Results {
		entryCounts[string(res.Status)]++
		for _, t := range res.Tags {
			if t.Status == report.StatusFailed {
				failedTags++
			}
		}
	}
	counts[string(report.StatusFailed)] = failedTags
	vec("tags", "Tags of the last run by outcome.", "outcome", stringsOf(report.Statuses), func(v string) float64 { return float64(counts[v]) })
	vec("entries", "Config entries of the last run by status.", "status", stringsOf(report.EntryStatuses), func(v string) float64 { return float64(entryCounts[v]) })
	gauge("bytes_copied", "Bytes written to destinations by the last run.", float64(run.BytesCopied))
	gauge("duration_seconds", "Wall time of the last run.", float64(b.DurationMs)/1000)
	gauge("exit_code", "Semantic exit code of the last run: 0 ok, 1 failure, 2 drift.", float64(s.ExitCode))
	gauge("last_run_timestamp_seconds", "When the last run finished, in Unix seconds.", unix(run.finished()))
	const lastSuccessHelp = "When the last run without a failure finished, in Unix seconds."
	switch {
	case run.Succeeded():
		gauge("last_success_timestamp_seconds", lastSuccessHelp, unix(run.finished()))
	case !lastSuccess.IsZero():
		gauge("last_success_timestamp_seconds", lastSuccessHelp, unix(lastSuccess))
	}

	hosts := slices.Sorted(maps.Keys(run.Hosts))
	vec("requests", "HTTP requests of the last run per host, retries included.", "host", hosts, func(h string) float64 { return float64(run.Hosts[h].Requests) })
	vec("retries", "Retried requests of the last run per host.", "host", hosts, func(h string) float64 { return float64(run.Hosts[h].Retries) })
	vec("throttled", "429 Too Many Requests answers of the last run per host.", "host", hosts, func(h string) float64 { return float64(run.Hosts[h].Throttled) })
	return normalize(fams)
}

// constantLabels checks a Run's Labels and returns them sorted by name.
func constantLabels(m map[string]string) ([]label, error) {
	out := make([]label, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !validLabelName(name) || strings.HasPrefix(name, "__") {
			return nil, fmt.Errorf("metric label %q: a name matches [a-zA-Z_][a-zA-Z0-9_]* and does not start with \"__\"", name)
		}
		if !utf8.ValidString(m[name]) {
			return nil, fmt.Errorf("metric label %s: the value %q is not valid UTF-8", name, m[name])
		}
		out = append(out, label{name, m[name]})
	}
	return out, nil
}

// normalize sorts the labels of every sample by name, refuses a name that
// appears twice in a sample (a constant label named like a metric's own)
// and a value that is not UTF-8, drops families without samples, and sorts
// families by name and samples by label values, as client_golang's
// registry does when it gathers.
func normalize(fams []family) ([]family, error) {
	out := fams[:0]
	for _, f := range fams {
		if len(f.Samples) == 0 {
			continue
		}
		for i := range f.Samples {
			ls := f.Samples[i].Labels
			slices.SortFunc(ls, func(a, b label) int { return cmp.Compare(a.Name, b.Name) })
			for j, l := range ls {
				if j > 0 && ls[j-1].Name == l.Name {
					return nil, fmt.Errorf("metric label %q: %s has a label of that name", l.Name, f.Name)
				}
				if !utf8.ValidString(l.Value) {
					return nil, fmt.Errorf("metric label %s of %s: the value %q is not valid UTF-8", l.Name, f.Name, l.Value)
				}
			}
		}
		slices.SortStableFunc(f.Samples, compareSamples)
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b family) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// compareSamples orders samples as client_golang's MetricSorter: by the
// number of labels, then by the label values in label-name order.
func compareSamples(a, b sample) int {
	if c := cmp.Compare(len(a.Labels), len(b.Labels)); c != 0 {
		return c
	}
	for i := range a.Labels {
		if c := strings.Compare(a.Labels[i].Value, b.Labels[i].Value); c != 0 {
			return c
		}
	}
	return 0
}

// validLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*, the
// label names of the text format 0.0.4.
func validLabelName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range []byte(name) {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func stringsOf[S ~string](s []S) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func unix(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}
