package mirror_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

const (
	srcHost = "src.example.com"
	dstHost = "dst.example.com"
)

func intp(n int) *int { return &n }

// fastOptions retry quickly so that tests never wait for real backoff:
// a request is retried for 200ms at most.
func fastOptions() mirror.Options {
	return mirror.Options{Concurrency: 4, Retries: 3, RetryBase: time.Millisecond, RetryWindow: 200 * time.Millisecond, Timeout: 20 * time.Second}
}

// testLogger logs through t, so a failing test shows the engine's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func artifact(src, dst string, sel config.Selector) config.Artifact {
	return config.Artifact{Source: src, Destination: dst, Selector: &sel}
}

func semverLimit(n int) config.Selector {
	return config.Selector{Limit: intp(n)}
}

func cfgOf(arts ...config.Artifact) *config.Config {
	return &config.Config{APIVersion: config.APIVersion, Kind: config.Kind, Artifacts: arts}
}

// seedTags stores one distinct image per tag in repo; all share the layer
// "base", and each has a layer of its own.
func seedTags(reg *mirrortest.Registry, repo string, tags ...string) map[string]oci.Descriptor {
	out := map[string]oci.Descriptor{}
	for _, tag := range tags {
		out[tag] = reg.SeedImage(repo, tag, mirrortest.Image{Layers: []string{"base", "layer of " + repo + ":" + tag}})
	}
	return out
}

// seedSame stores at dst the very image seedTags stored at src under tag.
func seedSame(reg *mirrortest.Registry, src, dst, tag string) oci.Descriptor {
	return reg.SeedImage(dst, tag, mirrortest.Image{Layers: []string{"base", "layer of " + src + ":" + tag}})
}

func runSync(t *testing.T, reg mirror.Registry, opts mirror.Options, deps mirror.Deps, cfg *config.Config) *report.Report {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	rep := mirror.New(reg, opts, deps).Run(context.Background(), cfg.MirrorInput())
	if rep == nil {
		t.Fatal("Run returned nil")
	}
	wantNoRepeatedClause(t, rep)
	return rep
}

// wantNoRepeatedClause checks that no failure message of the Report names
// the same context twice (every context is wrapped once).
func wantNoRepeatedClause(t *testing.T, rep *report.Report) {
	t.Helper()
	check := func(where, msg string) {
		t.Helper()
		if clause, ok := mirrortest.RepeatedClause(msg); ok {
			t.Errorf("%s: error repeats %q: %s", where, clause, msg)
		}
	}
	for _, res := range rep.Report.Results {
		check(res.Source, res.Error)
		for _, tag := range res.Tags {
			check(res.Source+":"+tag.Tag, tag.Error)
			for _, ref := range tag.Referrers {
				check(res.Source+":"+tag.Tag+" referrer "+ref.Digest, ref.Error)
			}
		}
	}
}

// statuses renders the tags of a result as "tag=status[/reason]" lines.
func statuses(res report.Result) string {
	var parts []string
	for _, t := range res.Tags {
		s := t.Tag + "=" + string(t.Status)
		if t.Reason != "" {
			s += "/" + string(t.Reason)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func wantStatuses(t *testing.T, rep *report.Report, entry int, want string) {
	t.Helper()
	res := rep.Report.Results[entry]
	if res.Status != report.EntryCompleted {
		t.Fatalf("entry %d: status %s: %s", entry, res.Status, res.Error)
	}
	if got := statuses(res); got != want {
		for _, tag := range res.Tags {
			if tag.Error != "" {
				t.Logf("%s: %s", tag.Tag, tag.Error)
			}
		}
		t.Fatalf("entry %d: tags %q, want %q", entry, got, want)
	}
}

// wantMirrored checks that dst holds tag with the very bytes of src's tag
// and every blob and child manifest it references.
func wantMirrored(t *testing.T, reg *mirrortest.Registry, src, dst, tag string) {
	t.Helper()
	sb, smt, ok := reg.Manifest(src, tag)
	if !ok {
		t.Fatalf("source %s:%s missing", src, tag)
	}
	db, dmt, ok := reg.Manifest(dst, tag)
	if !ok {
		t.Fatalf("destination %s:%s missing", dst, tag)
	}
	if string(sb) != string(db) || smt != dmt {
		t.Fatalf("destination %s:%s differs from source:\n%s (%s)\n%s (%s)", dst, tag, db, dmt, sb, smt)
	}
	wantContent(t, reg, dst, dmt, db)
}

func wantContent(t *testing.T, reg *mirrortest.Registry, repo, mediaType string, body []byte) {
	t.Helper()
	_, refs, err := oci.ParseManifest(mediaType, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range refs.Blobs {
		if !reg.HasBlob(repo, b.Digest) {
			t.Errorf("%s lacks blob %s", repo, b.Digest)
		}
	}
	for _, c := range refs.Manifests {
		cb, cmt, ok := reg.Manifest(repo, c.Digest)
		if !ok {
			t.Errorf("%s lacks child manifest %s", repo, c.Digest)
			continue
		}
		wantContent(t, reg, repo, cmt, cb)
	}
}

func repoOf(s string) oci.Repository {
	r, err := oci.ParseRepository(s)
	if err != nil {
		panic(err)
	}
	return r
}

func countOnRepo(reg *mirrortest.Registry, repo, method string) int {
	return reg.CountWhere(func(c mirrortest.Call) bool { return c.Repo == repo && c.Method == method })
}

func describeCalls(reg *mirrortest.Registry) string {
	var b strings.Builder
	for _, c := range reg.Calls() {
		fmt.Fprintf(&b, "%s %s %s err=%v\n", c.Method, c.Repo, c.Ref, c.Err)
	}
	return b.String()
}
