package app

import (
	"context"
	"fmt"
	"os"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/config"
)

// hostsConfig is the config source of login and secret: -f/--config, else
// $FLUX_MIRROR_CONFIG, else <executable>.config.
type hostsConfig struct {
	Config string   `short:"f" name:"config" placeholder:"PATH" predictor:"file" help:"Config file, or - for stdin (default: $$FLUX_MIRROR_CONFIG, else <executable>.config)."`
	Hosts  []string `name:"host" placeholder:"HOST" help:"Registry host from the config (repeatable; default: every host)."`
}

// executableConfig is the last-resort config path: the executable's path
// with ".config" appended.
func executableConfig() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe + ".config"
}

// resolveCredentials loads the hosts section and mints each selected host's
// credential once, within the global --timeout (default 1m).
func (h *hostsConfig) resolveCredentials(ctx context.Context, e *env, g *Globals) ([]hostauth.Resolved, error) {
	path, err := e.resolveConfigPath(h.Config, executableConfig())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeoutOr(defaultCredentialTimeout))
	defer cancel()
	l, err := e.openConfig(ctx, path, g, config.PurposeHosts, nil)
	if err != nil {
		return nil, err
	}
	defer l.close()
	if len(l.cfg.Hosts) == 0 {
		return nil, fmt.Errorf("%s has no hosts: login and secret store the credentials of hosts[] entries", displayName(path))
	}
	resolved, err := hostauth.Resolve(ctx, hostsOnly(l.cfg), l.deps, h.Hosts)
	if err != nil {
		return nil, err
	}
	return resolved, nil
}

// hostsOnly returns cfg without tls blocks: login and secret open no
// registry connection, so they neither read nor check TLS files.
func hostsOnly(cfg *config.Config) *config.Config {
	c := &config.Config{APIVersion: cfg.APIVersion, Kind: cfg.Kind}
	for _, h := range cfg.Hosts {
		h.TLS = nil
		c.Hosts = append(c.Hosts, h)
	}
	return c
}
