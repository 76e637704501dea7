package reliability

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	fp "github.com/fluxcd/flux-mirror/bench/reliability/faultproxy"
	"github.com/fluxcd/flux-mirror/core/report"
)

// outage is how long the destination refuses every request in the outage
// case: long enough that only a retry window of about a minute (not a
// handful of quick job retries) rides it out.
const outage = 30 * time.Second

// TestReliability mirrors registry A to registry B through fault-injecting
// proxies, one kind of trouble per case, all cases side by side, and after
// each checks that B is complete-or-absent.
func TestReliability(t *testing.T) {
	src := seedSource(t)
	if _, err := fluxMirror(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		// mayMiss lets seeded tags be absent at B after the run (an
		// interrupted sync); present tags must still be complete.
		mayMiss bool
		run     func(t *testing.T, e *env)
	}{
		{name: "5xx bursts", run: fiveHundreds},
		{name: "429 with Retry-After", run: tooManyRequests},
		{name: "resets and truncation mid-blob", run: resetsAndTruncation},
		{name: "stalled body", run: stalledBody},
		{name: "destination outage", run: destinationOutage},
		{name: "lost response after a tag PUT", run: lostTagPut},
		{name: "SIGINT mid-copy", mayMiss: true, run: interrupted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, src)
			// Deferred, so that B is checked even when the case stopped
			// at a failed assertion.
			defer checkCompleteOrAbsent(t, src, e.dst, c.mayMiss)
			c.run(t, e)
		})
	}
}

// fiveHundreds: bursts of 500/502/503 on reads at the source and on every
// kind of write at the destination. Every tag must arrive.
func fiveHundreds(t *testing.T, e *env) {
	src := map[*fp.Injection]int{
		e.srcProxy.Inject(fp.Rule{Class: fp.BlobGet, Fault: fp.Status(http.StatusInternalServerError), Times: 2}):     2,
		e.srcProxy.Inject(fp.Rule{Class: fp.ManifestGet, Fault: fp.Status(http.StatusBadGateway), Skip: 1, Times: 2}): 2,
	}
	dst := map[*fp.Injection]int{
		e.dstProxy.Inject(fp.Rule{Class: fp.ManifestHead, Fault: fp.Status(http.StatusInternalServerError), Times: 2}):      2,
		e.dstProxy.Inject(fp.Rule{Class: fp.UploadPost, Fault: fp.Status(http.StatusServiceUnavailable), Times: 3}):         3,
		e.dstProxy.Inject(fp.Rule{Class: fp.UploadPut, Fault: fp.Status(http.StatusServiceUnavailable), Skip: 1, Times: 2}): 2,
		e.dstProxy.Inject(fp.Rule{Class: fp.TagPut, Fault: fp.Status(http.StatusServiceUnavailable), Times: 2}):             2,
	}
	res := e.sync(t)
	res.wantExit(t, 0)
	e.wantAllCopied(t, res.report(t))
	wantApplied(t, e.srcProxy, src)
	wantApplied(t, e.dstProxy, dst)
}

// tooManyRequests: 429 with Retry-After: 1 on a source manifest GET and on
// two destination tag PUTs. Every tag must arrive, and each refused
// request must come back no sooner than the server asked.
func tooManyRequests(t *testing.T, e *env) {
	src := e.srcProxy.Inject(fp.Rule{Class: fp.ManifestGet, Fault: fp.TooManyRequests(time.Second), Times: 1})
	dst := e.dstProxy.Inject(fp.Rule{Class: fp.TagPut, Fault: fp.TooManyRequests(time.Second), Times: 2})
	res := e.sync(t)
	res.wantExit(t, 0)
	e.wantAllCopied(t, res.report(t))
	wantApplied(t, e.srcProxy, map[*fp.Injection]int{src: 1})
	wantApplied(t, e.dstProxy, map[*fp.Injection]int{dst: 2})
	wantRetriedAfter(t, e.srcProxy, src, time.Second)
	wantRetriedAfter(t, e.dstProxy, dst, time.Second)
}

// wantRetriedAfter fails the test unless every request the injection
// struck was sent again, and no sooner than wait after its answer.
func wantRetriedAfter(t *testing.T, p *fp.Proxy, in *fp.Injection, wait time.Duration) {
	t.Helper()
	reqs := p.Requests()
	for _, hit := range in.Hits() {
		var next *fp.Request
		for i := range reqs {
			r := &reqs[i]
			if r.Method == hit.Method && r.Path == hit.Path && r.Arrived.After(hit.Arrived) {
				next = r
				break
			}
		}
		switch {
		case next == nil:
			t.Errorf("%s %s got %s and was never sent again", hit.Method, hit.Path, hit.Fault)
		case next.Arrived.Sub(hit.Ended) < wait:
			t.Errorf("%s %s got %s and came back %s later, want at least %s", hit.Method, hit.Path, hit.Fault, next.Arrived.Sub(hit.Ended), wait)
		}
	}
}

// resetsAndTruncation: source blob downloads reset or cut short (behind an
// intact Content-Length), destination blob uploads reset mid-body. Every
// tag must arrive byte-identical.
func resetsAndTruncation(t *testing.T, e *env) {
	src := map[*fp.Injection]int{
		e.srcProxy.Inject(fp.Rule{Class: fp.BlobGet, Fault: fp.ResetAfter(256 << 10), Times: 2}): 2,
		e.srcProxy.Inject(fp.Rule{Class: fp.BlobGet, Fault: fp.Truncate(512 << 10), Times: 2}):   2,
	}
	dst := map[*fp.Injection]int{
		e.dstProxy.Inject(fp.Rule{Class: fp.UploadPut, Fault: fp.ResetAfter(256 << 10), Times: 2}): 2,
	}
	res := e.sync(t)
	res.wantExit(t, 0)
	e.wantAllCopied(t, res.report(t))
	wantApplied(t, e.srcProxy, src)
	wantApplied(t, e.dstProxy, dst)
}

