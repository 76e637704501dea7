package mirror_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

func status(code int) error {
	return &core.HTTPError{Method: "PUT", URL: "https://" + dstHost + "/v2/x", StatusCode: code, Code: http.StatusText(code)}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	otherSrc, otherDst := srcHost+"/org/other", dstHost+"/mirror/other"
	tests := []struct {
		name    string
		retries int
		window  time.Duration // Options.RetryWindow; 0: fastOptions'
		faults  []mirrortest.Fault
		want    string // statuses of entry 0
		wantErr string // in entry 0's tag error
		check   func(t *testing.T, reg *mirrortest.Registry)
	}{
		{
			name:    "transient 500 then success",
			retries: 3,
			faults:  []mirrortest.Fault{{Method: mirrortest.PushBlob, Repo: dst, Err: status(500), Times: 1}},
			want:    "1.0.0=copied",
			check: func(t *testing.T, reg *mirrortest.Registry) {
				if got := countOnRepo(reg, dst, mirrortest.PushBlob) + countOnRepo(reg, dst, mirrortest.MountBlob); got != 4 {
					t.Errorf("PushBlob + MountBlob = %d, want 3 blobs + 1 retry", got)
				}
			},
		},
		{
			name:    "429 with Retry-After",
			retries: 1,
			faults: []mirrortest.Fault{{Method: mirrortest.PutManifest, Repo: dst, Times: 1,
				Err: &core.HTTPError{Method: "PUT", URL: "https://" + dstHost + "/v2/mirror/app/manifests/1.0.0", StatusCode: 429, RetryAfter: 30 * time.Millisecond}}},
			want: "1.0.0=copied",
			check: func(t *testing.T, reg *mirrortest.Registry) {
				if got := countOnRepo(reg, dst, mirrortest.PutManifest); got != 2 {
					t.Errorf("PutManifest = %d, want 2", got)
				}
			},
		},
		{
			name:    "failure on every attempt, completed blobs not redone",
			retries: 3,
			faults:  []mirrortest.Fault{{Method: mirrortest.PutManifest, Repo: dst, Err: status(503)}},
			want:    "1.0.0=failed",
			wantErr: "put manifest " + dst + ":1.0.0: after ",
			check: func(t *testing.T, reg *mirrortest.Registry) {
				// The PUT is retried on its own, not the job's requests.
				if got := countOnRepo(reg, dst, mirrortest.PutManifest); got < 2 {
					t.Errorf("PutManifest = %d, want it retried", got)
				}
				// The blobs were uploaded once and are known present:
				// neither checked nor pushed again.
				// (The other entry's job may have put the shared base
				// first; then it is mounted from there, unchecked.)
				mounts := countOnRepo(reg, dst, mirrortest.MountBlob)
				if got := countOnRepo(reg, dst, mirrortest.PushBlob) + mounts; got != 3 {
					t.Errorf("PushBlob + MountBlob = %d, want 3", got)
				}
				if got := countOnRepo(reg, dst, mirrortest.BlobExists) + mounts; got != 3 {
					t.Errorf("BlobExists + MountBlob = %d, want 3", got)
				}
			},
		},
		{
			name:    "no job retries: the request is retried",
			retries: 0,
			faults:  []mirrortest.Fault{{Method: mirrortest.PushBlob, Repo: dst, Err: status(500), Times: 1}},
			want:    "1.0.0=copied",
			check: func(t *testing.T, reg *mirrortest.Registry) {
				if got := countOnRepo(reg, dst, mirrortest.PushBlob) + countOnRepo(reg, dst, mirrortest.MountBlob); got != 4 {
					t.Errorf("PushBlob + MountBlob = %d, want 3 blobs + 1 retry", got)
				}
			},
		},
		{
			name:    "no retries at all",
			retries: 0,
			window:  -1,
			faults:  []mirrortest.Fault{{Method: mirrortest.PushBlob, Repo: dst, Err: status(500), Times: 1}},
			want:    "1.0.0=failed",
			wantErr: "500 Internal Server Error",
			check: func(t *testing.T, reg *mirrortest.Registry) {
				// The failing upload is not retried; its siblings,
				// under way, are finished rather than cancelled.
				if got := countOnRepo(reg, dst, mirrortest.PushBlob) + countOnRepo(reg, dst, mirrortest.MountBlob); got != 3 {
					t.Errorf("PushBlob + MountBlob = %d, want 3", got)
				}
			},
		},
		{
			name:    "401 is final, not missing",
			retries: 3,
			faults:  []mirrortest.Fault{{Method: mirrortest.HeadManifest, Repo: dst, Err: status(401)}},
			want:    "1.0.0=failed",
			wantErr: "check destination " + dst + ":1.0.0: PUT https://" + dstHost + "/v2/x: 401 Unauthorized",
			check: func(t *testing.T, reg *mirrortest.Registry) {
				if got := countOnRepo(reg, dst, mirrortest.HeadManifest); got != 1 {
					t.Errorf("HeadManifest = %d, want 1", got)
				}
				if got := countOnRepo(reg, dst, mirrortest.PushBlob); got != 0 {
					t.Errorf("PushBlob = %d after a 401 on the tag check", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			seedTags(reg, src, "1.0.0")
			seedTags(reg, otherSrc, "2.0.0")
			for _, f := range tt.faults {
				reg.AddFault(f)
			}
			opts := fastOptions()
			opts.Retries = tt.retries
			if tt.window != 0 {
				opts.RetryWindow = tt.window
			}
			rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(
				artifact(src, dst, semverLimit(1)),
				artifact(otherSrc, otherDst, semverLimit(1)),
			))
			wantStatuses(t, rep, 0, tt.want)
			if tt.wantErr != "" && !strings.Contains(rep.Report.Results[0].Tags[0].Error, tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", rep.Report.Results[0].Tags[0].Error, tt.wantErr)
			}
			if tt.want == "1.0.0=copied" {
				wantMirrored(t, reg, src, dst, "1.0.0")
			} else if reg.Digest(dst, "1.0.0") != "" {
				t.Error("a failed tag was written")
			}
			// The other entry is unaffected.
			wantStatuses(t, rep, 1, "2.0.0=copied")
			wantMirrored(t, reg, otherSrc, otherDst, "2.0.0")
			tt.check(t, reg)
		})
	}
}

func TestPerJobTimeout(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/slow", dstHost+"/mirror/slow"
	seedTags(reg, src, "1.0.0")
	seedTags(reg, srcHost+"/org/fast", "1.0.0")
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Repo: dst, Delay: 10 * time.Second})
	opts := fastOptions()
	opts.Timeout = 150 * time.Millisecond
	start := time.Now()
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(
		artifact(src, dst, semverLimit(1)),
		artifact(srcHost+"/org/fast", dstHost+"/mirror/fast", semverLimit(1)),
	))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %s despite a 150ms job budget", d)
	}
	wantStatuses(t, rep, 0, "1.0.0=failed")
	if e := rep.Report.Results[0].Tags[0].Error; !strings.Contains(e, "timed out after 150ms (1 attempt)") {
		t.Errorf("error %q", e)
	}
	wantStatuses(t, rep, 1, "1.0.0=copied")
	if reg.Digest(dst, "1.0.0") != "" {
		t.Error("timed-out tag was written")
	}
}

