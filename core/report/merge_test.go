package report

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// shardReport builds the report of shard s ("I/N") started at start
// (seconds after a fixed instant) that ran ms milliseconds.
func shardReport(s string, start, ms int64, results ...Result) *Report {
	r := New("flux-mirror/test", time.Unix(1_800_000_000+start, 0))
	r.Report.Shard = s
	r.Report.Results = results
	r.Report.DurationMs = ms
	r.Report.Summary = Summarize(results)
	return r
}

func entry(src string, sel *Selection, tags ...Tag) Result {
	if tags == nil {
		tags = []Tag{}
	}
	return Result{Source: src, Destination: "dst/" + src, Status: EntryCompleted, Selection: sel, Tags: tags}
}

func tagAt(name string, pos int, st Status) Tag {
	t := Tag{Tag: name, Position: pos, Status: st, Digest: "sha256:" + strings.Repeat("a", 64)}
	if st == StatusSkipped {
		t.Reason = ReasonUpToDate
	}
	if st == StatusFailed {
		t.Error = "boom"
	}
	return t
}

func plain(ts ...Tag) []Tag {
	out := []Tag{}
	for _, t := range ts {
		t.Position = 0
		out = append(out, t)
	}
	return out
}

func TestMerge(t *testing.T) {
	t.Parallel()
	sel := &Selection{Listed: 5, Matched: 4, Selected: 4}
	a1, a2, a3, a4 := tagAt("4.0.0", 1, StatusCopied), tagAt("3.0.0", 2, StatusSkipped), tagAt("2.0.0", 3, StatusDrifted), tagAt("1.0.0", 4, StatusCopied)
	failed := entry("b", sel)
	failed.Status, failed.Error = EntryFailed, "resolve b:1: 404"
	failed2 := failed
	failed2.Error = "resolve b:2: 404"
	tests := []struct {
		name    string
		parts   []Part
		want    []Result
		summary Summary
		start   int64
		ms      int64
	}{
		{
			name: "two shards interleave in plan order",
			parts: []Part{
				{"b.json", shardReport("1/2", 3, 2000, entry("a", sel, a2, a4))},
				{"a.json", shardReport("0/2", 1, 1000, entry("a", sel, a1, a3))},
			},
			want:    []Result{entry("a", sel, plain(a1, a2, a3, a4)...)},
			summary: Summary{Entries: 1, Copied: 2, Skipped: 1, Drifted: 1, ExitCode: ExitDrift},
			start:   1, ms: 4000,
		},
		{
			name:    "one shard is the whole",
			parts:   []Part{{"a.json", shardReport("0/1", 0, 10, entry("a", sel, a1, a2, a3, a4))}},
			want:    []Result{entry("a", sel, plain(a1, a2, a3, a4)...)},
			summary: Summary{Entries: 1, Copied: 2, Skipped: 1, Drifted: 1, ExitCode: ExitDrift},
			ms:      10,
		},
		{
			name: "a shard with no tags of an entry",
			parts: []Part{
				{"a.json", shardReport("0/3", 0, 10, entry("a", sel, a1, a2, a3, a4))},
				{"b.json", shardReport("1/3", 0, 20, entry("a", sel))},
				{"c.json", shardReport("2/3", 0, 5, entry("a", sel))},
			},
			want:    []Result{entry("a", sel, plain(a1, a2, a3, a4)...)},
			summary: Summary{Entries: 1, Copied: 2, Skipped: 1, Drifted: 1, ExitCode: ExitDrift},
			ms:      20,
		},
		{
			name: "planning failed in one shard fails the entry and keeps the other's tags",
			parts: []Part{
				{"a.json", shardReport("0/2", 0, 10, entry("a", sel, a1), failed)},
				{"b.json", shardReport("1/2", 0, 10, entry("a", sel, a2), entry("b", sel, tagAt("1", 2, StatusCopied)))},
			},
			want: []Result{
				entry("a", sel, plain(a1, a2)...),
				{Source: "b", Destination: "dst/b", Status: EntryFailed, Error: "shard 0/2: resolve b:1: 404", Selection: sel, Tags: plain(tagAt("1", 2, StatusCopied))},
			},
			summary: Summary{Entries: 2, Copied: 2, Skipped: 1, Failed: 1, ExitCode: ExitFailed},
			ms:      10,
		},
		{
			name: "every shard's distinct planning error",
			parts: []Part{
				{"a.json", shardReport("0/3", 0, 10, failed)},
				{"b.json", shardReport("1/3", 0, 10, failed2)},
				{"c.json", shardReport("2/3", 0, 10, failed)},
			},
			want: []Result{{Source: "b", Destination: "dst/b", Status: EntryFailed, Selection: sel, Tags: []Tag{},
				Error: "shard 0/3: resolve b:1: 404; shard 1/3: resolve b:2: 404; shard 2/3: resolve b:1: 404"}},
			summary: Summary{Entries: 1, Failed: 1, ExitCode: ExitFailed},
			ms:      10,
		},
		{
			name: "a failed tag gives the combined exit code 1",
			parts: []Part{
				{"a.json", shardReport("0/2", 0, 10, entry("a", sel, a3))},
				{"b.json", shardReport("1/2", 0, 10, entry("a", sel, tagAt("x", 1, StatusFailed)))},
			},
			want:    []Result{entry("a", sel, plain(tagAt("x", 1, StatusFailed), a3)...)},
			summary: Summary{Entries: 1, Drifted: 1, Failed: 1, ExitCode: ExitFailed},
			ms:      10,
		},
		{
			name: "the selection of a shard that listed wins over one that failed before listing",
			parts: []Part{
				{"a.json", shardReport("0/2", 0, 10, Result{Source: "a", Destination: "dst/a", Status: EntryFailed, Error: "cancelled", Tags: []Tag{}})},
				{"b.json", shardReport("1/2", 0, 10, entry("a", sel, a1))},
			},
			want:    []Result{{Source: "a", Destination: "dst/a", Status: EntryFailed, Error: "shard 0/2: cancelled", Selection: sel, Tags: plain(a1)}},
			summary: Summary{Entries: 1, Copied: 1, Failed: 1, ExitCode: ExitFailed},
			ms:      10,
		},
		{
			name: "tags without positions keep shard order after the rest",
			parts: []Part{
				{"a.json", shardReport("0/2", 0, 10, entry("a", sel, tagAt("old", 0, StatusCopied), a2))},
				{"b.json", shardReport("1/2", 0, 10, entry("a", sel, a1))},
			},
			want:    []Result{entry("a", sel, plain(a1, a2, tagAt("old", 0, StatusCopied))...)},
			summary: Summary{Entries: 1, Copied: 2, Skipped: 1, ExitCode: ExitOK},
			ms:      10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(tt.parts)
			if err != nil {
				t.Fatalf("Merge: %v", err)
			}
			if got.Report.Shard != "" || got.APIVersion != APIVersion || got.Kind != Kind {
				t.Errorf("merged header = %q %q shard %q", got.APIVersion, got.Kind, got.Report.Shard)
			}
			if !reflect.DeepEqual(got.Report.Results, tt.want) {
				t.Errorf("results:\n got %+v\nwant %+v", got.Report.Results, tt.want)
			}
			if got.Report.Summary != tt.summary {
				t.Errorf("summary = %+v, want %+v", got.Report.Summary, tt.summary)
			}
			if want := time.Unix(1_800_000_000+tt.start, 0).UTC(); !got.Report.Timestamp.Equal(want) || got.Report.DurationMs != tt.ms {
				t.Errorf("timestamp %v, duration %dms; want %v, %dms", got.Report.Timestamp, got.Report.DurationMs, want, tt.ms)
			}
		})
	}
}

