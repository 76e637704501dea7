package report

import (
	"strings"
	"testing"
	"time"
)

func TestWriteMarkdown(t *testing.T) {
	start := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		results []Result
		want    string
	}{
		{
			name: "up to date",
			results: []Result{{Source: "ghcr.io/acme/app", Destination: "reg.example/app", Status: EntryCompleted,
				Selection: &Selection{Listed: 5, Matched: 2, Selected: 2},
				Tags:      []Tag{{Tag: "1.0.0", Status: StatusSkipped, Reason: ReasonUpToDate}, {Tag: "1.1.0", Status: StatusCopied}}}},
			want: "### ✅ flux-mirror: 1 copied, 1 skipped in 1.5s\n\n" +
				"| entry | destination | selected | copied | skipped | drifted | failed |\n" +
				"|---|---|---:|---:|---:|---:|---:|\n" +
				"| `ghcr.io/acme/app` | `reg.example/app` | 2 of 5 | 1 | 1 | 0 | 0 |\n",
		},
		{
			name: "drift, an empty selection and failures, with hostile text",
			results: []Result{
				{Source: "ghcr.io/acme/app", Destination: "reg.example/app", Status: EntryCompleted,
					Selection: &Selection{Listed: 3, Matched: 2, Selected: 2},
					Tags: []Tag{
						{Tag: "1.0.0", Status: StatusDrifted},
						{Tag: "1.1.0", Status: StatusFailed, Error: "push blob sha256:ab to reg.example: 500 | <b>oops</b>\nsecond line"},
					}},
				{Source: "https://charts.example/", Destination: "reg.example/charts/app", Status: EntryCompleted,
					Selection: &Selection{Listed: 4}, Tags: []Tag{}},
				{Source: "ghcr.io/acme/gone", Destination: "reg.example/gone", Status: EntryFailed, Error: "list tags of ghcr.io/acme/gone: NAME_UNKNOWN"},
			},
			want: "### ❌ flux-mirror: 1 drifted, 2 failed in 1.5s\n\n" +
				"| entry | destination | selected | copied | skipped | drifted | failed |\n" +
				"|---|---|---:|---:|---:|---:|---:|\n" +
				"| `ghcr.io/acme/app` | `reg.example/app` | 2 of 3 | 0 | 0 | 1 | 1 |\n" +
				"| `https://charts.example/` | `reg.example/charts/app` | 0 of 4 | 0 | 0 | 0 | 0 |\n" +
				"| `ghcr.io/acme/gone` | `reg.example/gone` | — | 0 | 0 | 0 | 1 |\n" +
				"\n#### Failed\n\n" +
				"- `ghcr.io/acme/app:1.1.0`: push blob sha256:ab to reg.example: 500 \\| &lt;b&gt;oops&lt;/b&gt; second line\n" +
				"- `ghcr.io/acme/gone`: plan failed: list tags of ghcr.io/acme/gone: NAME\\_UNKNOWN\n" +
				"\n#### Needs a look\n\n" +
				"- `ghcr.io/acme/app:1.0.0` differs at `reg.example/app:1.0.0` (left alone; set overwrite to replace it)\n" +
				"- `https://charts.example/`: the selector matched 0 of 4 versions\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New("flux-mirror", start)
			r.Report.Results = tc.results
			r.Finish(start, start.Add(1500*time.Millisecond))
			var b strings.Builder
			if err := WriteMarkdown(&b, r); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestMdCode(t *testing.T) {
	for in, want := range map[string]string{
		"plain":     "`plain`",
		"a`b":       "``a`b``",
		"`edge":     "`` `edge ``",
		"a|b":       "`a\\|b`",
		"two\nline": "`two line`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}
