package app

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// syncReport runs sync with -o json and decodes the Report.
func syncReport(t *testing.T, o runOpts, args ...string) (report.Report, result) {
	t.Helper()
	res := run(t, o, append(append([]string{"sync"}, args...), "-o", "json")...)
	var rep report.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("sync -o json printed no report (exit %d): %v\nstdout: %s\nstderr: %s", res.code, err, res.stdout, res.stderr)
	}
	return rep, res
}

// statuses maps tag → status for one entry of a report.
func statuses(rep report.Report, entry int) map[string]string {
	out := map[string]string{}
	for _, tag := range rep.Report.Results[entry].Tags {
		out[tag.Tag] = string(tag.Status)
	}
	return out
}

func artifactConfig(entries ...string) string {
	return "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nartifacts:\n" + strings.Join(entries, "")
}

func entry(src, dst, selector string) string {
	return fmt.Sprintf("  - source: %s\n    destination: %s\n    selector:\n%s", src, dst, selector)
}

func TestSyncCopiesThenSkips(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	for _, tag := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0-rc.1", "latest"} {
		src.PushRandomImage(t, src.Host()+"/app:"+tag, 2, 1024)
	}
	idx := src.PushIndex(t, src.Host()+"/multi:3.0.0", "linux/amd64", "linux/arm64", "linux/arm/v7")
	cfg := writeFile(t, t.TempDir(), "flux-mirror.yaml", artifactConfig(
		entry(src.Host()+"/app", dst.Host()+"/mirror/app", "      semver: \">=1.0.0\"\n      limit: 2\n"),
		entry(src.Host()+"/multi", dst.Host()+"/mirror/multi", "      limit: 0\n"),
	))

	res := run(t, runOpts{}, "sync", cfg, "--no-progress")
	if res.code != 0 {
		t.Fatalf("first sync exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"✓ " + src.Host() + "/app:1.2.0 (copied)\n  → " + dst.Host() + "/mirror/app:1.2.0",
		"✓ " + src.Host() + "/app:1.1.0 (copied)",
		"✓ " + src.Host() + "/multi:3.0.0 (copied)",
		"Summary: 3 copied in ",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "1.0.0") {
		t.Errorf("limit 2 must not copy 1.0.0:\n%s", res.stdout)
	}
	// Byte for byte: the multi-arch index and every child manifest.
	if got := dst.Digest(t, dst.Host()+"/mirror/multi:3.0.0"); got != idx {
		t.Errorf("index digest %s, want %s", got, idx)
	}
	if !bytesEqual(src.ManifestBytes(t, src.Host()+"/multi:3.0.0"), dst.ManifestBytes(t, dst.Host()+"/mirror/multi:3.0.0")) {
		t.Error("index bytes differ")
	}
	for _, tag := range []string{"1.1.0", "1.2.0"} {
		if s, d := src.Digest(t, src.Host()+"/app:"+tag), dst.Digest(t, dst.Host()+"/mirror/app:"+tag); s != d {
			t.Errorf("app:%s digest %s, want %s", tag, d, s)
		}
	}

	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || rep.Report.Summary.Skipped != 3 || rep.Report.Summary.Copied != 0 {
		t.Fatalf("re-run: exit %d, summary %+v", res.code, rep.Report.Summary)
	}
	for _, tag := range rep.Report.Results[0].Tags {
		if tag.Reason != report.ReasonUpToDate {
			t.Errorf("%s: reason %q, want up-to-date", tag.Tag, tag.Reason)
		}
	}
	if rep.APIVersion != "mirror.plugin.fluxcd.io/v1beta1" || rep.Kind != "Report" || !strings.Contains(res.stdout, `"$schema"`) {
		t.Errorf("report header: %s %s", rep.APIVersion, rep.Kind)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func TestSyncDriftOverwriteDryRun(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	want := src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)
	other := dst.PushRandomImage(t, dst.Host()+"/app:1.0.0", 1, 512)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))

	t.Run("drift exits 2 and leaves the tag alone", func(t *testing.T) {
		rep, res := syncReport(t, runOpts{}, cfg)
		if res.code != 2 || rep.Report.Summary.Drifted != 1 || rep.Report.Summary.ExitCode != 2 {
			t.Fatalf("exit %d, summary %+v", res.code, rep.Report.Summary)
		}
		if got := dst.Digest(t, dst.Host()+"/app:1.0.0"); got != other {
			t.Errorf("drifted tag was changed to %s", got)
		}
	})
	t.Run("--drift-exit-code", func(t *testing.T) {
		res := run(t, runOpts{}, "sync", cfg, "--drift-exit-code", "0")
		if res.code != 0 || !strings.Contains(res.stdout, "(drifted)") {
			t.Fatalf("exit %d:\n%s", res.code, res.stdout)
		}
	})
	t.Run("dry-run reports would-overwrite and writes nothing", func(t *testing.T) {
		rep, res := syncReport(t, runOpts{}, cfg, "--dry-run", "--overwrite")
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "would-overwrite" {
			t.Fatalf("exit %d, statuses %v", res.code, statuses(rep, 0))
		}
		if got := dst.Digest(t, dst.Host()+"/app:1.0.0"); got != other {
			t.Errorf("dry-run changed the tag to %s", got)
		}
	})
	t.Run("--overwrite replaces the tag", func(t *testing.T) {
		rep, res := syncReport(t, runOpts{}, cfg, "--overwrite")
		if res.code != 0 || statuses(rep, 0)["1.0.0"] != "overwritten" {
			t.Fatalf("exit %d, statuses %v", res.code, statuses(rep, 0))
		}
		if got := dst.Digest(t, dst.Host()+"/app:1.0.0"); got != want {
			t.Errorf("overwrite left %s, want %s", got, want)
		}
	})
}

