package app

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// TestSyncFailOnEmpty: an entry whose selector selects nothing completes
// (exit 0) by default and fails (exit 1) under --fail-on-empty, while the
// other entries are mirrored either way.
func TestSyncFailOnEmpty(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 256)
	src.PushRandomImage(t, src.Host()+"/other:2.0.0", 1, 256)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(
		entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \">=5.0.0\"\n"),
		entry(src.Host()+"/other", dst.Host()+"/other", "      semver: \"*\"\n"),
	))
	tests := []struct {
		name       string
		flags      []string
		code       int
		wantStatus report.EntryStatus
	}{
		{name: "default", code: 0, wantStatus: report.EntryCompleted},
		{name: "--fail-on-empty", flags: []string{"--fail-on-empty"}, code: 1, wantStatus: report.EntryFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, res := syncReport(t, runOpts{}, append([]string{cfg, "--dry-run"}, tt.flags...)...)
			if res.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", res.code, tt.code, res.stdout, res.stderr)
			}
			empty := rep.Report.Results[0]
			if empty.Status != tt.wantStatus || len(empty.Tags) != 0 {
				t.Errorf("empty entry: status %q, %d tags; want %q and none", empty.Status, len(empty.Tags), tt.wantStatus)
			}
			if tt.wantStatus == report.EntryFailed && !strings.Contains(empty.Error, "0 of 1") {
				t.Errorf("the failure does not say what the selector saw: %q", empty.Error)
			}
			if got := statuses(rep, 1)["2.0.0"]; got != "would-copy" {
				t.Errorf("the other entry: %q, want would-copy", got)
			}
		})
	}
	// Text output names the failed entry.
	res := run(t, runOpts{}, "sync", cfg, "--dry-run", "--fail-on-empty")
	if res.code != 1 || !strings.Contains(res.stdout, "✗ "+src.Host()+"/app — plan failed: ") {
		t.Errorf("text: exit %d\n%s", res.code, res.stdout)
	}
}
