package hostauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// maxSecretFile caps what is read from a credential or key file, so that a
// wrong path (a log, a device) fails fast instead of filling memory.
const maxSecretFile = 1 << 20

// valueSource returns the configured value as-is.
func valueSource(username, value string) auth.Source {
	c := auth.Credential{Username: username, Secret: value, ExpiresAt: jwtExpiry(value)}
	return auth.SourceFunc(func(context.Context) (auth.Credential, error) { return c, nil })
}

// fileSource re-reads the token file on every call.
type fileSource struct {
	host, username, path string
}

func (s *fileSource) Credential(ctx context.Context) (auth.Credential, error) {
	if err := ctx.Err(); err != nil {
		return auth.Credential{}, err
	}
	b, err := readSecretFile(s.path)
	if err != nil {
		return auth.Credential{}, hostErr(s.host, fmt.Errorf("credential.fromPath: %w", err))
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return auth.Credential{}, hostErr(s.host, fmt.Errorf("credential.fromPath: file %s is empty (write the token into it, or fix the path)", s.path))
	}
	return auth.Credential{Username: s.username, Secret: tok, ExpiresAt: jwtExpiry(tok)}, nil
}

// readSecretFile reads a small file whose content must never be echoed. Its
// errors name the path and the cause only.
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, pathCause(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, pathCause(err))
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("read %s: it is a directory, not a file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, pathCause(err))
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("read %s: larger than %d bytes; is this the right file?", path, maxSecretFile)
	}
	return b, nil
}

// pathCause strips the *os.PathError wrapper (which repeats the path) and
// keeps its cause, e.g. "no such file or directory".
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
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
