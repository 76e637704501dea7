package spiffe

import (
	"context"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// TokenProviderName is the credential.provider value of JWT-SVIDs.
const TokenProviderName = "jwt-svid"

// NewTokenFactory returns the factory of the "jwt-svid" token provider. Its
// token source fetches a JWT-SVID for the requested audience from the
// Workload API at every call (hostauth caches the token until shortly
// before its exp) and returns it with its expiry. Without WithAddr the
// address is read from SPIFFE_ENDPOINT_SOCKET at every call.
func NewTokenFactory(opts ...Option) auth.TokenProvider {
	return auth.TokenProvider{
		Name: TokenProviderName,
		New: func(_ context.Context, s auth.Settings) (auth.TokenSource, error) {
			o := newOptions(opts)
			if o.logger == nil {
				o.logger = s.Logger
			}
			return &tokenSource{opts: o}, nil
		},
	}
}

// tokenSource dials the Workload API per fetch, so that an agent restart
// between mints is harmless.
type tokenSource struct {
	opts options
}

var _ auth.TokenSource = (*tokenSource)(nil)

// Token fetches a JWT-SVID for audience.
func (s *tokenSource) Token(ctx context.Context, audience string) (auth.Token, error) {
	if audience == "" {
		return auth.Token{}, errors.New(TokenProviderName + " provider: an audience is required (credential.aud, or the host)")
	}
	addr, err := s.opts.address()
	if err != nil {
		return auth.Token{}, fmt.Errorf("%s provider: %w", TokenProviderName, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	log := s.opts.log()
	svid, err := workloadapi.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience},
		workloadapi.WithAddr(addr), workloadapi.WithLogger(&watchLog{log: log}))
	if err != nil {
		if ctx.Err() != nil {
			return auth.Token{}, fmt.Errorf("%s provider: fetch a JWT-SVID for audience %q from the SPIFFE Workload API at %s: %w", TokenProviderName, audience, addr, ctx.Err())
		}
		return auth.Token{}, fmt.Errorf("%s provider: fetch a JWT-SVID for audience %q: %w", TokenProviderName, audience, describe(addr, err))
	}
	log.Debug("fetched a JWT-SVID", "provider", TokenProviderName, "spiffeID", svid.ID.String(), "audience", audience, "expiresAt", svid.Expiry)
	return auth.Token{Value: svid.Marshal(), ExpiresAt: svid.Expiry}, nil
}