func TestConcurrencySharedPool(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	var arts []config.Artifact
	for i := range 8 {
		host := fmt.Sprintf("src%d.example.com", i)
		src := host + "/org/app"
		seedTags(reg, src, "1.0.0")
		arts = append(arts, artifact(src, fmt.Sprintf("%s/m/app%d", dstHost, i), semverLimit(1)))
	}
	// The one-per-job calls take a while, so that jobs in flight overlap:
	// the tag list of planning, the destination check of a copy job.
	reg.AddFault(mirrortest.Fault{Method: mirrortest.ListTags, Delay: 15 * time.Millisecond})
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PutManifest, Host: dstHost, Delay: 15 * time.Millisecond})
	opts := fastOptions()
	opts.Concurrency = 4
	opts.PerHostConcurrency = 2
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(arts...))
	for i := range arts {
		wantStatuses(t, rep, i, "1.0.0=copied")
	}
	// Planning of the 8 entries (8 source hosts) does not wait for the
	// pool of copy jobs: all 8 tag lists are in flight together.
	if got := reg.MaxInFlightOf("", mirrortest.ListTags); got != 8 {
		t.Errorf("max tag lists in flight = %d, want all 8 entries planned at once", got)
	}
	// Every copy job writes to the one destination host: 2 at a time.
	if got := reg.MaxInFlightOf(dstHost, mirrortest.PutManifest); got != 2 {
		t.Errorf("max copy jobs in flight to %s = %d, want the per-host limit 2", dstHost, got)
	}
	// Planning's destination checks and the jobs' requests stay within
	// the host's request limit.
	if got := reg.MaxInFlightOn(dstHost); got > mirror.InitialPerHost {
		t.Errorf("max requests in flight to %s = %d, want at most %d", dstHost, got, mirror.InitialPerHost)
	}
}

