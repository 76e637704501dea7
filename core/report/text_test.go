package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	want := `✓ ghcr.io/org/app:1.2.0 (copied)
  → localhost:5050/org/app:1.2.0
  ↳ referrer sha256:bbbbbbbbbbbb application/vnd.dev.sigstore.bundle.v0.3+json (copied)
✓ ghcr.io/org/app:1.1.0 (skipped: signature-too-new, signed 2h0m0s ago, minAge 48h0m0s)
  → localhost:5050/org/app:1.1.0
✗ ghcr.io/org/app:1.0.0 — PUT https://localhost:5050/v2/org/app/blobs/uploads/: 500 Internal Server Error
  → localhost:5050/org/app:1.0.0
! ghcr.io/org/app:0.9.0 (drifted)
  → localhost:5050/org/app:0.9.0
✗ ghcr.io/org/gone — plan failed: list tags of ghcr.io/org/gone: NAME_UNKNOWN
✓ https://charts.example.com/podinfo:6.1.0+build.1 (would-copy)
  → localhost:5050/charts/podinfo:6.1.0_build.1
Summary: 1 copied, 1 would copy, 1 skipped, 1 drifted, 2 failed in 4.2s.
`
	if got := buf.String(); got != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTagSpecExample(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	res := Result{Source: "ghcr.io/stefanprodan/charts/podinfo", Destination: "localhost:5050/charts/podinfo", Status: EntryCompleted}
	if err := WriteTag(&buf, res, Tag{Tag: "6.10.2", Status: StatusSkipped, Reason: ReasonUpToDate}); err != nil {
		t.Fatal(err)
	}
	failed := Result{Source: "ghcr.io/stefanprodan/charts/podinfo2", Status: EntryFailed, Error: "NAME_UNKNOWN"}
	if err := WriteResult(&buf, failed); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummary(&buf, Summary{Copied: 1, Skipped: 1, Failed: 1}, 4200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	want := "✓ ghcr.io/stefanprodan/charts/podinfo:6.10.2 (skipped)\n" +
		"  → localhost:5050/charts/podinfo:6.10.2\n" +
		"✗ ghcr.io/stefanprodan/charts/podinfo2 — plan failed: NAME_UNKNOWN\n" +
		"Summary: 1 copied, 1 skipped, 1 failed in 4.2s.\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestFormatCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    Summary
		want string
	}{
		{Summary{}, "nothing to mirror"},
		{Summary{Entries: 3}, "nothing to mirror"},
		{Summary{Skipped: 5}, "5 skipped"},
		{Summary{Copied: 1, Overwritten: 2, WouldCopy: 3, WouldOverwrite: 4, Skipped: 5, Drifted: 6, Failed: 7},
			"1 copied, 2 overwritten, 3 would copy, 4 would overwrite, 5 skipped, 6 drifted, 7 failed"},
	}
	for _, tt := range tests {
		if got := FormatCounts(tt.s); got != tt.want {
			t.Errorf("FormatCounts(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"},
		{40 * time.Millisecond, "0.0s"},
		{4200 * time.Millisecond, "4.2s"},
		{59900 * time.Millisecond, "59.9s"},
		{125400 * time.Millisecond, "2m5s"},
		{2*time.Hour + 3*time.Second, "2h0m3s"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestOneLineError(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	res := Result{Source: "r.io/a", Destination: "d.io/a"}
	if err := WriteTag(&buf, res, Tag{Tag: "1", Status: StatusFailed, Error: "first\nsecond\n  third"}); err != nil {
		t.Fatal(err)
	}
	want := "✗ r.io/a:1 — first second third\n  → d.io/a:1\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// TestWriteTagReferrerLines: referrers skipped as up to date are hidden;
// one skipped for another reason (differs-at-destination) shows it.
func TestWriteTagReferrerLines(t *testing.T) {
	t.Parallel()
	const sig = "application/vnd.example.sig"
	res := Result{Source: "ghcr.io/org/app", Destination: "localhost:5050/org/app", Status: EntryCompleted}
	tag := Tag{Tag: "1.0.0", Status: StatusSkipped, Reason: ReasonUpToDate, Referrers: []Referrer{
		{Digest: "sha256:" + strings.Repeat("a", 64), ArtifactType: sig, Status: StatusSkipped, Reason: ReasonUpToDate},
		{Digest: "sha256:" + strings.Repeat("b", 64), ArtifactType: sig, Status: StatusSkipped, Reason: ReasonReferrerDiffers},
		{Digest: "sha256:" + strings.Repeat("c", 64), ArtifactType: sig, Status: StatusWouldOverwrite},
		{Digest: "sha256:" + strings.Repeat("d", 64), Status: StatusOverwritten},
	}}
	var buf bytes.Buffer
	if err := WriteTag(&buf, res, tag); err != nil {
		t.Fatal(err)
	}
	want := "✓ ghcr.io/org/app:1.0.0 (skipped)\n" +
		"  → localhost:5050/org/app:1.0.0\n" +
		"  ↳ referrer sha256:bbbbbbbbbbbb " + sig + " (skipped: differs-at-destination)\n" +
		"  ↳ referrer sha256:cccccccccccc " + sig + " (would-overwrite)\n" +
		"  ↳ referrer sha256:dddddddddddd unknown type (overwritten)\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteSelection(t *testing.T) {
	t.Parallel()
	const src, chart = "ghcr.io/org/app", "https://charts.example.com/podinfo"
	tests := []struct {
		name string
		res  Result
		want string
	}{
		{"nothing matched", Result{Source: src, Status: EntryCompleted, Selection: &Selection{Listed: 20, Limit: 1}},
			"! ghcr.io/org/app: selector matched 0 of 20 tags\n"},
		{"fallback tags are not counted as seen", Result{Source: src, Status: EntryCompleted, Selection: &Selection{Listed: 3, FallbackTags: 2, Limit: 0}},
			"! ghcr.io/org/app: selector matched 0 of 1 tag\n"},
		{"empty source", Result{Source: src, Status: EntryCompleted, Selection: &Selection{}},
			"! ghcr.io/org/app: selector matched 0 of 0 tags\n"},
		{"chart counts versions", Result{Source: chart, Status: EntryCompleted, Selection: &Selection{Listed: 4, Limit: 1}},
			"! https://charts.example.com/podinfo: selector matched 0 of 4 versions\n"},
		{"limit cut the matches", Result{Source: src, Status: EntryCompleted, Selection: &Selection{Listed: 30, Matched: 20, Selected: 1, Limit: 1}},
			"• ghcr.io/org/app: selected 1 of 20 matching (limit 1)\n"},
		{"everything matching selected", Result{Source: src, Status: EntryCompleted, Selection: &Selection{Listed: 30, Matched: 2, Selected: 2, Limit: 5}}, ""},
		{"failed entry", Result{Source: src, Status: EntryFailed, Error: "x", Selection: &Selection{Listed: 20, Limit: 1}}, ""},
		{"no counts", Result{Source: src, Status: EntryCompleted}, ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteSelection(&buf, tt.res); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	// WriteResult prints the selection lines before the entry's tags.
	var buf bytes.Buffer
	res := Result{Source: src, Destination: "localhost:5050/org/app", Status: EntryCompleted,
		Selection: &Selection{Listed: 3, Matched: 2, Selected: 1, Limit: 1},
		Tags:      []Tag{{Tag: "1.0.0", Status: StatusCopied}}}
	if err := WriteResult(&buf, res); err != nil {
		t.Fatal(err)
	}
	want := "• ghcr.io/org/app: selected 1 of 2 matching (limit 1)\n✓ ghcr.io/org/app:1.0.0 (copied)\n  → localhost:5050/org/app:1.0.0\n"
	if buf.String() != want {
		t.Errorf("WriteResult:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestEmptySelectionError(t *testing.T) {
	t.Parallel()
	if got := EmptySelectionError(Selection{Listed: 20, FallbackTags: 1}, false); got != "selector matched 0 of 19 tags (fail-on-empty)" {
		t.Errorf("artifact: %q", got)
	}
	if got := EmptySelectionError(Selection{Listed: 1}, true); got != "selector matched 0 of 1 version (fail-on-empty)" {
		t.Errorf("chart: %q", got)
	}
}
