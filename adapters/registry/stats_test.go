package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core"
)

// TestStatsCountRequestsAndThrottling checks the per-host counts the
// metrics report: every request on the wire, and the 429 answers.
func TestStatsCountRequestsAndThrottling(t *testing.T) {
	var throttle atomic.Int32
	throttle.Store(2)
	s := registrytest.NewDistribution(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/tags/list") && throttle.Add(-1) >= 0 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	c := clientFor(t, s)
	repo := repoOf(t, s, "stats/app")
	newImage(t, 64).push(t, c, repo, "v1")
	before := c.Stats()[s.Host()]

	ctx := context.Background()
	for range 2 {
		_, err := c.ListTags(ctx, repo)
		var he *core.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("ListTags = %v, want a 429", err)
		}
	}
	if _, err := c.ListTags(ctx, repo); err != nil {
		t.Fatal(err)
	}
	got := c.Stats()[s.Host()]
	if want := (registry.HostStats{Requests: before.Requests + 3, Throttled: 2}); got != want {
		t.Errorf("Stats()[%s] = %+v, want %+v (before the tag lists: %+v)", s.Host(), got, want, before)
	}
}
