package mirror

import (
	"context"
	"errors"
	"io"
	"math"
	"time"

	"github.com/fluxcd/flux-mirror/core/oci"
	"github.com/fluxcd/flux-mirror/core/retry"
)

// Kinds of hosts, as UnreachableError.Kind names them.
const (
	kindRegistry = "registry"
	kindHelmRepo = "Helm repository"
)

// hostRef names a host a request talks to.
type hostRef struct{ kind, host string }

func registryHost(repo oci.Repository) hostRef { return hostRef{kindRegistry, repo.Host} }

// request runs op, one idempotent request (or one blob transfer) to hosts,
// with request-level retries: exponential backoff from Options.RetryBase to
// RequestRetryMax with 50-100% jitter, honouring Retry-After, for up to
// Options.RetryWindow after the first failure, within ctx's deadline. blame
// names the host a failure belongs to (for a transfer: source or
// destination). A host proven unreachable fails op at once with its
// *UnreachableError, and a failure that proves its host unreachable trips
// that host's breaker (see health.go).
func (r *run) request(ctx context.Context, what string, hosts []hostRef, blame func(error) hostRef, op func(ctx context.Context) error) error {
	for _, h := range hosts {
		if err := r.health.check(h.kind, h.host); err != nil {
			return retry.Permanent(err)
		}
	}
	if blame == nil {
		blame = func(error) hostRef { return hosts[0] }
	}
	policy := retry.Policy{
		Retries:       math.MaxInt,
		Base:          r.opts.RetryBase,
		Max:           RequestRetryMax,
		MaxRetryAfter: r.opts.RetryWindow,
		Window:        r.opts.RetryWindow,
		JitterFloor:   0.5,
		Rand:          r.opts.RetryJitter,
		Sleep: func(ctx context.Context, d time.Duration) error {
			return r.health.sleep(ctx, d, hosts)
		},
		OnRetry: func(attempt int, wait time.Duration, err error) {
			r.log.Warn("retrying request", "request", what, "attempt", attempt, "wait", wait, "error", err)
			r.activity(func(a ActivityObserver) { a.RequestRetried(blame(err).host) })
		},
	}
	if r.opts.RetryWindow < 0 {
		policy.Retries = 0
	}
	var (
		first time.Time
		last  outcome
	)
	err := retry.Do(ctx, policy, func(ctx context.Context) error {
		for _, h := range hosts {
			if err := r.health.check(h.kind, h.host); err != nil {
				return retry.Permanent(err)
			}
		}
		err := op(ctx)
		now := time.Now()
		if err == nil {
			for _, h := range hosts {
				r.health.record(h.kind, h.host, outcomeAnswered, now)
			}
			return nil
		}
		if first.IsZero() {
			first = now
		}
		h := blame(err)
		last = classify(h.host, err)
		r.health.record(h.kind, h.host, last, now)
		return err
	})
	if err == nil {
		return nil
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return retry.Permanent(ue)
	}
	h := blame(err)
	if r.health.failed(h.kind, h.host, last, err, first) {
		r.log.Error("host unreachable; its remaining requests fail without being sent", "kind", h.kind, "host", h.host, "request", what, "error", err)
		return err
	}
	// Another request proved the host unreachable while this one was
	// retrying: say so as briefly as the requests that never started.
	if last == outcomeFailed {
		if ue := r.health.check(h.kind, h.host); ue != nil {
			return retry.Permanent(ue)
		}
	}
	return err
}

// retryingRegistry is the run's view of its Registry: every call is one
// request under r.request. PushBlob is the exception: its content stream
// cannot be replayed, so it is tried once here, and the engine retries the
// whole transfer (see transfer).
type retryingRegistry struct {
	r   *run
	reg Registry
}

var _ Registry = retryingRegistry{}

func (x retryingRegistry) do(ctx context.Context, what string, repo oci.Repository, op func(ctx context.Context) error) error {
	return x.r.request(ctx, what, []hostRef{registryHost(repo)}, nil, func(ctx context.Context) error {
		return x.r.limited(ctx, slotMeta, []string{repo.Host}, op)
	})
}

// ListTags implements TagLister.
func (x retryingRegistry) ListTags(ctx context.Context, repo oci.Repository) (tags []string, err error) {
	err = x.do(ctx, "list tags of "+repo.String(), repo, func(ctx context.Context) error {
		tags, err = x.reg.ListTags(ctx, repo)
		return err
	})
	return tags, err
}

// HeadManifest implements ManifestReader.
func (x retryingRegistry) HeadManifest(ctx context.Context, repo oci.Repository, reference string) (d oci.Descriptor, err error) {
	err = x.do(ctx, "head manifest "+refString(repo, reference), repo, func(ctx context.Context) error {
		d, err = x.reg.HeadManifest(ctx, repo, reference)
		return err
	})
	return d, err
}

