package mirror_test

import (
	"testing"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/report"
)

// activity records what an ActivityObserver hears.
type activity struct {
	mirror.ObserverFuncs
	started []string
	planned int64
	moved   int64
	retried map[string]int
}

func (a *activity) TagStarted(_ int, res report.Result, tag string) {
	a.started = append(a.started, res.Source+":"+tag)
}
func (a *activity) BytesPlanned(n int64)       { a.planned += n }
func (a *activity) BytesTransferred(n int64)   { a.moved += n }
func (a *activity) RequestRetried(host string) { a.retried[host]++ }

// TestActivityObserver checks the live-display events: one start per tag
// job, the bytes to move (a blob counted once, though its transfer is
// retried) matching the bytes moved, and each retry against its host.
func TestActivityObserver(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	seedTags(reg, src, "1.0.0", "1.1.0")
	seedSame(reg, src, dst, "1.0.0") // up to date: started, nothing to move
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Repo: dst, Err: status(503), Times: 1})
	a := &activity{retried: map[string]int{}}
	opts := fastOptions()
	opts.Observer = a
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(0))))
	if s := rep.Report.Summary; s.Copied != 1 || s.Skipped != 1 {
		t.Fatalf("summary %+v", s)
	}
	if len(a.started) != 2 {
		t.Errorf("TagStarted for %v, want both tags", a.started)
	}
	if a.planned == 0 || a.planned != a.moved {
		t.Errorf("BytesPlanned %d, BytesTransferred %d: want the same, non-zero", a.planned, a.moved)
	}
	if a.retried[dstHost] != 1 || len(a.retried) != 1 {
		t.Errorf("RequestRetried %v, want one on %s", a.retried, dstHost)
	}
}
