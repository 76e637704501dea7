package mirror_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/report"
)

func TestCancelDuringCopy(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	a, b, c := srcHost+"/org/a", srcHost+"/org/b", srcHost+"/org/c"
	for _, s := range []string{a, b, c} {
		seedTags(reg, s, "1.0.0", "1.1.0")
	}
	bDst := dstHost + "/m/b"
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Repo: bDst, Delay: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	reg.Hook = func(call mirrortest.Call) error {
		if call.Method == mirrortest.PushBlob && call.Repo == bDst {
			once.Do(cancel)
		}
		return nil
	}
	opts := fastOptions()
	opts.Concurrency = 1 // one job at a time; planning runs beside it
	opts.Logger = testLogger(t)
	cfg := cfgOf(artifact(a, dstHost+"/m/a", semverLimit(0)), artifact(b, bDst, semverLimit(0)), artifact(c, dstHost+"/m/c", semverLimit(0)))
	start := time.Now()
	rep := mirror.New(reg, opts, mirror.Deps{}).Run(ctx, cfg.MirrorInput())
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancelled run took %s", d)
	}
	wantStatuses(t, rep, 1, "1.1.0=failed 1.0.0=failed")
	// The jobs of a and c that ran before the cancellation copied their
	// tag whole; the others are cancelled and wrote nothing.
	for i, repo := range []string{dstHost + "/m/a", bDst, dstHost + "/m/c"} {
		for _, tag := range rep.Report.Results[i].Tags {
			switch {
			case tag.Status == report.StatusCopied && i != 1:
				if reg.Digest(repo, tag.Tag) != tag.Digest {
					t.Errorf("entry %d tag %s reported copied but not at the destination", i, tag.Tag)
				}
			case tag.Status == report.StatusFailed && tag.Error == "cancelled" && tag.Digest != "":
				if reg.Digest(repo, tag.Tag) != "" {
					t.Errorf("entry %d tag %s cancelled but written", i, tag.Tag)
				}
			default:
				t.Errorf("entry %d tag %+v, want copied, or failed with \"cancelled\" and its planned digest", i, tag)
			}
		}
	}
	if got := reg.Tags(bDst); len(got) != 0 {
		t.Errorf("cancelled entry wrote tags %v", got)
	}
	if rep.Report.Summary.ExitCode != report.ExitFailed {
		t.Errorf("exit %d", rep.Report.Summary.ExitCode)
	}
}

