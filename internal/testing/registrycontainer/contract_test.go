package registrycontainer_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/mirror/mirrortest"
	"github.com/fluxcd/flux-mirror/internal/testing/registrycontainer"
	"github.com/google/go-containerregistry/pkg/authn"
)

// TestPortContract runs the mirror.Registry port's contract against the
// registry adapter over distribution in a container: one container for
// the whole suite, each subtest in a namespace of its own with a fresh
// client.
func TestPortContract(t *testing.T) {
	t.Parallel()
	guard := &registrytest.Refuser{}
	s := registrycontainer.NewDistribution(t, registrytest.WithMiddleware(guard.Middleware), registrytest.WithMaxTags(4))
	var n atomic.Int64
	mirrortest.RegistryContract(t, func(t *testing.T) mirrortest.Harness {
		c, err := registry.New(registry.Options{
			Keychain:    authn.NewMultiKeychain(), // never the developer's Docker config
			TagPageSize: 3,
			Hosts:       map[string]registry.Host{s.Host(): {TLS: s.ClientTLSConfig(), Credentials: credentials(s)}},
		})
		if err != nil {
			t.Fatalf("registry.New: %v", err)
		}
		return mirrortest.Harness{
			Registry:     c,
			Host:         s.Host(),
			Namespace:    fmt.Sprintf("run%d/", n.Add(1)),
			ReferrersAPI: s.SupportsReferrersAPI(),
			Mount:        s.SupportsMount(),
			Refuse:       guard.Refuse,
		}
	})
}

func credentials(s *registrytest.Server) auth.Source {
	if s.Username() == "" {
		return nil
	}
	return auth.SourceFunc(func(context.Context) (auth.Credential, error) {
		return auth.Credential{Username: s.Username(), Secret: s.Password()}, nil
	})
}