func TestMergeErrors(t *testing.T) {
	t.Parallel()
	sel := &Selection{Selected: 2}
	a1, a2 := tagAt("2", 1, StatusCopied), tagAt("1", 2, StatusCopied)
	tests := []struct {
		name  string
		parts []Part
		want  []string
	}{
		{"nothing", nil, []string{"no reports to merge"}},
		{"nil report", []Part{{"a.json", nil}}, []string{"a.json holds no report"}},
		{"no shard", []Part{{"a.json", shardReport("", 0, 1, entry("a", sel))}}, []string{"a.json has no shard", "--shard"}},
		{"bad shard", []Part{{"a.json", shardReport("2/2", 0, 1, entry("a", sel))}}, []string{"a.json", "2/2", "out of range"}},
		{"missing", []Part{
			{"a.json", shardReport("0/4", 0, 1, entry("a", sel))},
			{"c.json", shardReport("2/4", 0, 1, entry("a", sel))},
		}, []string{"missing the report of shard 1/4, 3/4", "2 of 4 given", "--shard I/N"}},
		{"twice", []Part{
			{"a.json", shardReport("1/2", 0, 1, entry("a", sel))},
			{"b.json", shardReport("1/2", 0, 1, entry("a", sel))},
		}, []string{"a.json and b.json are both shard 1/2"}},
		{"different N", []Part{
			{"a.json", shardReport("0/2", 0, 1, entry("a", sel))},
			{"b.json", shardReport("1/3", 0, 1, entry("a", sel))},
		}, []string{"b.json is shard 1/3", "a.json is one of 2 shards"}},
		{"same tag twice", []Part{
			{"a.json", shardReport("0/2", 0, 1, entry("a", sel, a1, a2))},
			{"b.json", shardReport("1/2", 0, 1, entry("a", sel, a2))},
		}, []string{"tag 1 of dst/a is claimed by both a.json and b.json"}},
		{"same position twice", []Part{
			{"a.json", shardReport("0/2", 0, 1, entry("a", sel, a1))},
			{"b.json", shardReport("1/2", 0, 1, entry("a", sel, tagAt("3", 1, StatusCopied)))},
		}, []string{"position 1", "is tag 2 in a.json but 3 in b.json", "source changed"}},
		{"entry counts differ", []Part{
			{"a.json", shardReport("0/2", 0, 1, entry("a", sel))},
			{"b.json", shardReport("1/2", 0, 1, entry("a", sel), entry("b", sel))},
		}, []string{"b.json has 2 entries but a.json has 1", "same config"}},
		{"entries differ", []Part{
			{"a.json", shardReport("0/2", 0, 1, entry("a", sel))},
			{"b.json", shardReport("1/2", 0, 1, entry("b", sel))},
		}, []string{"entry 1 is a -> dst/a in a.json but b -> dst/b in b.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Merge(tt.parts)
			if err == nil {
				t.Fatalf("Merge = %+v, want an error", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestMergeKeepsParts: Merge does not modify its inputs.
func TestMergeKeepsParts(t *testing.T) {
	t.Parallel()
	a := shardReport("0/1", 0, 1, entry("a", &Selection{Selected: 1}, tagAt("1", 1, StatusCopied)))
	before := *a
	before.Report.Results = []Result{entry("a", &Selection{Selected: 1}, tagAt("1", 1, StatusCopied))}
	if _, err := Merge([]Part{{"a.json", a}}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, &before) {
		t.Errorf("Merge modified its input: %+v", a)
	}
}
