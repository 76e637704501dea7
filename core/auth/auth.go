// Package auth declares flux-mirror's credential ports: how a registry
// host's credential is resolved (from a static value, a file, a signed JWT, a
// CI or cloud identity, or a cloud registry's native exchange), and where
// login stores it. Providers implement these ports in their own modules and
// expose factories; nothing here holds global state.
package auth

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Credential is a resolved registry credential.
type Credential struct {
	// Username is empty for a bearer token; set, Secret is its password.
	Username string
	// Secret is the bearer token or the password. Never log it.
	Secret string
	// ExpiresAt is when the credential stops being valid; zero if unknown.
	ExpiresAt time.Time
}

// Bearer reports whether the credential is sent as a bearer token.
func (c Credential) Bearer() bool { return c.Username == "" }

// String redacts the secret so that a credential printed by mistake leaks
// nothing.
func (c Credential) String() string {
	if c.Bearer() {
		return "bearer(REDACTED)"
	}
	return "basic(" + c.Username + ":REDACTED)"
}

// Source resolves the current credential of one host. Implementations cache
// and refresh as they see fit and are safe for concurrent use.
type Source interface {
	Credential(ctx context.Context) (Credential, error)
}

// SourceFunc adapts a function to a Source.
type SourceFunc func(ctx context.Context) (Credential, error)

// Credential calls f.
func (f SourceFunc) Credential(ctx context.Context) (Credential, error) { return f(ctx) }

// Token is a minted token with its expiry (zero if unknown).
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// TokenSource mints a token for an audience from an ambient identity (CI
// OIDC, cloud workload identity, SPIFFE). Implementations are safe for
// concurrent use.
//
// Token returns a token that is valid now, for the audience asked and no
// other, with ExpiresAt set whenever the token or the identity endpoint
// says when it expires. Callers (hostauth) cache a token until shortly
// before ExpiresAt; a source may cache as well, but never returns an
// expired token or one minted for another audience. A canceled context
// ends a call waiting on the identity endpoint with an error wrapping the
// context's error. Errors name the provider (its credential.provider
// value) and never contain a secret. authtest.TokenProviderContract
// checks all of this.
type TokenSource interface {
	Token(ctx context.Context, audience string) (Token, error)
}

// Settings are handed to provider factories by the CLI.
type Settings struct {
	// Logger receives diagnostics; nil means discard.
	Logger *slog.Logger
	// HTTPClient is used for identity endpoints where the SDK allows it;
	// nil means the provider's default.
	HTTPClient *http.Client
	// UserAgent identifies flux-mirror to identity endpoints.
	UserAgent string
}

// Kind says which config field names a provider.
type Kind int

// The provider kinds, one per config field that names a provider.
const (
	// KindToken is a hosts[].credential.provider: a TokenProvider.
	KindToken Kind = iota + 1
	// KindRegistry is a hosts[].provider: a RegistryProvider.
	KindRegistry
	// KindTLS is a hosts[].tls.clientAuth.provider, which also serves
	// tls.serverAuth.spiffe: a factory of the CLI's TLS transport.
	KindTLS
)

// Field is the config field, relative to a hosts[] entry, whose value names
// a provider of kind k.
func (k Kind) Field() string {
	switch k {
	case KindToken:
		return "credential.provider"
	case KindRegistry:
		return "provider"
	case KindTLS:
		return "tls.clientAuth.provider"
	}
	return "provider"
}

// Factory is one provider a binary is built with: a TokenProvider, a
// RegistryProvider, or a TLS source factory of the CLI. A CLI takes one
// list of them; nothing in core knows their names, so a new provider is a
// new module and a new entry in that list.
type Factory interface {
	// ProviderName is the value a config names the provider by; it has
	// the shape config.ValidProviderName accepts.
	ProviderName() string
	// ProviderKind is the field that names it.
	ProviderKind() Kind
}

var (
	_ Factory = TokenProvider{}
	_ Factory = RegistryProvider{}
)

// TokenProvider is the factory of a credential.provider value (github,
// forgejo, gcp, azure, aws, jwt-svid).
type TokenProvider struct {
	// Name is the value of credential.provider.
	Name string
	// New creates the token source.
	New func(ctx context.Context, s Settings) (TokenSource, error)
}

// RegistryProvider is the factory of a hosts[].provider value (ecr, acr,
// gar): it exchanges an ambient cloud identity for the registry's native
// username/password credential.
type RegistryProvider struct {
	// Name is the value of hosts[].provider.
	Name string
	// New creates the credential source for one registry host.
	New func(ctx context.Context, host string, s Settings) (Source, error)
}

// ProviderName returns p.Name.
func (p TokenProvider) ProviderName() string { return p.Name }

// ProviderKind returns KindToken.
func (TokenProvider) ProviderKind() Kind { return KindToken }

// ProviderName returns p.Name.
func (p RegistryProvider) ProviderName() string { return p.Name }

// ProviderKind returns KindRegistry.
func (RegistryProvider) ProviderKind() Kind { return KindRegistry }
