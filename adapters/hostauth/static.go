package hostauth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// valueSource returns the configured value as-is.
func valueSource(username, value string) auth.Source {
	c := auth.Credential{Username: username, Secret: value, ExpiresAt: jwtExpiry(value)}
	return auth.SourceFunc(func(context.Context) (auth.Credential, error) { return c, nil })
}

// fileSource re-reads the token file on every call, confined to the
// config's directory at the moment of each read.
type fileSource struct {
	host, username, path string
	files                confinedFiles
}

func (s *fileSource) Credential(ctx context.Context) (auth.Credential, error) {
	if err := ctx.Err(); err != nil {
		return auth.Credential{}, err
	}
	b, _, err := s.files.read(s.path)
	if err != nil {
		return auth.Credential{}, hostErr(s.host, fmt.Errorf("credential.fromPath: %w", err))
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return auth.Credential{}, hostErr(s.host, fmt.Errorf("credential.fromPath: file %s is empty (write the token into it, or fix the path)", s.path))
	}
	return auth.Credential{Username: s.username, Secret: tok, ExpiresAt: jwtExpiry(tok)}, nil
}

// jwtExpiry reads the exp claim of a JWT-shaped token without verifying it,
// so that callers can tell when a static token lapses. It returns the zero
// time for anything that is not a JWT with a valid numeric exp.
func jwtExpiry(token string) time.Time {
	exp, err := auth.JWTExpiry(token)
	if err != nil {
		return time.Time{}
	}
	return exp
}