func TestConcurrentJobsOverlapAcrossEntries(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	var arts []config.Artifact
	for i := range 6 {
		src := fmt.Sprintf("%s/org/app%d", srcHost, i)
		seedTags(reg, src, "1.0.0")
		arts = append(arts, artifact(src, fmt.Sprintf("%s/m/app%d", dstHost, i), semverLimit(1)))
	}
	// Only the destination tag check is slow: jobs of different entries
	// must be in it at the same time.
	reg.AddFault(mirrortest.Fault{Method: mirrortest.HeadManifest, Host: dstHost, Delay: 40 * time.Millisecond})
	opts := fastOptions()
	opts.Concurrency = 6
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(arts...))
	for i := range arts {
		wantStatuses(t, rep, i, "1.0.0=copied")
	}
	if got := reg.MaxInFlightOf(dstHost, mirrortest.HeadManifest); got != 6 {
		t.Errorf("max requests in flight to the destination = %d, want 6 (all entries' jobs overlapping)", got)
	}
}

func TestSharedBlobUploadedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	tags := []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5"}
	seedTags(reg, src, tags...)
	// A second entry, from another source repository, into the same
	// destination repository, shares the base layer too.
	seedTags(reg, srcHost+"/org/fork", "2.0.0")
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Delay: 40 * time.Millisecond})
	opts := fastOptions()
	opts.Concurrency = 7
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(
		artifact(src, dst, semverLimit(0)),
		artifact(srcHost+"/org/fork", dst, semverLimit(0)),
	))
	wantStatuses(t, rep, 0, "1.0.5=copied 1.0.4=copied 1.0.3=copied 1.0.2=copied 1.0.1=copied 1.0.0=copied")
	wantStatuses(t, rep, 1, "2.0.0=copied")
	base := oci.Digest([]byte("base"))
	count := func(method string) int {
		return reg.CountWhere(func(c mirrortest.Call) bool { return c.Method == method && c.Ref == base && c.Repo == dst })
	}
	if got := count(mirrortest.PushBlob); got != 1 {
		t.Errorf("shared blob pushed %d times, want 1", got)
	}
	if got := count(mirrortest.BlobExists); got != 1 {
		t.Errorf("shared blob checked %d times, want 1 (waiters must not HEAD again)", got)
	}
	if got := count(mirrortest.OpenBlob); got != 0 {
		t.Errorf("shared blob opened at the destination %d times", got)
	}
}

func TestDigestMismatchNeverPushed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		corrupt func(real []byte) []byte
		wantErr string
	}{
		{"other bytes", func(b []byte) []byte { c := append([]byte{}, b...); c[0] ^= 0xff; return c }, "hashes to sha256:"},
		{"longer", func(b []byte) []byte { return append(append([]byte{}, b...), "tail"...) }, "longer than its announced"},
		{"shorter", func(b []byte) []byte { return b[:len(b)-1] }, "its descriptor says"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
			seedTags(reg, src, "1.0.0")
			layer := "layer of " + src + ":1.0.0"
			ld := oci.Digest([]byte(layer))
			reg.ServeBlob(src, ld, tt.corrupt([]byte(layer)))
			rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
			wantStatuses(t, rep, 0, "1.0.0=failed")
			e := rep.Report.Results[0].Tags[0].Error
			if !strings.Contains(e, "digest mismatch") || !strings.Contains(e, tt.wantErr) {
				t.Errorf("error %q", e)
			}
			if reg.HasBlob(dst, ld) {
				t.Error("corrupt blob stored at the destination")
			}
			if reg.Digest(dst, "1.0.0") != "" {
				t.Error("tag written despite a corrupt blob")
			}
			// A digest mismatch is final: not retried.
			if got := reg.CountWhere(func(c mirrortest.Call) bool { return c.Method == mirrortest.OpenBlob && c.Ref == ld }); got != 1 {
				t.Errorf("corrupt blob fetched %d times", got)
			}
		})
	}
}

func TestTagMovedBetweenPlanAndCopy(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	planned := seedTags(reg, src, "1.0.0")["1.0.0"]
	moved := reg.SeedImage(src, "", mirrortest.Image{Layers: []string{"rebuilt"}})
	var once sync.Once
	reg.Hook = func(c mirrortest.Call) error {
		if c.Method == mirrortest.GetManifest && c.Repo == src && c.Ref == "1.0.0" {
			once.Do(func() { reg.Tag(src, "1.0.0", moved.Digest) })
		}
		return nil
	}
	// Where the destination lacks the tag, planning reads the source
	// manifest with its one GET and the copy puts those bytes: nothing can
	// move in between. Where it has another digest (overwrite), planning
	// HEADs the source and the copy GETs it, which must match.
	reg.SeedImage(dst, "1.0.0", mirrortest.Image{Layers: []string{"old"}})
	a := artifact(src, dst, semverLimit(1))
	a.Overwrite = true
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(a))
	wantStatuses(t, rep, 0, "1.0.0=failed")
	tag := rep.Report.Results[0].Tags[0]
	if tag.Digest != planned.Digest {
		t.Errorf("reported digest %s, want the planned %s", tag.Digest, planned.Digest)
	}
	want := fmt.Sprintf("source tag %s:1.0.0 moved from %s to %s since planning", src, planned.Digest, moved.Digest)
	if !strings.Contains(tag.Error, want) {
		t.Errorf("error %q, want %q", tag.Error, want)
	}
	if reg.Writes() != 0 {
		t.Errorf("%d writes for a moved tag\n%s", reg.Writes(), describeCalls(reg))
	}
	if got := countOnRepo(reg, src, mirrortest.GetManifest); got != 1 {
		t.Errorf("GetManifest = %d, want 1 (not retried)", got)
	}
}

