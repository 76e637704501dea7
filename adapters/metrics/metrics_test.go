package metrics

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/report"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var start = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// newRun returns a run of one entry with a tag per status, finishing 2.5 s
// after start.
func newRun(statuses ...report.Status) Run {
	res := report.Result{Source: "src.example/app", Destination: "dst.example/app", Status: report.EntryCompleted}
	var s report.Summary
	for i, st := range statuses {
		t := report.Tag{Tag: "v" + string(rune('0'+i)), Status: st}
		if st == report.StatusFailed {
			t.Error = "boom"
		}
		res.Tags = append(res.Tags, t)
		switch st {
		case report.StatusCopied:
			s.Copied++
		case report.StatusSkipped:
			s.Skipped++
		case report.StatusDrifted:
			s.Drifted++
		case report.StatusFailed:
			s.Failed++
		}
	}
	s.Entries = 1
	switch {
	case s.Failed > 0:
		s.ExitCode = report.ExitFailed
	case s.Drifted > 0:
		s.ExitCode = report.ExitDrift
	}
	return Run{
		Report:      &report.Report{Report: report.Body{Timestamp: start, DurationMs: 2500, Summary: s, Results: []report.Result{res}}},
		BytesCopied: 4096,
		Hosts:       map[string]HostStats{"dst.example": {Requests: 12, Retries: 2, Throttled: 1}},
	}
}

// parse reads metrics in the text format into "name{labels}" -> value.
func parse(t *testing.T, text string) map[string]float64 {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, text)
	}
	out := map[string]float64{}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			out[name+labels(m)] = value(m)
		}
	}
	return out
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "job", "instance":
			continue // added by the Pushgateway
		}
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func value(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetUntyped().GetValue()
}

func TestTextfile(t *testing.T) {
	finished := float64(start.Add(2500*time.Millisecond).UnixMilli()) / 1000
	tests := []struct {
		name   string
		runs   []Run // written in turn to the same file
		want   map[string]float64
		absent []string
	}{
		{
			name: "a successful run",
			runs: []Run{newRun(report.StatusCopied, report.StatusCopied, report.StatusSkipped)},
			want: map[string]float64{
				"flux_mirror_tags{outcome=copied}":           2,
				"flux_mirror_tags{outcome=skipped}":          1,
				"flux_mirror_tags{outcome=failed}":           0,
				"flux_mirror_entries{status=completed}":      1,
				"flux_mirror_bytes_copied":                   4096,
				"flux_mirror_duration_seconds":               2.5,
				"flux_mirror_exit_code":                      0,
				"flux_mirror_last_run_timestamp_seconds":     finished,
				"flux_mirror_last_success_timestamp_seconds": finished,
				"flux_mirror_requests{host=dst.example}":     12,
				"flux_mirror_retries{host=dst.example}":      2,
				"flux_mirror_throttled{host=dst.example}":    1,
			},
		},
		{
			name:   "a failed first run has no last success",
			runs:   []Run{newRun(report.StatusCopied, report.StatusFailed)},
			want:   map[string]float64{"flux_mirror_tags{outcome=failed}": 1, "flux_mirror_exit_code": 1},
			absent: []string{"flux_mirror_last_success_timestamp_seconds"},
		},
		{
			name: "a failed run keeps the last success of the run before",
			runs: []Run{
				newRun(report.StatusCopied),
				func() Run {
					r := newRun(report.StatusFailed)
					r.Report.Report.Timestamp = start.Add(time.Hour)
					return r
				}(),
			},
			want: map[string]float64{
				"flux_mirror_last_success_timestamp_seconds": finished,
				"flux_mirror_last_run_timestamp_seconds":     finished + 3600,
			},
		},
		{
			name: "drift is no failure",
			runs: []Run{newRun(report.StatusDrifted)},
			want: map[string]float64{"flux_mirror_exit_code": 2, "flux_mirror_last_success_timestamp_seconds": finished},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "flux-mirror.prom")
			for _, r := range tc.runs {
				if err := WriteTextfile(path, r); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := parse(t, string(data))
			for k, v := range tc.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s is present, want absent", k)
				}
			}
		})
	}
}

func TestNeedsAReport(t *testing.T) {
	if _, err := families(Run{}, time.Time{}); !errors.Is(err, errNoReport) {
		t.Errorf("families: got %v, want %v", err, errNoReport)
	}
	if err := WriteTextfile(filepath.Join(t.TempDir(), "m.prom"), Run{}); !errors.Is(err, errNoReport) {
		t.Errorf("WriteTextfile: got %v, want %v", err, errNoReport)
	}
	if err := Push(context.Background(), "http://127.0.0.1:9/", DefaultJob, nil, Run{}, nil); !errors.Is(err, errNoReport) {
		t.Errorf("Push: got %v, want %v", err, errNoReport)
	}
}

func TestBadLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"an empty name", map[string]string{"": "x"}, `metric label "": a name matches`},
		{"a dash", map[string]string{"shard-id": "x"}, `metric label "shard-id": a name matches`},
		{"a leading digit", map[string]string{"0shard": "x"}, `metric label "0shard": a name matches`},
		{"a unicode name", map[string]string{"schärd": "x"}, `metric label "schärd": a name matches`},
		{"a reserved name", map[string]string{"__name__": "x"}, `metric label "__name__": a name matches`},
		{"a label of the tags", map[string]string{"outcome": "x"}, `metric label "outcome": flux_mirror_tags has a label of that name`},
		{"a label of the hosts", map[string]string{"host": "x"}, `metric label "host": flux_mirror_requests has a label of that name`},
		{"a value that is no UTF-8", map[string]string{"shard": "\xff"}, `metric label shard: the value "\xff" is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := newRun(report.StatusCopied)
			run.Labels = tc.labels
			path := filepath.Join(t.TempDir(), "m.prom")
			err := WriteTextfile(path, run)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("WriteTextfile: got %v, want an error starting %q", err, tc.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the file was written: %v", err)
			}
			if err := Push(context.Background(), "http://127.0.0.1:9/", DefaultJob, nil, run, nil); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Push: got %v, want an error starting %q", err, tc.want)
			}
		})
	}
}

func TestAHostThatIsNoUTF8(t *testing.T) {
	run := newRun(report.StatusCopied)
	run.Hosts = map[string]HostStats{"h\xc3": {}}
	want := `metric label host of flux_mirror_requests: the value "h\xc3" is not valid UTF-8`
	if _, err := families(run, time.Time{}); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
