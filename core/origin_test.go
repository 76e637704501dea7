package core

import (
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"identical", "https://charts.example.com/index.yaml", "https://charts.example.com/a/b.tgz", true},
		{"default https port", "https://charts.example.com", "https://charts.example.com:443/x", true},
		{"default http port", "http://charts.example.com:80", "http://charts.example.com/x", true},
		{"host case", "https://Charts.Example.COM", "https://charts.example.com", true},
		{"scheme case", "HTTPS://charts.example.com", "https://charts.example.com", true},
		{"userinfo and query ignored", "https://u:p@charts.example.com/?a=1", "https://charts.example.com/b#c", true},
		{"ipv6 default port", "https://[::1]", "https://[::1]:443/", true},
		{"ipv6 same port", "http://[::1]:8080", "http://[::1]:8080/x", true},
		{"other port", "http://127.0.0.1:8080", "http://127.0.0.1:8081", false},
		{"explicit non-default port", "https://charts.example.com", "https://charts.example.com:8443", false},
		{"http default port is not https default", "https://charts.example.com:80", "http://charts.example.com", false},
		{"downgrade", "https://charts.example.com", "http://charts.example.com", false},
		{"downgrade same port", "https://charts.example.com:8443", "http://charts.example.com:8443", false},
		{"subdomain", "https://example.com", "https://charts.example.com", false},
		{"parent domain", "https://charts.example.com", "https://example.com", false},
		{"suffix trick", "https://charts.example.com", "https://charts.example.com.evil.io", false},
		{"name versus address", "http://localhost:8080", "http://127.0.0.1:8080", false},
		{"trailing dot", "https://charts.example.com.", "https://charts.example.com", false},
		{"ipv6 other port", "http://[::1]:8080", "http://[::1]:8081", false},
		{"unknown scheme same port", "oci://r.example.com:5000", "oci://r.example.com:5000/x", true},
		{"unknown scheme no default", "oci://r.example.com", "oci://r.example.com:443", false},
		{"relative", "/index.yaml", "/index.yaml", false},
		{"no scheme", "//charts.example.com", "//charts.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := url.Parse(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := url.Parse(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := SameOrigin(a, b); got != tt.want {
				t.Errorf("SameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := SameOrigin(b, a); got != tt.want {
				t.Errorf("SameOrigin(%s, %s) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
	if SameOrigin(nil, &url.URL{Scheme: "https", Host: "h"}) || SameOrigin(&url.URL{Scheme: "https", Host: "h"}, nil) {
		t.Error("a nil URL matched")
	}
}
