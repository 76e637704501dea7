package mirror_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
)

// TestRequestsPerTag pins what one tag costs on each side: a cold copy
// reads the source manifest with one GET (never a HEAD and then a GET of
// the same manifest), a no-op re-run sends one manifest HEAD per side.
func TestRequestsPerTag(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                 string
		seedDestination      bool
		srcHead, srcGet      int
		dstHead, dstPut      int
		wantStatus           string
		srcBlobGet, dstBlobs int
	}{
		// Three images sharing a base layer: 7 distinct blobs.
		{name: "cold copy", srcHead: 0, srcGet: 3, dstHead: 3, dstPut: 3, wantStatus: "copied", srcBlobGet: 7, dstBlobs: 7},
		{name: "no-op", seedDestination: true, srcHead: 3, srcGet: 0, dstHead: 3, dstPut: 0, wantStatus: "skipped/up-to-date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
			for _, tag := range []string{"1.0.0", "1.1.0", "1.2.0"} {
				seedTags(reg, src, tag)
				if tc.seedDestination {
					seedSame(reg, src, dst, tag)
				}
			}
			rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(0))))
			want := fmt.Sprintf("1.2.0=%[1]s 1.1.0=%[1]s 1.0.0=%[1]s", tc.wantStatus)
			wantStatuses(t, rep, 0, want)
			for _, c := range []struct {
				host, method string
				want         int
			}{
				{srcHost, mirrortest.HeadManifest, tc.srcHead},
				{srcHost, mirrortest.GetManifest, tc.srcGet},
				{dstHost, mirrortest.HeadManifest, tc.dstHead},
				{dstHost, mirrortest.PutManifest, tc.dstPut},
				{srcHost, mirrortest.OpenBlob, tc.srcBlobGet},
				{dstHost, mirrortest.PushBlob, tc.dstBlobs},
			} {
				if got := reg.CountOn(c.host, c.method); got != c.want {
					t.Errorf("%s %s = %d, want %d\n%s", c.host, c.method, got, c.want, describeCalls(reg))
				}
			}
		})
	}
}

// TestBlobPushedThisRunIsMountedIntoTheNextRepository: a layer shared by
// repositories of one destination registry is uploaded once, then mounted
// from the repository that has it, without a check or a download.
func TestBlobPushedThisRunIsMountedIntoTheNextRepository(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	var arts []string
	for i := range 3 {
		src := fmt.Sprintf("%s/org/app%d", srcHost, i)
		reg.SeedImage(src, "1.0.0", mirrortest.Image{Layers: []string{"shared-base", fmt.Sprintf("own-%d", i)}})
		arts = append(arts, src)
	}
	opts := fastOptions()
	opts.Concurrency = 1
	cfg := cfgOf(artifact(arts[0], dstHost+"/m/app0", semverLimit(1)))
	rep := runSync(t, reg, opts, mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=copied")
	// The next run is a new run: it knows nothing of the first.
	reg.ResetCalls()
	cfg = cfgOf(artifact(arts[1], dstHost+"/m/app1", semverLimit(1)), artifact(arts[2], dstHost+"/m/app2", semverLimit(1)))
	rep = runSync(t, reg, opts, mirror.Deps{}, cfg)
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantStatuses(t, rep, 1, "1.0.0=copied")
	uploads, mounts := 0, 0
	for _, c := range reg.Calls() {
		switch c.Method {
		case mirrortest.PushBlob:
			uploads++
		case mirrortest.MountBlob:
			mounts++
		}
	}
	// app1 and app2 each need the shared base, their own layer and their
	// config: 6 blobs, of which the shared base is uploaded once and
	// mounted once.
	if uploads != 5 || mounts != 1 {
		t.Errorf("%d uploads and %d mounts, want 5 and 1\n%s", uploads, mounts, describeCalls(reg))
	}
	for i := 1; i < 3; i++ {
		wantMirrored(t, reg, arts[i], fmt.Sprintf("%s/m/app%d", dstHost, i), "1.0.0")
	}
}

// TestSharedBaseUploadedOncePerRegistry: jobs of several repositories of
// one destination registry need the same layer at the same time; it is
// uploaded once, and the others wait and mount it.
func TestSharedBaseUploadedOncePerRegistry(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	var arts []config.Artifact
	for i := range 4 {
		src := fmt.Sprintf("%s/org/app%d", srcHost, i)
		reg.SeedImage(src, "1.0.0", mirrortest.Image{Layers: []string{"shared-base", fmt.Sprintf("own-%d", i)}})
		arts = append(arts, artifact(src, fmt.Sprintf("%s/m/app%d", dstHost, i), semverLimit(1)))
	}
	base := oci.Digest([]byte("shared-base"))
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Delay: 20 * time.Millisecond})
	opts := fastOptions()
	opts.Concurrency = 4
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(arts...))
	for i := range arts {
		wantStatuses(t, rep, i, "1.0.0=copied")
		wantMirrored(t, reg, arts[i].Source, arts[i].Destination, "1.0.0")
	}
	uploads := reg.CountWhere(func(c mirrortest.Call) bool { return c.Method == mirrortest.PushBlob && c.Ref == base })
	mounts := reg.CountWhere(func(c mirrortest.Call) bool { return c.Method == mirrortest.MountBlob && c.Ref == base })
	if uploads != 1 || mounts != 3 {
		t.Errorf("shared base uploaded %d times and mounted %d times, want 1 and 3\n%s", uploads, mounts, describeCalls(reg))
	}
}