func TestCancelDuringPlanning(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	a, b, c := srcHost+"/org/a", srcHost+"/org/b", srcHost+"/org/c"
	for _, s := range []string{a, b, c} {
		seedTags(reg, s, "1.0.0")
	}
	// Planning runs beside the copy jobs, not in their pool: every entry's
	// tag list hangs, and the sync is cancelled once all three are sent.
	reg.AddFault(mirrortest.Fault{Method: mirrortest.ListTags, Delay: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lists atomic.Int32
	reg.Hook = func(c mirrortest.Call) error {
		if c.Method == mirrortest.ListTags && lists.Add(1) == 3 {
			cancel()
		}
		return nil
	}
	opts := fastOptions()
	opts.Concurrency = 1
	opts.Logger = testLogger(t)
	rep := mirror.New(reg, opts, mirror.Deps{}).Run(ctx, cfgOf(
		artifact(a, dstHost+"/m/a", semverLimit(1)), artifact(b, dstHost+"/m/b", semverLimit(1)), artifact(c, dstHost+"/m/c", semverLimit(1))).MirrorInput())
	for i, r := range rep.Report.Results {
		if r.Status != report.EntryFailed || r.Error != "cancelled" {
			t.Errorf("entry %d: %+v, want failed with \"cancelled\"", i, r)
		}
	}
	if reg.Writes() != 0 {
		t.Errorf("writes after cancellation:\n%s", describeCalls(reg))
	}
	if s := rep.Report.Summary; s.Failed != 3 || s.Entries != 3 {
		t.Errorf("summary %+v", s)
	}
}

// recordingObserver checks that calls never overlap and tallies them.
type recordingObserver struct {
	t       *testing.T
	busy    bool
	planned map[int]int
	failed  []int
	done    map[int][]report.Tag
	bytes   int64
}

func (o *recordingObserver) enter() func() {
	if o.busy {
		o.t.Error("observer called concurrently")
	}
	o.busy = true
	// Calls that overlap, or merely are not ordered by the engine's
	// synchronization, are also reported by the race detector (core's
	// tests run with -race), whatever their timing.
	return func() { o.busy = false }
}

func (o *recordingObserver) EntryPlanned(entry int, res report.Result, tags int) {
	defer o.enter()()
	o.planned[entry] = tags
}

func (o *recordingObserver) EntryFailed(entry int, res report.Result) {
	defer o.enter()()
	if res.Error == "" || res.Status != report.EntryFailed {
		o.t.Errorf("EntryFailed with %+v", res)
	}
	o.failed = append(o.failed, entry)
}

func (o *recordingObserver) TagDone(entry int, res report.Result, tag report.Tag) {
	defer o.enter()()
	if res.Source == "" || res.Tags != nil {
		o.t.Errorf("TagDone header %+v", res)
	}
	o.done[entry] = append(o.done[entry], tag)
}

func (o *recordingObserver) BytesTransferred(n int64) {
	defer o.enter()()
	o.bytes += n
}

func TestObserver(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	var arts []config.Artifact
	for _, name := range []string{"a", "b", "c"} {
		src := srcHost + "/org/" + name
		seedTags(reg, src, "1.0.0", "1.1.0", "1.2.0")
		arts = append(arts, artifact(src, dstHost+"/m/"+name, semverLimit(2)))
	}
	arts = append(arts, artifact(srcHost+"/org/missing", dstHost+"/m/missing", semverLimit(1)))
	obs := &recordingObserver{t: t, planned: map[int]int{}, done: map[int][]report.Tag{}}
	opts := fastOptions()
	opts.Concurrency = 8
	opts.Observer = obs
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(arts...))
	for i := range 3 {
		if obs.planned[i] != 2 || len(obs.done[i]) != 2 {
			t.Errorf("entry %d: planned %d, done %d", i, obs.planned[i], len(obs.done[i]))
		}
	}
	if len(obs.failed) != 1 || obs.failed[0] != 3 {
		t.Errorf("failed entries %v", obs.failed)
	}
	var pushed int64
	// Every blob byte uploaded was reported: 3 entries × (shared "base"
	// once per repository + config and layer per tag).
	for _, c := range reg.Calls() {
		if c.Method == mirrortest.PushBlob && c.Err == nil {
			pushed += blobSize(t, reg, c.Repo, c.Ref)
		}
	}
	if obs.bytes != pushed || pushed == 0 {
		t.Errorf("bytes reported %d, pushed %d", obs.bytes, pushed)
	}
	if rep.Report.Summary.Copied != 6 {
		t.Errorf("summary %+v", rep.Report.Summary)
	}
}

func blobSize(t *testing.T, reg *mirrortest.Registry, repo, digest string) int64 {
	t.Helper()
	rc, err := reg.OpenBlob(context.Background(), repoOf(repo), digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var n int64
	buf := make([]byte, 4096)
	for {
		k, err := rc.Read(buf)
		n += int64(k)
		if err != nil {
			return n
		}
	}
}

func TestReportEnvelope(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	now := time.Date(2026, 2, 3, 4, 5, 6, 700, time.FixedZone("X", 7200))
	opts := fastOptions()
	opts.Now = func() time.Time { return now }
	opts.Reporter = "flux-mirror/v9.9.9"
	rep := runSync(t, reg, opts, mirror.Deps{}, &config.Config{})
	if rep.APIVersion != report.APIVersion || rep.Kind != report.Kind || rep.Report.Reporter != "flux-mirror/v9.9.9" {
		t.Errorf("envelope %+v", rep)
	}
	if !rep.Report.Timestamp.Equal(now.Truncate(time.Second)) || rep.Report.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp %v", rep.Report.Timestamp)
	}
	if rep.Report.Results == nil || len(rep.Report.Results) != 0 || rep.Report.Summary != (report.Summary{}) {
		t.Errorf("empty run report %+v", rep.Report)
	}
	var b strings.Builder
	if err := report.WriteText(&b, rep); err != nil || !strings.HasPrefix(b.String(), "Summary: nothing to mirror in ") {
		t.Errorf("text %q, %v", b.String(), err)
	}
}
