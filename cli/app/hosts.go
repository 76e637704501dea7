package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// userAgent identifies flux-mirror to registries and identity endpoints.
func userAgent() string { return "flux-mirror/" + Version() }

// hostDeps gathers what hostauth needs to build the hosts' credentials and
// TLS: the compiled-in providers and, only when a host uses SPIFFE, a
// Workload API source (closed by the returned func).
func (e *env) hostDeps(ctx context.Context, cfg *config.Config, log *slog.Logger) (hostauth.Deps, func(), error) {
	deps := hostauth.Deps{
		TokenProviders:    map[string]auth.TokenProvider{},
		RegistryProviders: map[string]auth.RegistryProvider{},
		Settings:          auth.Settings{Logger: log, UserAgent: userAgent()},
	}
	for _, p := range e.TokenProviders {
		deps.TokenProviders[p.Name] = p
	}
	for _, p := range e.RegistryProviders {
		deps.RegistryProviders[p.Name] = p
	}
	closer := func() {}
	if hostauth.NeedsSPIFFE(cfg.Hosts) {
		if e.SPIFFE == nil {
			return deps, closer, fmt.Errorf("%w: %s", core.ErrProviderNotCompiled, e.rebuildHint("spiffe"))
		}
		src, c, err := e.SPIFFE(ctx)
		if err != nil {
			return deps, closer, fmt.Errorf("connect to the SPIFFE Workload API: %w", err)
		}
		deps.SPIFFE = src
		closer = func() { _ = c.Close() }
	}
	return deps, closer, nil
}
