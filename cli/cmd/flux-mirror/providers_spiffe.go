//go:build !fm_custom || fm_spiffe

package main

import (
	"context"
	"io"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/providers/spiffe"
)

// The jwt-svid token provider and the X.509-SVID transport (tls.clientAuth
// provider x509-svid, tls.serverAuth.spiffe), both from the SPIFFE Workload API.
func init() {
	x509 := spiffe.NewX509Factory()
	wire("fm_spiffe", spiffe.NewTokenFactory(), app.TLSProvider{
		Name: spiffe.X509ProviderName,
		New: func(ctx context.Context) (hostauth.SPIFFESource, io.Closer, error) {
			src, err := x509.New(ctx)
			if err != nil {
				return nil, nil, err
			}
			return src, src, nil
		},
	})
}
