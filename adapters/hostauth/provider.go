package hostauth

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// Refresh margins of provider credentials: a credential is re-minted
// max(MinRefreshMargin, 10% of its lifetime) before it expires, but never
// later than half its lifetime.
const MinRefreshMargin = 30 * time.Second

// providerRefreshAt returns when a credential minted at now and expiring at
// exp is re-minted. An unknown expiry is not cached.
func providerRefreshAt(now, exp time.Time) time.Time {
	if exp.IsZero() {
		return now
	}
	life := exp.Sub(now)
	if life <= 0 {
		return now
	}
	margin := max(MinRefreshMargin, life/10)
	margin = min(margin, life/2)
	return exp.Add(-margin)
}

// newTokenProviderSource mints credential.provider tokens for aud, creating
// the provider's token source lazily on the first call.
func newTokenProviderSource(host, username, name, aud string, f auth.TokenProvider, deps Deps) auth.Source {
	now, log := deps.clock(), deps.logger()
	var ts auth.TokenSource // touched only by the minting caller
	mint := func(ctx context.Context) (auth.Credential, time.Time, error) {
		if ts == nil {
			if f.New == nil {
				return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("credential.provider %q: the provider factory has no constructor", name))
			}
			s, err := f.New(ctx, deps.Settings)
			if err != nil {
				return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("credential.provider %q: set up the provider: %w", name, err))
			}
			if s == nil {
				return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("credential.provider %q: the provider returned no token source", name))
			}
			ts = s
		}
		tok, err := ts.Token(ctx, aud)
		if err != nil {
			return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("credential.provider %q: mint a token for audience %q: %w", name, aud, err))
		}
		if tok.Value == "" {
			return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("credential.provider %q: the provider minted an empty token for audience %q", name, aud))
		}
		exp := tok.ExpiresAt
		if exp.IsZero() {
			exp = jwtExpiry(tok.Value)
		}
		t := now()
		log.Debug("minted provider token", "host", host, "provider", name, "audience", aud, "expiresAt", exp)
		return auth.Credential{Username: username, Secret: tok.Value, ExpiresAt: exp}, providerRefreshAt(t, exp), nil
	}
	r := newRefresher(mint, now, log)
	return auth.SourceFunc(r.get)
}

// newRegistryProviderSource obtains hosts[].provider credentials, creating
// the provider's source lazily on the first call.
func newRegistryProviderSource(host, name string, f auth.RegistryProvider, deps Deps) auth.Source {
	now, log := deps.clock(), deps.logger()
	var src auth.Source // touched only by the minting caller
	mint := func(ctx context.Context) (auth.Credential, time.Time, error) {
		if src == nil {
			if f.New == nil {
				return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("provider %q: the provider factory has no constructor", name))
			}
			s, err := f.New(ctx, host, deps.Settings)
			if err != nil {
				return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("provider %q: set up the provider: %w", name, err))
			}
			if s == nil {
				return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("provider %q: the provider returned no credential source", name))
			}
			src = s
		}
		c, err := src.Credential(ctx)
		if err != nil {
			return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("provider %q: get the registry credential: %w", name, err))
		}
		if c.Secret == "" {
			return auth.Credential{}, time.Time{}, hostErr(host, fmt.Errorf("provider %q: the provider returned an empty credential", name))
		}
		t := now()
		log.Debug("obtained registry credential", "host", host, "provider", name, "expiresAt", c.ExpiresAt)
		return c, providerRefreshAt(t, c.ExpiresAt), nil
	}
	r := newRefresher(mint, now, log)
	return auth.SourceFunc(r.get)
}
