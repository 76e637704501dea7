package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
	"sigs.k8s.io/yaml"
)

// TestSyncUnattendedOutputs runs a real sync with every unattended output
// on: the text log still goes to stdout, the Report lands in the report
// file (in the format its extension names), the Markdown summary is
// appended to $GITHUB_STEP_SUMMARY, and the metrics file holds the run.
func TestSyncUnattendedOutputs(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	for _, tag := range []string{"1.0.0", "1.1.0"} {
		src.PushRandomImage(t, src.Host()+"/app:"+tag, 1, 2048)
	}
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flux-mirror.yaml", artifactConfig(
		entry(src.Host()+"/app", dst.Host()+"/mirror/app", "      semver: \">=1.0.0\"\n      limit: 0\n"),
		entry(src.Host()+"/none", dst.Host()+"/mirror/none", "      semver: \">=1.0.0\"\n"),
	))
	summary := writeFile(t, dir, "step-summary.md", "## earlier step\n")

	for _, ext := range []string{"json", "yaml"} {
		t.Run(ext, func(t *testing.T) {
			reportFile := filepath.Join(dir, "report."+ext)
			metricsFile := filepath.Join(dir, "flux-mirror-"+ext+".prom")
			res := run(t, runOpts{env: map[string]string{stepSummaryEnv: summary}}, "sync", cfg, "--no-progress",
				"--report-file", reportFile, "--metrics-file", metricsFile)
			if res.code != 1 { // the second entry fails: its repository does not exist
				t.Fatalf("exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, "/app:1.1.0 (") || !strings.Contains(res.stdout, "Summary: ") {
				t.Errorf("the text log must still go to stdout:\n%s", res.stdout)
			}
			data, err := os.ReadFile(reportFile)
			if err != nil {
				t.Fatal(err)
			}
			var rep report.Report
			if ext == "json" {
				err = json.Unmarshal(data, &rep)
			} else {
				err = yaml.UnmarshalStrict(data, &rep)
			}
			if err != nil {
				t.Fatalf("report file: %v\n%s", err, data)
			}
			if rep.Kind != report.Kind || len(rep.Report.Results) != 2 || rep.Report.Summary.ExitCode != report.ExitFailed {
				t.Errorf("report file holds %+v", rep.Report.Summary)
			}
			prom, err := os.ReadFile(metricsFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`flux_mirror_tags{outcome="failed"} 0`, `flux_mirror_entries{status="failed"} 1`, "flux_mirror_exit_code 1", `flux_mirror_requests{host="` + dst.Host() + `"}`} {
				if !strings.Contains(string(prom), want) {
					t.Errorf("metrics file lacks %q:\n%s", want, prom)
				}
			}
		})
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(md), "### ❌ flux-mirror:"); !strings.HasPrefix(string(md), "## earlier step\n") || got != 2 {
		t.Errorf("step summary must be appended to, once per run (%d runs):\n%s", got, md)
	}
	if !strings.Contains(string(md), "plan failed") {
		t.Errorf("step summary must name the failure:\n%s", md)
	}
}

func TestUnattendedFlagsAreCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "flux-mirror.yaml", artifactConfig(entry("127.0.0.1:1/app", "127.0.0.1:1/mirror/app", "      limit: 1\n")))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--report-file", filepath.Join(dir, "report.txt")}, "--report-file " + filepath.Join(dir, "report.txt") + ": name it *.json or *.yaml"},
		{[]string{"--report-file", filepath.Join(dir, "missing", "r.json")}, "the directory " + filepath.Join(dir, "missing") + " does not exist"},
		{[]string{"--metrics-file", filepath.Join(dir, "nope", "m.prom")}, "--metrics-file"},
		{[]string{"--pushgateway", "pushgateway:9091"}, "must be an http:// or https:// URL"},
		{[]string{"--quiet", "--verbose"}, "--quiet and --verbose"},
		{[]string{"--log-format", "xml"}, "--log-format"},
	} {
		res := run(t, runOpts{}, append([]string{"sync", cfg}, tc.args...)...)
		if res.code != 1 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}