func TestUnknownErrorsOfPortsAreRetried(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	seedTags(reg, src, "1.0.0")
	reg.AddFault(mirrortest.Fault{Method: mirrortest.OpenBlob, Err: errors.New("connection reset by peer"), Times: 2})
	rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantMirrored(t, reg, src, dst, "1.0.0")
	if rep.Report.Summary.ExitCode != report.ExitOK {
		t.Errorf("exit %d", rep.Report.Summary.ExitCode)
	}
}

func TestBlobsOfOneImageMoveInParallel(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/big", dstHost+"/mirror/big"
	reg.SeedImage(src, "1.0.0", mirrortest.Image{Layers: []string{"l1", "l2", "l3", "l4", "l5", "l6"}})
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Delay: 30 * time.Millisecond})
	opts := fastOptions()
	opts.Concurrency = 1
	copyOneJob(t, reg, opts, src, dst)
	if got := reg.MaxInFlightOf(dstHost, mirrortest.PushBlob); got != 4 {
		t.Errorf("max blob uploads in flight = %d, want 4", got)
	}

	// One failing blob fails the tag; nothing is tagged.
	reg2 := mirrortest.NewRegistry()
	reg2.SeedImage(src, "1.0.0", mirrortest.Image{Layers: []string{"l1", "l2", "l3", "l4", "l5", "l6"}})
	reg2.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Ref: oci.Digest([]byte("l4")), Err: status(400)})
	rep := runSync(t, reg2, opts, mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
	wantStatuses(t, rep, 0, "1.0.0=failed")
	if e := rep.Report.Results[0].Tags[0].Error; !strings.Contains(e, "push blob "+oci.Digest([]byte("l4"))+" to destination "+dst+": PUT") {
		t.Errorf("error %q", e)
	}
	if reg2.Digest(dst, "1.0.0") != "" {
		t.Error("tag written despite a failed blob")
	}
}

func TestChildrenOfAnIndexOverlapWithinTheJobsBlobSlots(t *testing.T) {
	t.Parallel()
	reg := mirrortest.NewRegistry()
	src, dst := srcHost+"/org/multi", dstHost+"/mirror/multi"
	var children []oci.Descriptor
	for _, arch := range []string{"amd64", "arm64", "ppc64le", "s390x"} {
		children = append(children, reg.SeedImage(src, "", mirrortest.Image{
			Layers:   []string{"base-" + arch, "app-" + arch},
			Platform: &oci.Platform{OS: "linux", Architecture: arch},
		}))
	}
	reg.SeedIndex(src, "1.0.0", children...)
	reg.AddFault(mirrortest.Fault{Method: mirrortest.GetManifest, Delay: 20 * time.Millisecond})
	reg.AddFault(mirrortest.Fault{Method: mirrortest.PushBlob, Delay: 20 * time.Millisecond})
	opts := fastOptions()
	opts.Concurrency = 1
	copyOneJob(t, reg, opts, src, dst)
	for _, c := range children {
		if _, _, ok := reg.Manifest(dst, c.Digest); !ok {
			t.Errorf("child %s missing at the destination", c.Digest)
		}
	}
	// The four platform images are fetched side by side...
	if got := reg.MaxInFlightOf(srcHost, mirrortest.GetManifest); got < 2 {
		t.Errorf("max child manifest GETs in flight = %d, want the children to overlap", got)
	}
	// ...but their 12 blobs share the job's four transfer slots.
	if got := reg.MaxInFlightOf(dstHost, mirrortest.PushBlob); got != 4 {
		t.Errorf("max blob uploads in flight = %d, want 4", got)
	}
}

// copyOneJob syncs tag 1.0.0 of src to dst and checks that it was copied
// whole.
func copyOneJob(t *testing.T, reg *mirrortest.Registry, opts mirror.Options, src, dst string) {
	t.Helper()
	rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
	wantStatuses(t, rep, 0, "1.0.0=copied")
	wantMirrored(t, reg, src, dst, "1.0.0")
}