func TestSyncDryRunWouldCopy(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))
	rep, res := syncReport(t, runOpts{}, cfg, "--dry-run")
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "would-copy" || rep.Report.Summary.WouldCopy != 1 {
		t.Fatalf("exit %d, summary %+v", res.code, rep.Report.Summary)
	}
	if dst.HasManifest(t, dst.Host()+"/app:1.0.0") {
		t.Error("dry-run wrote the tag")
	}
}

func TestSyncRegexExtractNumerical(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	for _, tag := range []string{"main-aaa111-900", "main-bbb222-1000", "main-ccc333-200", "feature-ddd-5000", "main-eee-notanumber"} {
		src.PushArtifact(t, src.Host()+"/manifests:"+tag, "application/vnd.cncf.flux.config.v1+json", "application/vnd.cncf.flux.config.v1+json", []byte(tag))
	}
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/manifests", dst.Host()+"/manifests",
		"      regex:\n        pattern: '^main-[0-9a-f]+-(?P<ts>\\d+)$'\n        extract: '$ts'\n      sortBy: numerical\n      limit: 2\n")))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var got []string
	for _, tag := range rep.Report.Results[0].Tags {
		got = append(got, tag.Tag)
	}
	if strings.Join(got, ",") != "main-bbb222-1000,main-aaa111-900" {
		t.Errorf("selected %v, want the two highest timestamps in order", got)
	}
	if !dst.HasManifest(t, dst.Host()+"/manifests:main-bbb222-1000") || dst.HasManifest(t, dst.Host()+"/manifests:main-ccc333-200") {
		t.Error("wrong tags copied")
	}
}

func TestSyncRetriesTransientFailure(t *testing.T) {
	// The source answers the first manifest GET with 500, then recovers.
	fault := registrytest.Fault(1, http.StatusInternalServerError, nil, func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/")
	})
	src := registrytest.NewDistribution(t, registrytest.WithMiddleware(fault))
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))
	rep, res := syncReport(t, runOpts{}, cfg)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("exit %d, statuses %v\n%s", res.code, statuses(rep, 0), res.stderr)
	}
}

func TestSyncPermanentFailureOtherEntriesCopied(t *testing.T) {
	// Once armed, every blob GET of the broken repository fails; the good
	// one is unaffected.
	var armed atomic.Bool
	fault := registrytest.Fault(-1, http.StatusInternalServerError, nil, func(r *http.Request) bool {
		return armed.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/broken/blobs/")
	})
	src := registrytest.NewDistribution(t, registrytest.WithMiddleware(fault))
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/broken:1.0.0", 1, 512)
	src.PushRandomImage(t, src.Host()+"/good:1.0.0", 1, 512)
	armed.Store(true)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(
		entry(src.Host()+"/broken", dst.Host()+"/broken", "      semver: \"*\"\n"),
		entry(src.Host()+"/good", dst.Host()+"/good", "      semver: \"*\"\n"),
	))
	// Request-level retries off: the job level alone retries, once.
	rep, res := syncReport(t, runOpts{}, cfg, "--retries", "1", "--retry-window", "0")
	if res.code != 1 || rep.Report.Summary.Failed != 1 || rep.Report.Summary.Copied != 1 {
		t.Fatalf("exit %d, summary %+v", res.code, rep.Report.Summary)
	}
	failed := rep.Report.Results[0].Tags[0]
	if failed.Status != report.StatusFailed || !strings.Contains(failed.Error, "(job tried 2 times)") || !strings.Contains(failed.Error, "500") {
		t.Errorf("failed tag: %+v", failed)
	}
	if dst.HasManifest(t, dst.Host()+"/broken:1.0.0") {
		t.Error("a failed copy must not write the tag")
	}
	if !dst.HasManifest(t, dst.Host()+"/good:1.0.0") {
		t.Error("the other entry was not copied")
	}
}

