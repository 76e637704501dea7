package cosign_test

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/adapters/cosign"
)

func TestIsBundleMediaType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mt   string
		want bool
	}{
		{"application/vnd.dev.sigstore.bundle.v0.3+json", true},
		{"application/vnd.dev.sigstore.bundle.v0.4+json", true},
		{"application/vnd.dev.sigstore.bundle.v0.3.1+json", true},
		{"application/vnd.dev.sigstore.bundle+json;version=0.1", true},
		{"application/vnd.dev.sigstore.bundle+json;version=0.2", true},
		{"application/vnd.dev.sigstore.bundle+json; version=0.3", true},
		{`application/vnd.dev.sigstore.bundle+json;version="0.3"`, true},
		{"Application/Vnd.Dev.Sigstore.Bundle.v0.3+JSON", true},
		{"application/vnd.dev.sigstore.bundle+json", false},
		{"application/vnd.dev.sigstore.bundle+json;version=", false},
		{"application/vnd.dev.sigstore.bundle+json;v=0.3", false},
		{"application/vnd.dev.sigstore.bundle.v0+json", false},
		{"application/vnd.dev.sigstore.bundle.vx.y+json", false},
		{"application/vnd.dev.sigstore.bundle.v0.3", false},
		{"application/vnd.dev.sigstore.bundlex.v0.3+json", false},
		{"application/vnd.dev.cosign.simplesigning.v1+json", false},
		{"application/vnd.oci.empty.v1+json", false},
		{"application/vnd.dev.sigstore.verificationmaterial;version=0.1", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := cosign.IsBundleMediaType(tc.mt); got != tc.want {
			t.Errorf("IsBundleMediaType(%q) = %v, want %v", tc.mt, got, tc.want)
		}
	}
}

func FuzzIsBundleMediaType(f *testing.F) {
	for _, s := range []string{
		"application/vnd.dev.sigstore.bundle.v0.3+json",
		"application/vnd.dev.sigstore.bundle+json;version=0.1",
		"application/vnd.dev.sigstore.bundle+json;;version=0.1;x=y",
		"application/vnd.dev.sigstore.bundle.v+json",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, mt string) {
		if cosign.IsBundleMediaType(mt) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(mt)), "application/vnd.dev.sigstore.bundle") {
			t.Fatalf("IsBundleMediaType(%q) accepted a foreign type", mt)
		}
	})
}
