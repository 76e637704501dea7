package registry

import (
	"net/http"
	"net/url"
	"testing"
)

// TestCheckRedirectKeepsCredentialsWithTheirOrigin: an Authorization header
// survives a redirect only to the origin of the first request (same
// scheme, host and port, core.SameOrigin).
func TestCheckRedirectKeepsCredentialsWithTheirOrigin(t *testing.T) {
	t.Parallel()
	const first = "https://registry.example.com/v2/app/blobs/sha256:abc"
	tests := []struct {
		name, next string
		keep       bool
	}{
		{"same origin", "https://registry.example.com/v2/app/blobs/uploads/x", true},
		{"default port spelled out", "https://registry.example.com:443/x", true},
		{"other port", "https://registry.example.com:5000/x", false},
		{"https to http", "http://registry.example.com/x", false},
		{"other host", "https://blobs.example.net/x", false},
		{"subdomain", "https://cdn.registry.example.com/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			via := []*http.Request{{URL: mustParse(t, first)}}
			next := &http.Request{URL: mustParse(t, tt.next), Header: http.Header{"Authorization": {"Bearer secret"}}}
			if err := checkRedirect(next, via); err != nil {
				t.Fatal(err)
			}
			if got := next.Header.Get("Authorization") != ""; got != tt.keep {
				t.Errorf("Authorization kept on the redirect to %s: %v, want %v", tt.next, got, tt.keep)
			}
		})
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
