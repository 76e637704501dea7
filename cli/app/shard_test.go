package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/metrics"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// TestSyncShardsAndMerge mirrors one config as three shards (two taking
// their index from $JOB_COMPLETION_INDEX as an Indexed Job's pods do, one
// with --shard), merges their report files with report merge, and compares
// the merged Report and the destination with one unsharded run.
func TestSyncShardsAndMerge(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	whole := registrytest.NewDistribution(t)
	for i := range 9 {
		src.PushRandomImage(t, fmt.Sprintf("%s/app:1.%d.0", src.Host(), i), 1, 512)
	}
	dir := t.TempDir()
	config := func(to string) string {
		return writeFile(t, dir, strings.ReplaceAll(to, ":", "_")+".yaml", artifactConfig(
			entry(src.Host()+"/app", to+"/mirror/app", "      semver: \">=1.0.0\"\n      limit: 7\n"),
		))
	}
	want, res := syncReport(t, runOpts{}, config(whole.Host()), "--no-progress")
	if res.code != 0 {
		t.Fatalf("unsharded sync exit %d\n%s", res.code, res.stderr)
	}

	cfg := config(dst.Host())
	var files []string
	for i, flags := range [][]string{{"--shards", "3"}, {"--shard", "1/3"}, {"--shards", "3"}} {
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))
		prom := filepath.Join(dir, fmt.Sprintf("shard-%d.prom", i))
		env := map[string]string{}
		if flags[0] == "--shards" {
			env[jobCompletionIndexEnv] = fmt.Sprint(i)
		}
		args := append([]string{"sync", cfg, "--no-progress", "--report-file", file, "--metrics-file", prom}, flags...)
		if r := run(t, runOpts{env: env}, args...); r.code != 0 {
			t.Fatalf("shard %d exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		var part report.Report
		data, err := os.ReadFile(file)
		if err == nil {
			err = json.Unmarshal(data, &part)
		}
		if err != nil || part.Report.Shard != fmt.Sprintf("%d/3", i) {
			t.Fatalf("shard %d report file: shard %q, %v", i, part.Report.Shard, err)
		}
		if m, _ := os.ReadFile(prom); !strings.Contains(string(m), fmt.Sprintf(`shard="%d/3"`, i)) {
			t.Errorf("shard %d metrics carry no shard label:\n%s", i, m)
		}
		files = append(files, file)
	}

	r := run(t, runOpts{}, "report", "merge", files[2], files[0], files[1], "-o", "json")
	if r.code != 0 {
		t.Fatalf("report merge exit %d\n%s", r.code, r.stderr)
	}
	var merged report.Report
	if err := json.Unmarshal([]byte(r.stdout), &merged); err != nil {
		t.Fatalf("report merge -o json: %v\n%s", err, r.stdout)
	}
	// The unsharded run's destination host differs; so does nothing else.
	for i := range want.Report.Results {
		want.Report.Results[i].Destination = strings.Replace(want.Report.Results[i].Destination, whole.Host(), dst.Host(), 1)
	}
	if !reflect.DeepEqual(merged.Report.Results, want.Report.Results) || merged.Report.Summary != want.Report.Summary {
		t.Errorf("merged report:\n got %+v\nwant %+v", merged.Report, want.Report)
	}
	if len(merged.Report.Results[0].Tags) != 7 {
		t.Errorf("merged %d tags, want the 7 selected", len(merged.Report.Results[0].Tags))
	}

	text := run(t, runOpts{}, "report", "merge", files[0], files[1], files[2])
	if text.code != 0 || !strings.Contains(text.stdout, "Summary: 7 copied") {
		t.Errorf("report merge (text) exit %d:\n%s%s", text.code, text.stdout, text.stderr)
	}
	missing := run(t, runOpts{}, "report", "merge", files[0], files[2])
	if missing.code != 1 || !strings.Contains(missing.stderr, "missing the report of shard 1/3") {
		t.Errorf("merge without shard 1: exit %d\n%s", missing.code, missing.stderr)
	}
}

func TestShardFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", artifactConfig(entry("127.0.0.1:1/a", "127.0.0.1:1/b", "      semver: \"*\"\n")))
	tests := []struct {
		name  string
		env   map[string]string
		flags []string
		want  string
	}{
		{"both", nil, []string{"--shard", "0/2", "--shards", "2"}, "--shard 0/2 and --shards 2 both set the shard"},
		{"index out of range", nil, []string{"--shard", "2/2"}, "shard index 2 is out of range"},
		{"syntax", nil, []string{"--shard", "1"}, `a shard is written "I/N"`},
		{"negative count", nil, []string{"--shards", "-1"}, "--shards must be between 1 and"},
		{"no index", nil, []string{"--shards", "4"}, "$JOB_COMPLETION_INDEX is not set"},
		{"index beyond completions", map[string]string{jobCompletionIndexEnv: "4"}, []string{"--shards", "4"}, `$JOB_COMPLETION_INDEX is "4"; it must be an index between 0 and 3`},
		{"index not a number", map[string]string{jobCompletionIndexEnv: "x"}, []string{"--shards", "4"}, `is "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{env: tt.env}, append([]string{"sync", cfg, "--no-progress"}, tt.flags...)...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestReportMergeReadErrors(t *testing.T) {
	dir := t.TempDir()
	plain := writeFile(t, dir, "whole.json", `{"apiVersion":"mirror.plugin.fluxcd.io/v1beta1","kind":"Report","report":{"reporter":"x","timestamp":"2026-01-01T00:00:00Z","durationMs":1,"summary":{"entries":0,"copied":0,"overwritten":0,"skipped":0,"drifted":0,"wouldCopy":0,"wouldOverwrite":0,"failed":0,"exitCode":0},"results":[]}}`)
	shardYAML := writeFile(t, dir, "shard.yaml", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Report\nreport:\n  reporter: x\n  timestamp: \"2026-01-01T00:00:00Z\"\n  durationMs: 1\n  shard: 0/1\n  summary: {entries: 0, copied: 0, overwritten: 0, skipped: 0, drifted: 0, wouldCopy: 0, wouldOverwrite: 0, failed: 0, exitCode: 0}\n  results: []\n")
	config := writeFile(t, dir, "config.yaml", artifactConfig())
	unknown := writeFile(t, dir, "unknown.json", `{"apiVersion":"mirror.plugin.fluxcd.io/v1beta1","kind":"Report","extra":1}`)
	tests := []struct {
		name  string
		files []string
		code  int
		want  string
	}{
		{"a YAML shard report alone", []string{shardYAML}, 0, "Summary: nothing to mirror"},
		{"no shard", []string{plain}, 1, "whole.json has no shard"},
		{"a config", []string{config}, 1, "is mirror.plugin.fluxcd.io/v1beta1 Config, not a mirror.plugin.fluxcd.io/v1beta1 Report"},
		{"unknown field", []string{unknown}, 1, `unknown.json is not a flux-mirror Report: json: unknown field "extra"`},
		{"absent", []string{filepath.Join(dir, "nope.json")}, 1, "nope.json: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, runOpts{}, append([]string{"report", "merge"}, tt.files...)...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("exit %d\nstdout %s\nstderr %s\nwant %d and %q", r.code, r.stdout, r.stderr, tt.code, tt.want)
			}
		})
	}
}

func TestPushGroup(t *testing.T) {
	tests := []struct {
		labels       map[string]string
		wantGrouping map[string]string
		wantLabels   map[string]string
	}{
		{nil, nil, nil},
		{map[string]string{"config": "a"}, nil, map[string]string{"config": "a"}},
		{map[string]string{"shard": "1/4"}, map[string]string{"shard": "1/4"}, map[string]string{}},
		{map[string]string{"shard": "0/2", "config": "a"}, map[string]string{"shard": "0/2"}, map[string]string{"config": "a"}},
	}
	for _, tt := range tests {
		in := metrics.Run{Labels: tt.labels}
		g, out := pushGroup(in)
		if !reflect.DeepEqual(g, tt.wantGrouping) || !reflect.DeepEqual(out.Labels, tt.wantLabels) {
			t.Errorf("pushGroup(%v) = %v, %v; want %v, %v", tt.labels, g, out.Labels, tt.wantGrouping, tt.wantLabels)
		}
		if tt.labels != nil && len(in.Labels) != len(tt.labels) {
			t.Errorf("pushGroup modified its input labels: %v", in.Labels)
		}
	}
}
