package report

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	tags := func(ss ...Status) []Tag {
		var out []Tag
		for _, s := range ss {
			out = append(out, Tag{Tag: "t", Status: s})
		}
		return out
	}
	tests := []struct {
		name    string
		results []Result
		want    Summary
	}{
		{
			name: "empty",
			want: Summary{},
		},
		{
			name:    "copied and skipped exit 0",
			results: []Result{{Status: EntryCompleted, Tags: tags(StatusCopied, StatusSkipped, StatusOverwritten)}},
			want:    Summary{Entries: 1, Copied: 1, Skipped: 1, Overwritten: 1, ExitCode: ExitOK},
		},
		{
			name:    "would-* does not raise the code",
			results: []Result{{Status: EntryCompleted, Tags: tags(StatusWouldCopy, StatusWouldOverwrite)}},
			want:    Summary{Entries: 1, WouldCopy: 1, WouldOverwrite: 1, ExitCode: ExitOK},
		},
		{
			name:    "drift raises 2",
			results: []Result{{Status: EntryCompleted, Tags: tags(StatusCopied, StatusDrifted)}},
			want:    Summary{Entries: 1, Copied: 1, Drifted: 1, ExitCode: ExitDrift},
		},
		{
			name: "failure wins over drift",
			results: []Result{
				{Status: EntryCompleted, Tags: tags(StatusDrifted)},
				{Status: EntryCompleted, Tags: tags(StatusFailed)},
			},
			want: Summary{Entries: 2, Drifted: 1, Failed: 1, ExitCode: ExitFailed},
		},
		{
			name: "plan failure counts as failed",
			results: []Result{
				{Status: EntryFailed, Error: "boom", Tags: []Tag{}},
				{Status: EntryCompleted, Tags: tags(StatusSkipped)},
			},
			want: Summary{Entries: 2, Skipped: 1, Failed: 1, ExitCode: ExitFailed},
		},
		{
			name: "referrer differing at the destination does not raise the exit code",
			results: []Result{{Status: EntryCompleted, Tags: []Tag{{
				Tag: "1", Status: StatusSkipped, Reason: ReasonUpToDate,
				Referrers: []Referrer{{Digest: "sha256:a", Status: StatusSkipped, Reason: ReasonReferrerDiffers}},
			}}}},
			want: Summary{Entries: 1, Skipped: 1, ExitCode: ExitOK},
		},
		{
			name: "failed referrer raises 1",
			results: []Result{{Status: EntryCompleted, Tags: []Tag{{
				Tag: "1", Status: StatusCopied,
				Referrers: []Referrer{{Digest: "sha256:a", Status: StatusFailed, Error: "x"}},
			}}}},
			want: Summary{Entries: 1, Copied: 1, ExitCode: ExitFailed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Summarize(tt.results); got != tt.want {
				t.Errorf("Summarize() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReportExitCode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		semantic, drift, want int
	}{
		{ExitOK, 7, 0},
		{ExitFailed, 7, 1},
		{ExitDrift, 7, 7},
		{ExitDrift, 0, 0},
		{ExitDrift, 2, 2},
	} {
		r := &Report{Report: Body{Summary: Summary{ExitCode: tt.semantic}}}
		if got := r.ExitCode(tt.drift); got != tt.want {
			t.Errorf("ExitCode(semantic %d, drift %d) = %d, want %d", tt.semantic, tt.drift, got, tt.want)
		}
	}
}

func TestNewFinish(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("CET", 3600))
	r := New("flux-mirror/v1.0.0", start)
	r.Report.Results = append(r.Report.Results, Result{Source: "a/b", Destination: "c/d", Status: EntryCompleted})
	r.Finish(start, start.Add(4200*time.Millisecond))
	if r.APIVersion != APIVersion || r.Kind != Kind {
		t.Errorf("apiVersion/kind = %q/%q", r.APIVersion, r.Kind)
	}
	if r.Report.DurationMs != 4200 || r.Duration() != 4200*time.Millisecond {
		t.Errorf("duration = %d ms", r.Report.DurationMs)
	}
	if r.Report.Results[0].Tags == nil {
		t.Error("tags is nil after Finish, want empty list")
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"timestamp":"2026-03-04T04:06:07Z"`, `"tags":[]`, `"entries":1`, `"exitCode":0`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
	if strings.Contains(s, "$schema") {
		t.Errorf("plain encoding carries $schema: %s", s)
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != "" {
		t.Error("WriteJSON modified the report")
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != SchemaURL {
		t.Errorf("$schema = %q, want %q", back.Schema, SchemaURL)
	}
	back.Schema = ""
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", back, *r)
	}
	// "only when" fields are omitted otherwise.
	var raw map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	results := raw["report"].(map[string]any)["results"].([]any)
	first := results[0].(map[string]any)
	if _, ok := first["error"]; ok {
		t.Error("completed result carries error")
	}
	copied := first["tags"].([]any)[0].(map[string]any)
	for _, k := range []string{"reason", "error"} {
		if _, ok := copied[k]; ok {
			t.Errorf("copied tag carries %q", k)
		}
	}
}

// sampleReport exercises every field of the Report.
func sampleReport() *Report {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := New("flux-mirror/v0.1.0", start)
	d := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	r.Report.Results = []Result{
		{
			Source: "ghcr.io/org/app", Destination: "localhost:5050/org/app", Status: EntryCompleted,
			Selection: &Selection{Listed: 7, FallbackTags: 1, Matched: 4, Selected: 4},
			Tags: []Tag{
				{Tag: "1.2.0", Status: StatusCopied, Digest: d("a"), Referrers: []Referrer{
					{Digest: d("b"), ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json", Status: StatusCopied},
					{Digest: d("c"), ArtifactType: "application/spdx+json", Status: StatusSkipped, Reason: ReasonUpToDate},
				}},
				{Tag: "1.1.0", Status: StatusSkipped, Reason: ReasonSignatureTooNew, Digest: d("d"), Verification: &Verification{
					Provider: "cosign", Issuer: "https://token.actions.githubusercontent.com",
					Identity:       "https://github.com/org/app/.github/workflows/release.yml@refs/tags/1.1.0",
					IntegratedTime: start.Add(-2 * time.Hour), Age: "2h0m0s", MinAge: "48h0m0s",
				}},
				{Tag: "1.0.0", Status: StatusFailed, Digest: d("e"), Error: "PUT https://localhost:5050/v2/org/app/blobs/uploads/: 500 Internal Server Error"},
				{Tag: "0.9.0", Status: StatusDrifted, Digest: d("f")},
			},
		},
		{Source: "ghcr.io/org/gone", Destination: "localhost:5050/org/gone", Status: EntryFailed, Error: "list tags of ghcr.io/org/gone: NAME_UNKNOWN", Tags: []Tag{}},
		{
			Source: "https://charts.example.com/podinfo", Destination: "localhost:5050/charts/podinfo", Status: EntryCompleted,
			Tags: []Tag{{Tag: "6.1.0+build.1", Status: StatusWouldCopy, Digest: d("1")}},
		},
	}
	r.Finish(start, start.Add(4200*time.Millisecond))
	return r
}
