package mirror_test

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/report"
)

// These tests run in a synctest bubble: time is fake, so a 60s retry window
// passes at once and deterministically, with the engine's default retry
// options.

func refused(host string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000},
		Err: &net.OpError{Op: "connect", Err: syscall.ECONNREFUSED}}
}

// defaultOptions are the CLI's defaults (the engine's, plus --retries 3).
func defaultOptions(t *testing.T) mirror.Options {
	return mirror.Options{Retries: mirror.DefaultRetries, Logger: testLogger(t)}
}

// down makes every call to host fail with a refused connection while
// outage says so.
func down(reg *mirrortest.Registry, host string, outage func() bool) {
	reg.Hook = func(c mirrortest.Call) error {
		if strings.HasPrefix(c.Repo, host+"/") && outage() {
			return refused(host)
		}
		return nil
	}
}

func manyTags(n int) []string {
	tags := make([]string, n)
	for i := range tags {
		tags[i] = fmt.Sprintf("1.0.%d", i)
	}
	return tags
}

func TestRegistryRestartIsRiddenOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		seedTags(reg, src, manyTags(8)...)
		start := time.Now()
		// The destination restarts: 30 seconds of refused connections.
		down(reg, dstHost, func() bool { return time.Since(start) < 30*time.Second })
		rep := runSync(t, reg, defaultOptions(t), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(0))))
		for _, tag := range rep.Report.Results[0].Tags {
			if tag.Status != report.StatusCopied {
				t.Errorf("%s: %s %s", tag.Tag, tag.Status, tag.Error)
				continue
			}
			wantMirrored(t, reg, src, dst, tag.Tag)
		}
		if d := time.Since(start); d > 40*time.Second {
			t.Errorf("the run took %s for a 30s outage", d)
		}
	})
}

func TestFlakyRegistryEveryThirdRequestFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		seedTags(reg, src, manyTags(10)...)
		var mu sync.Mutex
		n := 0
		reg.Hook = func(c mirrortest.Call) error {
			mu.Lock()
			defer mu.Unlock()
			if n++; n%3 == 0 {
				return status(503)
			}
			return nil
		}
		rep := runSync(t, reg, defaultOptions(t), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(0))))
		wantStatuses(t, rep, 0, "1.0.9=copied 1.0.8=copied 1.0.7=copied 1.0.6=copied 1.0.5=copied 1.0.4=copied 1.0.3=copied 1.0.2=copied 1.0.1=copied 1.0.0=copied")
	})
}

// unreachableObserver records HostUnreachable calls.
type unreachableObserver struct {
	mirror.ObserverFuncs
	mu    sync.Mutex
	calls []string
}

func (o *unreachableObserver) HostUnreachable(err *mirror.UnreachableError, tags, entries int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, err.Summary(tags, entries))
}

func TestDeadRegistryFailsOnceAndFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := mirrortest.NewRegistry()
		src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
		other := "other.example.com/mirror/app"
		seedTags(reg, src, manyTags(20)...)
		down(reg, dstHost, func() bool { return true })
		obs := &unreachableObserver{}
		opts := defaultOptions(t)
		opts.Observer = obs
		start := time.Now()
		rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(
			artifact(src, dst, semverLimit(0)),
			artifact(src, other, semverLimit(3)),
		))
		elapsed := time.Since(start)
		// Bounded: one retry window (60s) and a last backoff, not one per tag.
		if elapsed > mirror.DefaultRetryWindow+mirror.RequestRetryMax {
			t.Errorf("a dead registry took %s", elapsed)
		}
		brief := "registry " + dstHost + " is unreachable (connection refused); not attempted"
		full := 0
		for _, tag := range rep.Report.Results[0].Tags {
			switch {
			case tag.Status != report.StatusFailed:
				t.Errorf("%s: %s", tag.Tag, tag.Status)
			case tag.Error == brief:
			case strings.Contains(tag.Error, "check destination "+dst+":"+tag.Tag+": after ") && strings.HasSuffix(tag.Error, "connection refused"):
				full++
			default:
				t.Errorf("%s: unexpected error %q", tag.Tag, tag.Error)
			}
		}
		if full != 1 {
			t.Errorf("%d tags report the full failure, want 1 (the others say it briefly)", full)
		}
		// The other host's entry is not affected.
		wantStatuses(t, rep, 1, "1.0.19=copied 1.0.18=copied 1.0.17=copied")
		// The dead registry never had more requests in flight than its
		// starting limit (planning checks every tag's destination at once).
		if got := reg.MaxInFlightOn(dstHost); got > mirror.InitialPerHost {
			t.Errorf("%d requests in flight to the dead registry, want at most %d", got, mirror.InitialPerHost)
		}
		// Said once for the run.
		want := "registry " + dstHost + " is unreachable: after "
		if len(obs.calls) != 1 || !strings.HasPrefix(obs.calls[0], want) || !strings.HasSuffix(obs.calls[0], "connection refused; 19 remaining tags not attempted") {
			t.Errorf("HostUnreachable calls %q, want one starting %q and counting 19 tags", obs.calls, want)
		}
	})
}

func TestUnknownHostIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := mirrortest.NewRegistry()
		const gone = "gone.example.com"
		reg.Hook = func(c mirrortest.Call) error {
			if strings.HasPrefix(c.Repo, gone+"/") {
				return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: gone, IsNotFound: true}}
			}
			return nil
		}
		rep := runSync(t, reg, defaultOptions(t), mirror.Deps{}, cfgOf(
			artifact(gone+"/org/a", dstHost+"/m/a", semverLimit(1)),
			artifact(gone+"/org/b", dstHost+"/m/b", semverLimit(1)),
		))
		if got := reg.Count(mirrortest.ListTags); got > 2 {
			t.Errorf("%d tag lists, want no retry of a host name that does not exist", got)
		}
		var errs []string
		for _, res := range rep.Report.Results {
			if res.Status != report.EntryFailed {
				t.Errorf("%s: %s", res.Source, res.Status)
			}
			errs = append(errs, res.Error)
		}
		brief := "registry " + gone + " is unreachable (no such host); not attempted"
		if !(strings.HasSuffix(errs[0], "no such host") && errs[1] == brief || strings.HasSuffix(errs[1], "no such host") && errs[0] == brief) &&
			!(strings.HasPrefix(errs[0], "list tags of") && strings.HasPrefix(errs[1], "list tags of")) {
			t.Errorf("errors %q, want one full and one brief (or two full when both lists ran at once)", errs)
		}
	})
}

func TestLostWriteAnswerIsReportedCopied(t *testing.T) {
	t.Parallel()
	reset := errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer")
	tests := []struct {
		name    string
		retries int
		window  time.Duration
		drifted bool
		want    string
		puts    int
	}{
		// The PUT is retried on its own and succeeds.
		{name: "request retry", retries: 0, want: "1.0.0=copied", puts: 2},
		// No request retry: the job is retried, finds the tag in place,
		// and knows that it wrote it.
		{name: "job retry", retries: 1, window: -1, want: "1.0.0=copied", puts: 1},
		{name: "job retry of an overwrite", retries: 1, window: -1, drifted: true, want: "1.0.0=overwritten", puts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
			seedTags(reg, src, "1.0.0")
			a := artifact(src, dst, semverLimit(1))
			if tt.drifted {
				reg.SeedImage(dst, "1.0.0", mirrortest.Image{Layers: []string{"old"}})
				a.Overwrite = true
			}
			reg.AddFault(mirrortest.Fault{Method: mirrortest.PutManifest, Repo: dst, Ref: "1.0.0", Err: reset, Lost: true, Times: 1})
			opts := fastOptions()
			opts.Retries = tt.retries
			if tt.window != 0 {
				opts.RetryWindow = tt.window
			}
			rep := runSync(t, reg, opts, mirror.Deps{}, cfgOf(a))
			wantStatuses(t, rep, 0, tt.want)
			wantMirrored(t, reg, src, dst, "1.0.0")
			if got := countOnRepo(reg, dst, mirrortest.PutManifest); got != tt.puts {
				t.Errorf("PutManifest = %d, want %d", got, tt.puts)
			}
		})
	}
}

func TestLostChartWriteAnswerIsReportedCopied(t *testing.T) {
	t.Parallel()
	for _, window := range []time.Duration{0, -1} {
		t.Run(fmt.Sprintf("window %s", window), func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			charts := mirrortest.NewCharts()
			charts.Add(chartRepo, "podinfo", "6.0.0", "x", true)
			reg.AddFault(mirrortest.Fault{Method: mirrortest.PutManifest, Repo: chartDst, Ref: "6.0.0", Err: io.ErrUnexpectedEOF, Lost: true, Times: 1})
			opts := fastOptions()
			opts.Retries = 1
			if window != 0 {
				opts.RetryWindow = window
			}
			rep := runSync(t, reg, opts, mirror.Deps{Charts: charts}, chartCfg(1, "", false))
			wantStatuses(t, rep, 0, "6.0.0=copied")
		})
	}
}

