package registry_test

import (
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
)

// TestPortContract runs the mirror.Registry port's contract, the one the
// engine tests' in-memory registry keeps too, against the adapter over
// distribution (no referrers API, cross-repository mounts) and
// go-containerregistry's registry (referrers API, no mounts), with small
// tag pages so that pagination is part of every listing.
func TestPortContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(t testing.TB, opts ...registrytest.Option) *registrytest.Server
	}{
		{"distribution", registrytest.NewDistribution},
		{"ggcr", registrytest.NewOCI},
		{"ggcr without referrers API", func(t testing.TB, opts ...registrytest.Option) *registrytest.Server {
			return registrytest.NewOCI(t, append(opts, registrytest.WithoutReferrersAPI())...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mirrortest.RegistryContract(t, func(t *testing.T) mirrortest.Harness {
				return PortHarness(t, tc.start)
			})
		})
	}
}

// PortHarness starts a registry with an auth wrapper in front and returns
// the adapter's client for it as a contract harness.
func PortHarness(t *testing.T, start func(t testing.TB, opts ...registrytest.Option) *registrytest.Server) mirrortest.Harness {
	guard := &registrytest.Refuser{}
	s := start(t, registrytest.WithMiddleware(guard.Middleware), registrytest.WithMaxTags(4))
	c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) { o.TagPageSize = 3 })
	return mirrortest.Harness{
		Registry:     c,
		Host:         s.Host(),
		ReferrersAPI: s.SupportsReferrersAPI(),
		Mount:        s.SupportsMount(),
		Refuse:       guard.Refuse,
	}
}
