package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fluxcd/flux-mirror/adapters/configfile"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/config"
)

// configEnv is the environment variable that names the config file.
const configEnv = "FLUX_MIRROR_CONFIG"

// resolveConfigPath picks the config source: the argument ("-" is stdin),
// else $FLUX_MIRROR_CONFIG, else fallback (may be ""), else an error that says
// how to pass one.
func (e *env) resolveConfigPath(arg, fallback string) (string, error) {
	if arg != "" {
		return arg, nil
	}
	if p := e.getenv(configEnv); p != "" {
		return p, nil
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", errors.New("no config given: pass its path as an argument (or - to read stdin), or set " + configEnv)
}

// loadConfig loads and validates a config for purpose and checks that every
// provider it names is compiled into this binary.
func (e *env) loadConfig(path string, g *Globals, purpose config.Purpose) (*config.Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("get working directory: %w", err)
	}
	cfg, err := configfile.Load(path, configfile.Options{
		NoEnvSubst: g.NoEnvsubst,
		Purpose:    purpose,
		LookupEnv:  e.LookupEnv,
		Stdin:      e.Stdin,
		WorkDir:    wd,
	})
	if err != nil {
		return nil, err
	}
	if err := e.checkProviders(displayName(path), cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func displayName(path string) string {
	if path == "-" {
		return "<stdin>"
	}
	return filepath.Clean(path)
}

// checkProviders reports every provider the config names that this binary
// was built without, with the build command that brings it back.
func (e *env) checkProviders(name string, cfg *config.Config) error {
	have := map[string]bool{}
	for _, p := range e.TokenProviders {
		have[p.Name] = true
	}
	for _, p := range e.RegistryProviders {
		have[p.Name] = true
	}
	if e.SPIFFE != nil {
		have["spiffe"] = true
	}
	var errs []error
	missing := func(field, provider string) {
		if have[provider] {
			return
		}
		errs = append(errs, fmt.Errorf("%s: %s: %s%.0w", name, field, e.rebuildHint(provider), core.ErrProviderNotCompiled))
	}
	for i, h := range cfg.Hosts {
		prefix := fmt.Sprintf("hosts[%d] %q", i, h.Host)
		if h.Provider != "" {
			missing(prefix+": provider", h.Provider)
		}
		if h.Credential != nil && h.Credential.Provider != "" {
			missing(prefix+": credential.provider", h.Credential.Provider)
		}
		if h.TLS != nil {
			if h.TLS.ClientAuth != nil && h.TLS.ClientAuth.Provider != "" {
				missing(prefix+": tls.clientAuth.provider", "spiffe")
			}
			if h.TLS.ServerAuth != nil && h.TLS.ServerAuth.SPIFFE != nil {
				missing(prefix+": tls.serverAuth.spiffe", "spiffe")
			}
		}
	}
	return errors.Join(errs...)
}

// providerTags maps each provider name to the build tag of the module that
// implements it (see cmd/flux-mirror/providers_*.go).
var providerTags = map[string]string{
	config.TokenGitHub: "fm_github", config.TokenForgejo: "fm_github",
	config.TokenGCP: "fm_gcp", config.ProviderGAR: "fm_gcp",
	config.TokenAzure: "fm_azure", config.ProviderACR: "fm_azure",
	config.TokenAWS: "fm_aws", config.ProviderECR: "fm_aws",
	config.TokenJWTSVID: "fm_spiffe", "spiffe": "fm_spiffe",
}

// rebuildHint says how to build a binary that keeps this one's providers and
// adds provider.
func (e *env) rebuildHint(provider string) string {
	var present []string
	tags := []string{"fm_custom"}
	add := func(name string) {
		present = append(present, name)
		if t := providerTags[name]; t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	for _, p := range e.TokenProviders {
		add(p.Name)
	}
	for _, p := range e.RegistryProviders {
		add(p.Name)
	}
	if e.SPIFFE != nil {
		add("spiffe")
	}
	if t := providerTags[provider]; t != "" && !slices.Contains(tags, t) {
		tags = append(tags, t)
	}
	slices.Sort(present)
	return fmt.Sprintf("%q is not compiled into this flux-mirror binary (it has: %s); use the default build (make build), or rebuild with: go build -tags %s -o bin/flux-mirror ./cli/cmd/flux-mirror (README: \"Build a slim binary\")",
		provider, orNone(present), strings.Join(tags, ","))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no providers"
	}
	return strings.Join(s, ", ")
}
