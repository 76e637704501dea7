package app

import (
	"context"
	"log/slog"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// userAgent identifies flux-mirror to registries and identity endpoints.
func userAgent() string { return "flux-mirror/" + Version() }

// hostDeps gathers what hostauth needs to build the hosts' credentials and
// TLS: the compiled-in providers, the confinement root of the config's
// files, and a SPIFFE Workload API source that connects on the first TLS
// handshake that needs it (closed by the returned func), so that a host no
// entry uses is never contacted.
func (e *env) hostDeps(ctx context.Context, root string, log *slog.Logger) (hostauth.Deps, func()) {
	deps := hostauth.Deps{
		Root:              root,
		TokenProviders:    map[string]auth.TokenProvider{},
		RegistryProviders: map[string]auth.RegistryProvider{},
		Settings:          auth.Settings{Logger: log, UserAgent: userAgent()},
	}
	var spiffe *TLSProvider
	for _, f := range e.Providers {
		switch p := f.(type) {
		case auth.TokenProvider:
			deps.TokenProviders[p.Name] = p
		case auth.RegistryProvider:
			deps.RegistryProviders[p.Name] = p
		case TLSProvider:
			// hostauth's SPIFFE transport serves x509-svid (and
			// tls.serverAuth.spiffe).
			if p.Name == config.ClientProviderX509SVID {
				spiffe = &p
			}
		}
	}
	if spiffe == nil {
		return deps, func() {}
	}
	lazy := hostauth.NewLazySPIFFE(ctx, hostauth.SPIFFEOpener(spiffe.New))
	deps.SPIFFE = lazy
	return deps, func() { _ = lazy.Close() }
}
