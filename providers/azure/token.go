package azure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// TokenProviderName is the credential.provider value of NewTokenFactory.
const TokenProviderName = "azure"

// NewTokenFactory returns the factory of the "azure" token provider: a
// Microsoft Entra access token for the scope "<aud>/.default" from the
// default Azure credential chain.
func NewTokenFactory() auth.TokenProvider {
	return auth.TokenProvider{
		Name: TokenProviderName,
		New: func(_ context.Context, s auth.Settings) (auth.TokenSource, error) {
			cred, err := newCredential(TokenProviderName, cloud.Configuration{}, s)
			if err != nil {
				return nil, err
			}
			return &tokenSource{cred: cred, log: logger(s)}, nil
		},
	}
}

// tokenSource keeps one credential chain (and its in-memory token cache)
// for all audiences; hostauth decides when to ask again.
type tokenSource struct {
	cred azcore.TokenCredential
	log  *slog.Logger
}

var _ auth.TokenSource = (*tokenSource)(nil)

// Scope returns the Entra scope requested for an audience: the audience
// (an application ID URI or client ID) with "/.default" appended, unless it
// already ends with it.
func Scope(audience string) string {
	if strings.HasSuffix(audience, "/.default") {
		return audience
	}
	return strings.TrimSuffix(audience, "/") + "/.default"
}

// Token requests an access token for the scope of audience.
func (s *tokenSource) Token(ctx context.Context, audience string) (auth.Token, error) {
	if audience == "" {
		return auth.Token{}, errors.New("azure provider: the audience is empty")
	}
	scope := Scope(audience)
	tok, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		// The credential chain flattens a canceled request into text;
		// callers need the context's error to tell an interruption.
		if cerr := ctx.Err(); cerr != nil {
			return auth.Token{}, fmt.Errorf("%s provider: get a Microsoft Entra token for scope %s: %w", TokenProviderName, scope, cerr)
		}
		return auth.Token{}, tokenError(TokenProviderName, scope, err)
	}
	if tok.Token == "" {
		return auth.Token{}, fmt.Errorf("azure provider: Microsoft Entra ID returned an empty token for scope %s", scope)
	}
	s.log.Debug("minted Microsoft Entra token", "provider", TokenProviderName, "scope", scope, "expiresAt", tok.ExpiresOn)
	return auth.Token{Value: tok.Token, ExpiresAt: tok.ExpiresOn}, nil
}