func TestSyncUnauthorized(t *testing.T) {
	src := registrytest.NewDistribution(t, registrytest.WithHtpasswd("alice", "s3cret-pass"))
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)
	cfg := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n")))

	res := run(t, runOpts{}, "sync", cfg)
	if res.code != 1 || !strings.Contains(res.stdout, "plan failed") || !strings.Contains(res.stdout, "401") || !strings.Contains(res.stdout, src.Host()) {
		t.Fatalf("exit %d, want a clear 401 naming the host:\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	// The Docker config authenticates hosts that the config does not list.
	dockerDir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret-pass"))
	writeFile(t, dockerDir, "config.json", fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, src.Host(), auth))
	rep, res := syncReport(t, runOpts{env: map[string]string{"DOCKER_CONFIG": dockerDir}}, cfg)
	if res.code != 0 || statuses(rep, 0)["1.0.0"] != "copied" {
		t.Fatalf("with the Docker config: exit %d, %v\n%s", res.code, statuses(rep, 0), res.stdout)
	}

	// A listed host takes priority; a wrong password fails without echoing it.
	bad := writeFile(t, t.TempDir(), "c.yaml", artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app2", "      semver: \"*\"\n"))+
		fmt.Sprintf("hosts:\n  - host: %s\n    username: alice\n    credential:\n      value: wrong-password-x\n", src.Host()))
	res = run(t, runOpts{env: map[string]string{"DOCKER_CONFIG": dockerDir}}, "sync", bad)
	if res.code != 1 || !strings.Contains(res.stdout, "401") {
		t.Fatalf("wrong password: exit %d\n%s", res.code, res.stdout)
	}
	if strings.Contains(res.stdout+res.stderr, "wrong-password-x") || strings.Contains(res.stdout+res.stderr, "s3cret-pass") {
		t.Error("a credential leaked into the output")
	}
}

func TestSyncConfigSources(t *testing.T) {
	src := registrytest.NewDistribution(t)
	dst := registrytest.NewDistribution(t)
	src.PushRandomImage(t, src.Host()+"/app:1.0.0", 1, 512)
	content := artifactConfig(entry(src.Host()+"/app", dst.Host()+"/app", "      semver: \"*\"\n"))

	t.Run("stdin", func(t *testing.T) {
		rep, res := syncReport(t, runOpts{stdin: content}, "-")
		if res.code != 0 || len(rep.Report.Results) != 1 {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
	})
	t.Run("FLUX_MIRROR_CONFIG", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "c.yaml", content)
		rep, res := syncReport(t, runOpts{env: map[string]string{"FLUX_MIRROR_CONFIG": p}})
		if res.code != 0 || statuses(rep, 0)["1.0.0"] == "" {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
	})
	t.Run("none", func(t *testing.T) {
		res := run(t, runOpts{}, "sync")
		if res.code != 1 || !strings.Contains(res.stderr, "FLUX_MIRROR_CONFIG") {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
	})
	t.Run("hosts-only config is refused by sync", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "c.yaml", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n  - host: r.example.com\n    maxChunkSize: 1024\n")
		res := run(t, runOpts{}, "sync", p)
		if res.code != 1 || !strings.Contains(res.stderr, "artifacts or charts") {
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{{"--concurrency", "0"}, {"--retries", "-1"}, {"--drift-exit-code", "256"}} {
			res := run(t, runOpts{stdin: content}, append([]string{"sync", "-"}, args...)...)
			if res.code != 1 || !strings.Contains(res.stderr, args[0]) {
				t.Errorf("%v: exit %d: %s", args, res.code, res.stderr)
			}
		}
	})
}