// TestDestinationListedOnceMostTagsAreMissing: planning lists a
// destination that answers 404 to the first HEADs, instead of a HEAD per
// tag, and a repository that does not exist gets its blobs without a check
// each; a no-op re-run never lists.
func TestDestinationListedOnceMostTagsAreMissing(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/many", dstHost+"/mirror/many"
	seedTags(reg, src, manyTags(100)...)
	reg.AddFault(mirrortest.Fault{Method: mirrortest.HeadManifest, Host: dstHost, Delay: 5 * time.Millisecond})
	cfg := cfgOf(artifact(src, dst, semverLimit(0)))
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	if s := rep.Report.Summary; s.Copied != 100 || s.Failed != 0 {
		t.Fatalf("summary %+v", s)
	}
	if got := reg.CountOn(dstHost, mirrortest.ListTags); got != 1 {
		t.Errorf("destination tag lists = %d, want 1", got)
	}
	if got := reg.CountOn(dstHost, mirrortest.HeadManifest); got >= 100 {
		t.Errorf("destination manifest HEADs = %d, want fewer than the 100 tags", got)
	}
	if got := reg.CountOn(dstHost, mirrortest.BlobExists); got != 0 {
		t.Errorf("blob checks in a repository the run found absent = %d, want 0", got)
	}
	for _, tag := range []string{"1.0.0", "1.0.99"} {
		wantMirrored(t, reg, src, dst, tag)
	}

	reg.ResetCalls()
	rep = runSync(t, reg, fastOptions(), mirror.Deps{}, cfg)
	if s := rep.Report.Summary; s.Skipped != 100 {
		t.Fatalf("re-run summary %+v", s)
	}
	if got := reg.CountOn(dstHost, mirrortest.ListTags); got != 0 {
		t.Errorf("a no-op re-run listed the destination %d times", got)
	}
	if got := reg.CountOn(dstHost, mirrortest.HeadManifest); got != 100 {
		t.Errorf("re-run destination HEADs = %d, want 100", got)
	}
}

// warmingRegistry is a mirrortest.Registry that records Warm calls.
type warmingRegistry struct {
	*mirrortest.Registry
	mu     sync.Mutex
	warmed []string
}

func (w *warmingRegistry) Warm(_ context.Context, repo oci.Repository) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warmed = append(w.warmed, repo.Host)
}

// TestDestinationWarmedOncePerHost: a Registry that can warm a host is
// asked to, once per destination host, while the sources are listed.
func TestDestinationWarmedOncePerHost(t *testing.T) {
	t.Parallel()
	reg := &warmingRegistry{Registry: mirrortest.NewRegistry()}
	var arts []config.Artifact
	for i, dst := range []string{dstHost + "/m/a", dstHost + "/m/b", "other.example.com/m/c"} {
		src := fmt.Sprintf("%s/org/app%d", srcHost, i)
		seedTags(reg.Registry, src, "1.0.0")
		arts = append(arts, artifact(src, dst, semverLimit(1)))
	}
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(arts...))
	for i := range arts {
		wantStatuses(t, rep, i, "1.0.0=copied")
	}
	slices.Sort(reg.warmed)
	if want := []string{dstHost, "other.example.com"}; !slices.Equal(reg.warmed, want) {
		t.Errorf("warmed %v, want %v", reg.warmed, want)
	}
}
