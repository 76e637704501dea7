package app

import (
	"fmt"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
)

type keygenCmd struct {
	Output string `short:"o" name:"output" default:"." placeholder:"DIR" predictor:"dir" help:"Directory to write privkey.json and pubkey.json to (it must exist)."`
}

func (c *keygenCmd) Help() string {
	return `Writes an Ed25519 key pair as single-key JWK sets sharing a random kid: privkey.json (mode 0600), which
credential.jwkPath or jwkValue reads to sign JWTs, and pubkey.json (0644), which the registry operator installs
to validate them. Existing files are never overwritten, and nothing is left behind on failure.`
}

func (c *keygenCmd) Run(e *env) error {
	priv, pub, err := hostauth.GenerateKeyPair(c.Output)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "✔ wrote %s (private key, keep it secret; use it as credential.jwkPath)\n", priv)
	fmt.Fprintf(e.Stdout, "✔ wrote %s (public key set, install it on the registry to validate the JWTs)\n", pub)
	return nil
}
