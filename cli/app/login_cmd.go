package app

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/flux-mirror/adapters/dockerconfig"
)

// defaultCredentialTimeout bounds credential minting in login and secret.
const defaultCredentialTimeout = time.Minute

type loginCmd struct {
	hostsConfig
	DockerConfig string `name:"docker-config" placeholder:"DIR" predictor:"dir" help:"Docker config directory, like docker --config (default: $$DOCKER_CONFIG, else ~/.docker)."`
	Plaintext    bool   `help:"Store username/password base64-encoded in config.json, bypassing any credential helper (a bearer registrytoken always goes to the file)."`
}

func (c *loginCmd) Help() string {
	return `Resolves the credentials configured under hosts (the same ones sync would send, minted once) and stores
them in the Docker config the way docker login does: through the configured or auto-detected credential
helper, else base64 in config.json. A host without username stores a bearer registrytoken, always in the file.
A TLS-only host has nothing to store and is skipped.`
}

func (c *loginCmd) Run(ctx context.Context, e *env, g *Globals) error {
	resolved, err := c.resolveCredentials(ctx, e, g)
	if err != nil {
		return err
	}
	dir := c.DockerConfig
	if dir == "" {
		dir = e.getenv("DOCKER_CONFIG")
	}
	store, err := dockerconfig.Open(dir)
	if err != nil {
		return err
	}
	for _, r := range resolved {
		if r.Skipped {
			fmt.Fprintf(e.Stdout, "• skipping %s\n", r.Host)
			continue
		}
		res, err := store.Save(r.Host, r.Credential, c.Plaintext)
		if err != nil {
			return fmt.Errorf("store the credential of %s: %w", r.Host, err)
		}
		fmt.Fprintf(e.Stdout, "✔ %s\n", res)
	}
	return nil
}
