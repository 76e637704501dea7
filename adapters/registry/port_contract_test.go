package registry_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
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
	guard := &refuser{refused: map[string]int{}}
	s := start(t, registrytest.WithMiddleware(guard.middleware), registrytest.WithMaxTags(4))
	c := clientFor(t, s, func(o *registry.Options, _ *registry.Host) { o.TagPageSize = 3 })
	return mirrortest.Harness{
		Registry:     c,
		Host:         s.Host(),
		ReferrersAPI: s.SupportsReferrersAPI(),
		Mount:        s.SupportsMount(),
		Refuse:       guard.refuse,
	}
}

// refuser is an authenticating proxy's answer to a client without (enough)
// credentials: 401 with a Basic challenge, or 403, for the repositories
// it was told to refuse.
type refuser struct {
	mu      sync.Mutex
	refused map[string]int // repository path → status
}

func (g *refuser) refuse(path string, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refused[path] = status
}

func (g *refuser) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		status := 0
		for path, s := range g.refused {
			if strings.HasPrefix(r.URL.Path, "/v2/"+path+"/") {
				status = s
			}
		}
		g.mu.Unlock()
		switch status {
		case http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Basic realm="contract"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		case http.StatusForbidden:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
		default:
			next.ServeHTTP(w, r)
		}
	})
}