// stalledBody: a source blob and a source manifest stop sending mid-body
// (the headers came, then nothing). With --idle-timeout 2s the stalled
// reads must be abandoned within seconds and retried, and every tag must
// arrive.
func stalledBody(t *testing.T, e *env) {
	blob := e.srcProxy.Inject(fp.Rule{Class: fp.BlobGet, Fault: fp.Stall(256 << 10), Skip: 1, Times: 1})
	man := e.srcProxy.Inject(fp.Rule{Class: fp.ManifestGet, Fault: fp.Stall(10), Skip: 2, Times: 1})
	res := e.sync(t, "--idle-timeout", "2s")
	res.wantExit(t, 0)
	e.wantAllCopied(t, res.report(t))
	wantApplied(t, e.srcProxy, map[*fp.Injection]int{blob: 1, man: 1})
	for _, in := range []*fp.Injection{blob, man} {
		for _, h := range in.Hits() {
			held := h.Ended.Sub(h.Arrived)
			switch {
			case h.Ended.IsZero():
				t.Errorf("%s %s is still stalled after the sync ended: the client never abandoned it", h.Method, h.Path)
			case held > 15*time.Second:
				t.Errorf("%s %s was held %s: the idle timeout (2s) did not cut the stalled read", h.Method, h.Path, held)
			default:
				t.Logf("%s %s stalled, abandoned by the client after %s", h.Method, h.Path, held.Round(time.Millisecond))
			}
		}
	}
}

// destinationOutage: from the first blob commit on, the destination
// answers 503 to everything for 30 seconds. The sync must ride it out and
// copy every tag.
func destinationOutage(t *testing.T, e *env) {
	trigger := fp.UploadPut
	in := e.dstProxy.Inject(fp.Rule{Class: fp.Any, Fault: fp.Status(http.StatusServiceUnavailable), For: outage, After: &trigger})
	res := e.sync(t)
	res.wantExit(t, 0)
	e.wantAllCopied(t, res.report(t))
	hits := in.Hits()
	if len(hits) == 0 {
		t.Fatalf("the outage never started\nrequests:\n%s", requestLog(e.dstProxy))
	}
	if res.took < outage {
		t.Errorf("the sync took %s, less than the %s outage", res.took, outage)
	}
	t.Logf("%d requests refused during the outage; sync took %s", len(hits), res.took.Round(time.Millisecond))
}

// lostTagPut: the destination stores a tag, and the answer is lost on the
// way back. The retry finds the tag in place; the outcome is still
// "copied" (this run wrote it), not "skipped".
func lostTagPut(t *testing.T, e *env) {
	in := e.dstProxy.Inject(fp.Rule{Class: fp.TagPut, Fault: fp.Lost(), Times: 1})
	res := e.sync(t)
	res.wantExit(t, 0)
	rep := res.report(t)
	e.wantAllCopied(t, rep)
	wantApplied(t, e.dstProxy, map[*fp.Injection]int{in: 1})
	for _, h := range in.Hits() {
		repo, tag, _ := strings.Cut(strings.TrimPrefix(h.Path, "/v2/"), "/manifests/")
		if s := tagStatus(rep, repo, tag); s != report.StatusCopied {
			t.Errorf("%s:%s, whose tag PUT answer was lost, is %q, want copied", repo, tag, s)
		}
	}
}

// tagStatus returns the reported status of repo:tag at the destination.
func tagStatus(rep report.Report, repo, tag string) report.Status {
	for _, res := range rep.Report.Results {
		if !strings.HasSuffix(res.Destination, "/"+repo) {
			continue
		}
		for _, tg := range res.Tags {
			if tg.Tag == tag {
				return tg.Status
			}
		}
	}
	return ""
}

// interrupted: SIGINT while a source blob is mid-stream (the seventh blob
// download, held by a stall after 512 KiB). The sync must stop promptly with exit code 130, report
// what finished, and leave no half-written tag: every tag reported copied
// is complete at B, every other one is absent.
func interrupted(t *testing.T, e *env) {
	// Six blobs come through first, so that some of the copy is done.
	in := e.srcProxy.Inject(fp.Rule{Class: fp.BlobGet, Fault: fp.Stall(512 << 10), Skip: 6, Times: 1})
	run := e.start(t)
	select {
	case <-in.Started():
	case <-run.done:
		t.Fatalf("the sync ended before a blob was mid-stream\nstderr:\n%s", run.stderr.String())
	}
	sent := time.Now()
	if err := run.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	res := run.wait(t)
	if took := run.ended.Sub(sent); took > 10*time.Second {
		t.Errorf("the sync took %s to stop after SIGINT", took)
	}
	res.wantExit(t, 130)
	rep := res.report(t)
	failed := 0
	for _, r := range rep.Report.Results {
		repo := r.Destination[strings.Index(r.Destination, "/")+1:]
		for _, tg := range r.Tags {
			at := e.dst.HasManifest(t, repo+":"+tg.Tag)
			switch tg.Status {
			case report.StatusCopied:
				if !at {
					t.Errorf("%s:%s is reported copied but is absent at the destination", repo, tg.Tag)
				}
			case report.StatusFailed:
				failed++
				if at {
					t.Errorf("%s:%s is reported failed but its tag was written", repo, tg.Tag)
				}
			default:
				t.Errorf("%s:%s is %s after SIGINT, want copied or failed", repo, tg.Tag, tg.Status)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no tag failed, yet a blob was mid-stream when SIGINT came: %+v", rep.Report.Summary)
	}
}