// nestedIndexes seeds an image under levels nested indexes, tagged tag.
func nestedIndexes(reg *mirrortest.Registry, repo, tag string, levels int) {
	d := reg.SeedImage(repo, "", mirrortest.Image{Layers: []string{"leaf"}})
	for i := 1; i <= levels; i++ {
		t := ""
		if i == levels {
			t = tag
		}
		d = reg.SeedIndex(repo, t, d)
	}
}

func TestIndexNestingIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		levels  int
		want    string
		wantErr string
	}{
		{levels: 1, want: "1.0.0=copied"},
		{levels: mirror.MaxIndexDepth, want: "1.0.0=copied"},
		{levels: mirror.MaxIndexDepth + 1, want: "1.0.0=failed", wantErr: fmt.Sprintf("nests image indexes more than %d levels deep", mirror.MaxIndexDepth)},
		{levels: 300, want: "1.0.0=failed", wantErr: fmt.Sprintf("nests image indexes more than %d levels deep", mirror.MaxIndexDepth)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.levels), func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			src, dst := srcHost+"/org/deep", dstHost+"/mirror/deep"
			nestedIndexes(reg, src, "1.0.0", tt.levels)
			rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
			wantStatuses(t, rep, 0, tt.want)
			if tt.wantErr == "" {
				wantMirrored(t, reg, src, dst, "1.0.0")
				return
			}
			e := rep.Report.Results[0].Tags[0].Error
			if !strings.HasPrefix(e, src+":1.0.0 ") || !strings.Contains(e, tt.wantErr) {
				t.Errorf("error %q, want it to name the tag and %q", e, tt.wantErr)
			}
			if reg.Digest(dst, "1.0.0") != "" {
				t.Error("the tag was written")
			}
			// Permanent, and stopped at the limit: not retried, not followed.
			if got := countOnRepo(reg, src, mirrortest.GetManifest); got != mirror.MaxIndexDepth+1 {
				t.Errorf("GetManifest = %d, want %d", got, mirror.MaxIndexDepth+1)
			}
		})
	}
}

func TestTransferErrorsNameTheFailingSide(t *testing.T) {
	t.Parallel()
	src, dst := srcHost+"/org/app", dstHost+"/mirror/app"
	layer := "layer of " + src + ":1.0.0"
	ld := oci.Digest([]byte(layer))
	reset := errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer")
	tests := []struct {
		name    string
		fault   mirrortest.Fault
		want    string
		wantErr string
		reads   int // OpenBlob calls of the layer
		pushes  int // PushBlob calls of the layer
	}{
		{name: "source stream breaks once: the transfer is retried whole",
			fault: mirrortest.Fault{Method: mirrortest.OpenBlob, Ref: ld, StreamErr: reset, StreamAfter: 5, Times: 1},
			want:  "1.0.0=copied", reads: 2, pushes: 2},
		{name: "source stream truncated every time",
			fault: mirrortest.Fault{Method: mirrortest.OpenBlob, Ref: ld, StreamErr: io.ErrUnexpectedEOF, StreamAfter: 5},
			want:  "1.0.0=failed", wantErr: "read blob " + ld + " from source " + src + ": after "},
		{name: "source stream breaks every time",
			fault: mirrortest.Fault{Method: mirrortest.OpenBlob, Ref: ld, StreamErr: reset, StreamAfter: 5},
			want:  "1.0.0=failed", wantErr: "read blob " + ld + " from source " + src + ": after "},
		{name: "source refuses the blob",
			fault: mirrortest.Fault{Method: mirrortest.OpenBlob, Ref: ld, Err: status(403)},
			want:  "1.0.0=failed", wantErr: "read blob " + ld + " from source " + src + ": open blob " + src + "@" + ld + ": PUT", reads: 1},
		{name: "destination refuses the upload",
			fault: mirrortest.Fault{Method: mirrortest.PushBlob, Ref: ld, Err: status(400)},
			want:  "1.0.0=failed", wantErr: "push blob " + ld + " to destination " + dst + ": PUT", reads: 1, pushes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := mirrortest.NewRegistry()
			seedTags(reg, src, "1.0.0")
			reg.AddFault(tt.fault)
			rep := runSync(t, reg, fastOptions(), mirror.Deps{}, cfgOf(artifact(src, dst, semverLimit(1))))
			wantStatuses(t, rep, 0, tt.want)
			if tt.want == "1.0.0=copied" {
				wantMirrored(t, reg, src, dst, "1.0.0")
			} else {
				e := rep.Report.Results[0].Tags[0].Error
				if !strings.Contains(e, tt.wantErr) {
					t.Errorf("error %q, want %q", e, tt.wantErr)
				}
				if tt.fault.Method == mirrortest.OpenBlob && strings.Contains(e, "push blob") {
					t.Errorf("a source failure blamed on the destination: %q", e)
				}
				if reg.HasBlob(dst, ld) || reg.Digest(dst, "1.0.0") != "" {
					t.Error("a failed transfer left the blob or the tag at the destination")
				}
			}
			count := func(method string) int {
				return reg.CountWhere(func(c mirrortest.Call) bool { return c.Method == method && c.Ref == ld })
			}
			if tt.reads > 0 && count(mirrortest.OpenBlob) != tt.reads {
				t.Errorf("OpenBlob = %d, want %d", count(mirrortest.OpenBlob), tt.reads)
			}
			if tt.pushes > 0 && count(mirrortest.PushBlob) != tt.pushes {
				t.Errorf("PushBlob = %d, want %d", count(mirrortest.PushBlob), tt.pushes)
			}
		})
	}
}

