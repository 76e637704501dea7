package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core"
)

// TestWarmSendsTheHandshakeOnce: Warm sends the /v2/ check ahead of the
// first request, which then needs none; warming again sends nothing.
func TestWarmSendsTheHandshakeOnce(t *testing.T) {
	rec := registrytest.NewRecorder()
	s := registrytest.NewDistribution(t, registrytest.WithMiddleware(rec.Middleware))
	c := clientFor(t, s)
	repo := repoOf(t, s, "warm/app")
	ctx := context.Background()
	c.Warm(ctx, repo)
	if got := rec.Count("GET", "/v2/"); got != 1 {
		t.Fatalf("pings after Warm = %d, want 1:\n%s", got, rec.Summary())
	}
	c.Warm(ctx, repo)
	if _, err := c.HeadManifest(ctx, repo, "missing"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("HeadManifest: %v", err)
	}
	if got := len(rec.Requests()); got != 2 {
		t.Errorf("requests = %d, want the ping and the HEAD:\n%s", got, rec.Summary())
	}
}
