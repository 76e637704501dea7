package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
)

type keygenCmd struct {
	Output string `short:"o" name:"output" aliases:"output-dir" default:"." placeholder:"DIR" predictor:"dir" help:"Directory to write privkey.json and pubkey.json to, created (0755) if missing."`
}

func (c *keygenCmd) Help() string {
	return `Writes an Ed25519 key pair as single-key JWK sets sharing a random kid: privkey.json (mode 0600), which
credential.jwkPath or jwkValue reads to sign JWTs, and pubkey.json (0644), which the registry operator installs
to validate them. A missing output directory is created. Existing files are never overwritten, and nothing is
left behind on failure.`
}

func (c *keygenCmd) Run(e *env) error {
	created, err := makeDirs(c.Output)
	if err != nil {
		return err
	}
	priv, pub, err := hostauth.GenerateKeyPair(c.Output)
	if err != nil {
		// Leave nothing behind: the directories this run created are empty.
		for _, d := range created {
			_ = os.Remove(d)
		}
		return err
	}
	fmt.Fprintf(e.Stdout, "✔ wrote %s (private key, keep it secret; use it as credential.jwkPath)\n", priv)
	fmt.Fprintf(e.Stdout, "✔ wrote %s (public key set, install it on the registry to validate the JWTs)\n", pub)
	return nil
}

// makeDirs creates dir and its missing parents with mode 0755, as
// `mkdir -p` does, and returns the directories it created, deepest first.
func makeDirs(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		// Lstat: a dangling symlink exists and is not ours to remove.
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		for _, d := range missing {
			_ = os.Remove(d)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("create the output directory %s (--output-dir): %w", dir, err)
	}
	return missing, nil
}
