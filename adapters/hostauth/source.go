package hostauth

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// NewSource builds the credential source of one host from its config. Paths
// must already be absolute (the config loader resolves and confines them).
//
// It returns (nil, nil) for a host with neither credential nor provider (a
// tls- or maxChunkSize-only entry): such a host has no credential of its
// own. Errors name the field relative to the host, e.g.
// `credential.jwkValue: the key holds a public key only; …`; a provider
// missing from deps wraps core.ErrProviderNotCompiled.
//
// The source is safe for concurrent use. Its Credential errors start with
// `host "<host>": ` and never contain secrets.
//
// A credential.envelope (v1beta2) rewrites every credential the source
// resolves (auth.WithEnvelope).
func NewSource(h config.Host, deps Deps) (auth.Source, error) {
	s, err := newSource(h, deps)
	if err != nil || s == nil || h.Credential == nil || h.Credential.Envelope == "" {
		return s, err
	}
	env, err := auth.ParseEnvelope(h.Credential.Envelope)
	if err != nil {
		return nil, fmt.Errorf("credential.envelope: %w", err)
	}
	return auth.WithEnvelope(s, env), nil
}

func newSource(h config.Host, deps Deps) (auth.Source, error) {
	switch {
	case h.Credential != nil && h.Provider != "":
		return nil, errors.New("credential and provider are mutually exclusive; set one")
	case h.Provider != "":
		f, ok := deps.RegistryProviders[h.Provider]
		if !ok {
			return nil, notCompiled("provider", h.Provider, slices.Sorted(maps.Keys(deps.RegistryProviders)))
		}
		return newRegistryProviderSource(h.Host, h.Provider, f, deps), nil
	case h.Credential == nil:
		return nil, nil
	}
	c := h.Credential
	set := 0
	for _, v := range []string{c.Provider, c.Value, c.FromPath, c.JWKPath, c.JWKValue} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("credential: exactly one of provider, value, fromPath, jwkPath or jwkValue must be set")
	}
	aud := c.Aud
	if aud == "" {
		aud = h.Host
	}
	switch {
	case c.Value != "":
		return valueSource(h.Username, c.Value), nil
	case c.FromPath != "":
		return &fileSource{host: h.Host, username: h.Username, path: c.FromPath, files: deps.files()}, nil
	case c.Provider != "" && len(c.Audiences) > 1:
		// A TokenSource mints for one audience (auth.TokenSource).
		return nil, fmt.Errorf("credential.audiences: provider %q mints a token for one audience here; list one", c.Provider)
	case c.Provider != "":
		f, ok := deps.TokenProviders[c.Provider]
		if !ok {
			return nil, notCompiled("credential.provider", c.Provider, slices.Sorted(maps.Keys(deps.TokenProviders)))
		}
		return newTokenProviderSource(h.Host, h.Username, c.Provider, aud, f, deps), nil
	}
	field, path, value := "credential.jwkPath", c.JWKPath, []byte(nil)
	if c.JWKValue != "" {
		field, path, value = "credential.jwkValue", "", []byte(c.JWKValue)
	}
	if c.Iss == "" {
		return nil, fmt.Errorf("credential.iss: required with %s (the issuer the registry trusts)", strings.TrimPrefix(field, "credential."))
	}
	if c.Sub == "" {
		return nil, fmt.Errorf("credential.sub: required with %s (the subject the registry authorizes)", strings.TrimPrefix(field, "credential."))
	}
	lifetime := DefaultJWTLifetime
	if c.Exp != nil {
		lifetime = c.Exp.Duration
	}
	if lifetime < time.Second {
		return nil, fmt.Errorf("credential.exp: %s is too short; use at least 1s (default %s)", lifetime, DefaultJWTLifetime)
	}
	s, err := newJWKSource(h.Host, h.Username, field, path, value, c.Iss, c.Sub, aud, lifetime, deps)
	if err != nil {
		return nil, err
	}
	s.audiences = c.Audiences // v1beta2: several audiences in one token
	return s, nil
}

// notCompiled reports a provider absent from the factories, with the names
// this build has. Which names exist at all is the CLI's to say (it checks
// them at load, before hostauth sees the config).
func notCompiled(field, name string, compiled []string) error {
	have := "none"
	if len(compiled) > 0 {
		have = strings.Join(compiled, ", ")
	}
	return fmt.Errorf("%s %q (compiled in: %s): %w", field, name, have, core.ErrProviderNotCompiled)
}

// NewSources builds the credential source of every host that has one, keyed
// by host. Errors are prefixed with the host's position, e.g.
// `hosts[0] "r.example": credential.jwkValue: …`, and all of them are
// reported together.
func NewSources(hosts []config.Host, deps Deps) (map[string]auth.Source, error) {
	out := make(map[string]auth.Source, len(hosts))
	var errs []error
	for i, h := range hosts {
		s, err := NewSource(h, deps)
		if err != nil {
			errs = append(errs, hostError(i, h.Host, err))
			continue
		}
		if s != nil {
			out[h.Host] = s
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
