package hostauth

import (
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestMatchIDPrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, id string
		want       bool
	}{
		{"spiffe://example.org/ns", "spiffe://example.org/ns", true},
		{"spiffe://example.org/ns", "spiffe://example.org/ns/registry", true},
		{"spiffe://example.org/ns", "spiffe://example.org/ns/a/b", true},
		{"spiffe://example.org/ns", "spiffe://example.org/nsx", false},
		{"spiffe://example.org/ns", "spiffe://example.org/n", false},
		{"spiffe://example.org/ns", "spiffe://other.org/ns/registry", false},
		{"spiffe://example.org", "spiffe://example.org/anything", true},
		{"spiffe://example.org", "spiffe://example.org", true},
		{"spiffe://example.org", "spiffe://example.com/x", false},
	}
	for _, tt := range tests {
		p, id := spiffeid.RequireFromString(tt.prefix), spiffeid.RequireFromString(tt.id)
		if got := matchIDPrefix(p, id); got != tt.want {
			t.Errorf("matchIDPrefix(%s/, %s) = %v, want %v", tt.prefix, tt.id, got, tt.want)
		}
		err := authorizeIDPrefix(p)(id, nil)
		if (err == nil) != tt.want {
			t.Errorf("authorizeIDPrefix(%s/)(%s) = %v", tt.prefix, tt.id, err)
		}
	}
}