// GetManifest implements ManifestReader.
func (x retryingRegistry) GetManifest(ctx context.Context, repo oci.Repository, reference string) (d oci.Descriptor, body []byte, err error) {
	err = x.do(ctx, "get manifest "+refString(repo, reference), repo, func(ctx context.Context) error {
		d, body, err = x.reg.GetManifest(ctx, repo, reference)
		return err
	})
	return d, body, err
}

// PutManifest implements ManifestWriter. A PUT of the same bytes under the
// same reference is idempotent, so a PUT whose answer was lost is sent again.
func (x retryingRegistry) PutManifest(ctx context.Context, repo oci.Repository, reference, mediaType string, body []byte) error {
	return x.do(ctx, "put manifest "+refString(repo, reference), repo, func(ctx context.Context) error {
		return x.reg.PutManifest(ctx, repo, reference, mediaType, body)
	})
}

// BlobExists implements BlobReader.
func (x retryingRegistry) BlobExists(ctx context.Context, repo oci.Repository, digest string) (ok bool, err error) {
	err = x.do(ctx, "check blob "+refString(repo, digest), repo, func(ctx context.Context) error {
		ok, err = x.reg.BlobExists(ctx, repo, digest)
		return err
	})
	return ok, err
}

// OpenBlob implements BlobReader; only the opening is retried.
func (x retryingRegistry) OpenBlob(ctx context.Context, repo oci.Repository, digest string) (rc io.ReadCloser, err error) {
	err = x.do(ctx, "open blob "+refString(repo, digest), repo, func(ctx context.Context) error {
		rc, err = x.reg.OpenBlob(ctx, repo, digest)
		return err
	})
	return rc, err
}

// PushBlob implements BlobWriter with a single attempt (see the type).
func (x retryingRegistry) PushBlob(ctx context.Context, repo oci.Repository, desc oci.Descriptor, content io.Reader) error {
	if err := x.r.health.check(kindRegistry, repo.Host); err != nil {
		return retry.Permanent(err)
	}
	return x.reg.PushBlob(ctx, repo, desc, content)
}

// MountBlob implements BlobWriter.
func (x retryingRegistry) MountBlob(ctx context.Context, repo, from oci.Repository, digest string) (ok bool, err error) {
	err = x.do(ctx, "mount blob "+refString(repo, digest), repo, func(ctx context.Context) error {
		ok, err = x.reg.MountBlob(ctx, repo, from, digest)
		return err
	})
	return ok, err
}

// Referrers implements ReferrerLister.
func (x retryingRegistry) Referrers(ctx context.Context, repo oci.Repository, digest string) (list []oci.Descriptor, err error) {
	err = x.do(ctx, "list referrers of "+refString(repo, digest), repo, func(ctx context.Context) error {
		list, err = x.reg.Referrers(ctx, repo, digest)
		return err
	})
	return list, err
}

// SupportsReferrersAPI implements ReferrersAPIProber.
func (x retryingRegistry) SupportsReferrersAPI(ctx context.Context, repo oci.Repository) (ok bool, err error) {
	err = x.do(ctx, "probe the referrers API of "+repo.String(), repo, func(ctx context.Context) error {
		ok, err = x.reg.SupportsReferrersAPI(ctx, repo)
		return err
	})
	return ok, err
}

// retryingCharts is the run's view of its ChartSource, every call one
// request under r.request.
type retryingCharts struct {
	r      *run
	charts ChartSource
}

var _ ChartSource = retryingCharts{}

// ChartVersions implements ChartIndexReader.
func (x retryingCharts) ChartVersions(ctx context.Context, repoURL, name string) (vs []ChartVersion, err error) {
	host := urlHost(repoURL)
	err = x.r.request(ctx, "read the index of "+repoURL, []hostRef{{kindHelmRepo, host}}, nil, func(ctx context.Context) error {
		return x.r.limited(ctx, slotBlob, []string{host}, func(ctx context.Context) error {
			vs, err = x.charts.ChartVersions(ctx, repoURL, name)
			return err
		})
	})
	return vs, err
}

// DownloadChart implements ChartDownloader.
func (x retryingCharts) DownloadChart(ctx context.Context, repoURL string, version ChartVersion) (pkg ChartPackage, err error) {
	host := urlHost(repoURL)
	if len(version.URLs) > 0 && urlHost(version.URLs[0]) != "" {
		host = urlHost(version.URLs[0])
	}
	err = x.r.request(ctx, "download chart "+version.Name+" "+version.Version, []hostRef{{kindHelmRepo, host}}, nil, func(ctx context.Context) error {
		return x.r.limited(ctx, slotBlob, []string{host}, func(ctx context.Context) error {
			pkg, err = x.charts.DownloadChart(ctx, repoURL, version)
			return err
		})
	})
	return pkg, err
}
