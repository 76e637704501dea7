package app

import (
	"context"
	"fmt"

	"github.com/fluxcd/flux-mirror/core/config"
)

type validateCmd struct {
	Config    []string `arg:"" optional:"" name:"config" help:"Config files, or - for stdin (default $$FLUX_MIRROR_CONFIG); each is validated and reported on its own." predictor:"file"`
	HostsOnly bool     `name:"hosts-only" help:"Validate the config as login and secret read it, where artifacts and charts are optional."`
}

func (c *validateCmd) Help() string {
	return "Loads the config exactly as sync does (environment substitution, strict decoding, every validation rule,\npath confinement, and each host's offline setup: CA bundles, keys and certificates parsed, the files they name\nread inside the config's directory) without any network access, and prints every error found. Hosts that no\nentry uses are checked too. With --hosts-only it checks the config as login and secret read it, where artifacts\nand charts are optional and tls blocks are not read."
}

func (c *validateCmd) Run(ctx context.Context, e *env, g *Globals) error {
	if len(c.Config) <= 1 {
		var arg string
		if len(c.Config) == 1 {
			arg = c.Config[0]
		}
		return c.validate(ctx, e, g, arg)
	}
	// Several files, like a linter: each file gets its result, and the
	// exit code is 1 if any failed.
	failed := 0
	for _, path := range c.Config {
		if err := c.validate(ctx, e, g, path); err != nil {
			printError(e.Stderr, err)
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d configs are invalid", failed, len(c.Config))}
	}
	return nil
}

// validate checks one config (arg, else $FLUX_MIRROR_CONFIG) and prints its
// summary line.
func (c *validateCmd) validate(ctx context.Context, e *env, g *Globals, arg string) error {
	path, err := e.resolveConfigPath(arg, "")
	if err != nil {
		return err
	}
	purpose := config.PurposeSync
	if c.HostsOnly {
		purpose = config.PurposeHosts
	}
	// The same load as sync's, up to the first network access: decoding,
	// validation, path confinement, and every host's offline setup (CA
	// bundles, keys, certificates, files present inside the root).
	l, err := e.openConfig(ctx, path, g, purpose, nil)
	if err != nil {
		return err
	}
	l.close()
	cfg := l.cfg
	summary := fmt.Sprintf("%s, %s, %s", plural(len(cfg.Artifacts), "artifact"), plural(len(cfg.Charts), "chart"), plural(len(cfg.Hosts), "host"))
	fmt.Fprintf(e.Stdout, "✔ %s is valid (%s) as %s\n", displayName(path), summary, cfg.Version())
	return nil
}

// plural formats a count with its noun, e.g. "1 chart", "2 charts".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
