package hostauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/fluxcd/flux-mirror/core/config"
	"github.com/fluxcd/flux-mirror/core/retry"
)

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// TestLazySPIFFE builds the TLS config of an x509-svid host without
// touching the Workload API, connects on the first handshake only, and
// reports a failed connection as the host's tls.clientAuth.provider
// failure, once.
func TestLazySPIFFE(t *testing.T) {
	t.Parallel()
	org := newSPIFFEWorld(t, "example.org")
	bundles := x509bundle.NewSet(x509bundle.FromX509Authorities(org.td, []*x509.Certificate{org.ca.cert}))
	mirrorSVID, _ := org.svid(t, "/mirror", false)
	webCA := newCA(t, "web CA")
	webCert := webCA.issue(t, leafOpts{cn: "web", ips: localhost, server: true})
	registry := tlsServer(t, webCert.tls, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAnyClientCert
		c.VerifyPeerCertificate = tlsconfig.VerifyPeerCertificate(bundles, tlsconfig.AuthorizeAny())
	})
	host := strings.TrimPrefix(registry.URL, "https://")
	h := config.Host{Host: host, TLS: &config.TLS{
		ClientAuth: &config.ClientAuth{Provider: config.ClientProviderX509SVID},
		ServerAuth: &config.ServerAuth{Value: webCA.pem},
	}}

	tests := []struct {
		name    string
		open    func(*atomic.Int32) SPIFFEOpener
		want    string
		wantErr string
	}{
		{
			name: "connects on first handshake",
			open: func(n *atomic.Int32) SPIFFEOpener {
				return func(context.Context) (SPIFFESource, io.Closer, error) {
					n.Add(1)
					return &workload{svid: mirrorSVID, bundles: bundles}, closerFunc(func() error { n.Add(100); return nil }), nil
				}
			},
			want: "spiffe://example.org/mirror",
		},
		{
			name: "connection failure names the host and field",
			open: func(n *atomic.Int32) SPIFFEOpener {
				return func(context.Context) (SPIFFESource, io.Closer, error) {
					n.Add(1)
					return nil, nil, errors.New("spiffe: SPIFFE_ENDPOINT_SOCKET is not set")
				}
			},
			wantErr: `host "` + host + `": tls.clientAuth.provider "x509-svid": get the X.509-SVID from the SPIFFE Workload API: spiffe: SPIFFE_ENDPOINT_SOCKET is not set`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opened atomic.Int32
			lazy := NewLazySPIFFE(t.Context(), tt.open(&opened))
			cfg, err := TLSConfig(h, Deps{SPIFFE: lazy})
			if err != nil {
				t.Fatal(err)
			}
			if opened.Load() != 0 || lazy.Opened() {
				t.Fatal("building the TLS config contacted the Workload API")
			}
			for range 2 {
				body, err := get(t, registry.URL, cfg)
				if tt.wantErr == "" {
					if err != nil || body != tt.want {
						t.Fatalf("got %q, %v; want %q", body, err, tt.want)
					}
					continue
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v does not contain %q", err, tt.wantErr)
				}
				var he *HostError
				if !errors.As(err, &he) || retry.Retryable(err) {
					t.Errorf("want a permanent HostError, got %v", err)
				}
			}
			if opened.Load() != 1 {
				t.Errorf("the Workload API was contacted %d times, want once", opened.Load())
			}
			if err := lazy.Close(); err != nil {
				t.Fatal(err)
			}
			if tt.wantErr == "" && opened.Load() != 101 {
				t.Errorf("Close did not close the connection (%d)", opened.Load())
			}
		})
	}

	t.Run("never used, never opened", func(t *testing.T) {
		t.Parallel()
		lazy := NewLazySPIFFE(t.Context(), func(context.Context) (SPIFFESource, io.Closer, error) {
			t.Error("opened")
			return nil, nil, errors.New("opened")
		})
		if _, err := TLSConfig(h, Deps{SPIFFE: lazy}); err != nil {
			t.Fatal(err)
		}
		if err := lazy.Close(); err != nil || lazy.Opened() {
			t.Errorf("close: %v, opened %v", err, lazy.Opened())
		}
		if _, err := lazy.GetX509SVID(); err == nil {
			t.Error("a closed source must not open")
		}
	})
}