func TestHelmRepositoryFailures(t *testing.T) {
	t.Parallel()
	const (
		otherRepo = "https://other.example.com/charts/"
	)
	tests := []struct {
		name      string
		fail      func(method, repoURL string, n int) error // n: the call's number, from 1
		want      []string                                  // statuses per entry ("" for a failed entry)
		wantErr   []string                                  // in the entries' or tags' errors
		wantCalls int                                       // ChartVersions calls, if set
	}{
		{name: "index read retried on its own",
			fail: func(method, _ string, n int) error {
				if method == mirrortest.ChartVersions && n <= 2 {
					return status(503)
				}
				return nil
			},
			want: []string{"6.0.0=copied", "1.0.0=copied"}, wantCalls: 4},
		{name: "download retried on its own",
			fail: func(method, _ string, n int) error {
				if method == mirrortest.DownloadChart && n == 1 {
					return io.ErrUnexpectedEOF
				}
				return nil
			},
			want: []string{"6.0.0=copied", "1.0.0=copied"}},
		{name: "a repository that is down fails its entries only",
			fail: func(_, repoURL string, _ int) error {
				if repoURL == chartRepo {
					return refused("charts.example.com")
				}
				return nil
			},
			want:    []string{"", "1.0.0=copied"},
			wantErr: []string{"read chart podinfo from the index of " + chartRepo + ": after "}},
		{name: "not gzip is final",
			fail: func(method, _ string, _ int) error {
				if method == mirrortest.DownloadChart {
					return fmt.Errorf("load chart archive: %w", gzipHeader)
				}
				return nil
			},
			want:    []string{"6.0.0=failed", "1.0.0=failed"},
			wantErr: []string{"download chart podinfo 6.0.0: load chart archive: gzip: invalid header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				reg := mirrortest.NewRegistry()
				charts := mirrortest.NewCharts()
				charts.Add(chartRepo, "podinfo", "6.0.0", "x", false)
				charts.Add(otherRepo, "other", "1.0.0", "x", true)
				var mu sync.Mutex
				calls := map[string]int{}
				charts.Hook = func(method, repoURL string) error {
					mu.Lock()
					calls[method]++
					n := calls[method]
					mu.Unlock()
					return tt.fail(method, repoURL, n)
				}
				cfg := chartCfg(1, "", false)
				cfg.Charts = append(cfg.Charts, config.Chart{Name: "other", Source: otherRepo, Destination: "oci://" + dstHost + "/charts", Limit: intp(1)})
				rep := runSync(t, reg, defaultOptions(t), mirror.Deps{Charts: charts}, cfg)
				var errs []string
				for i, want := range tt.want {
					res := rep.Report.Results[i]
					errs = append(errs, res.Error)
					for _, tag := range res.Tags {
						errs = append(errs, tag.Error)
					}
					if want == "" {
						if res.Status != report.EntryFailed {
							t.Errorf("entry %d: %s, want failed", i, res.Status)
						}
						continue
					}
					wantStatuses(t, rep, i, want)
				}
				for _, w := range tt.wantErr {
					if !slicesContainsSubstring(errs, w) {
						t.Errorf("errors %q, want one containing %q", errs, w)
					}
				}
				if tt.wantCalls > 0 && charts.Count(mirrortest.ChartVersions) != tt.wantCalls {
					t.Errorf("ChartVersions = %d, want %d", charts.Count(mirrortest.ChartVersions), tt.wantCalls)
				}
			})
		})
	}
}

var gzipHeader = gzip.ErrHeader

func slicesContainsSubstring(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
