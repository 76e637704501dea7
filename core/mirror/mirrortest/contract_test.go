package mirrortest

import (
	"net/http"
	"testing"

	"github.com/fluxcd/flux-mirror/core"
)

// The in-memory registry keeps the same contract as the real adapter over
// real registries (adapters/registry runs this suite too), in each of the
// shapes the engine tests use it in.
func TestRegistryContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		api       bool
		mount     bool
		configure func(r *Registry, host string)
	}{
		{"referrers API and mounts", true, true, nil},
		{"fallback tag schema", false, true, func(r *Registry, host string) { r.SetReferrersAPI(host, false) }},
		{"no mounts", true, false, func(r *Registry, _ string) { r.DisableMount() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			RegistryContract(t, func(t *testing.T) Harness {
				const host = "registry.example.com"
				r := NewRegistry()
				if tc.configure != nil {
					tc.configure(r, host)
				}
				return Harness{
					Registry:     r,
					Host:         host,
					ReferrersAPI: tc.api,
					Mount:        tc.mount,
					Refuse: func(path string, status int) {
						code := map[int]string{http.StatusUnauthorized: "UNAUTHORIZED", http.StatusForbidden: "DENIED"}[status]
						r.AddFault(Fault{Repo: host + "/" + path, Err: &core.HTTPError{
							Method: http.MethodGet, URL: "https://" + host + "/v2/" + path + "/", StatusCode: status, Code: code,
						}})
					},
				}
			})
		})
	}
}
