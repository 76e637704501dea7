package registrycontainer

import (
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/registry/registrytest"
)

func TestDistributionContainer(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]registrytest.Option{
		"plain":        nil,
		"htpasswd-tls": {registrytest.WithHtpasswd("alice", "pw"), registrytest.WithTLS()},
		"token":        {registrytest.WithTokenAuth("bob", "pw")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := NewDistribution(t, opts...)
			if s.Kind() != "container" {
				t.Fatalf("kind %q", s.Kind())
			}
			d := s.PushRandomImage(t, "app:1.0", 2, 4096)
			if got := s.Digest(t, "app:1.0"); got != d {
				t.Fatalf("digest %s, want %s", got, d)
			}
			ref := s.PushReferrer(t, "app:1.0", "application/vnd.example")
			if refs := s.Referrers(t, "app", d); len(refs) != 1 || refs[0].Digest.String() != ref {
				t.Fatalf("referrers %v", refs)
			}
		})
	}
}
