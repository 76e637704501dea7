package registrycontainer_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
	guard := &refuser{refused: map[string]int{}}
	s := registrycontainer.NewDistribution(t, registrytest.WithMiddleware(guard.middleware), registrytest.WithMaxTags(4))
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
			Refuse:       guard.refuse,
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

// refuser answers like an authenticating proxy to a client without
// (enough) credentials: 401 with a Basic challenge, or 403, for the
// repositories it was told to refuse.
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
		code := map[int]string{http.StatusUnauthorized: "UNAUTHORIZED", http.StatusForbidden: "DENIED"}[status]
		if code == "" {
			next.ServeHTTP(w, r)
			return
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="contract"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"errors":[{"code":"`+code+`","message":"refused by the test's auth wrapper"}]}`)
	})
}
