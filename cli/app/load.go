package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fluxcd/flux-mirror/adapters/configfile"
	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/adapters/registry"
	"github.com/fluxcd/flux-mirror/core"
	"github.com/fluxcd/flux-mirror/core/auth"
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

// loadedConfig is a config as every command loads it, with what its hosts
// need built offline.
type loadedConfig struct {
	cfg *config.Config
	// deps are the hosts' collaborators, files confined to the config's
	// directory.
	deps hostauth.Deps
	// hosts holds every configured host's credential source, TLS config
	// and chunk size, for the registry adapter.
	hosts map[string]registry.Host
	// close ends what the hosts opened on first use (the SPIFFE Workload
	// API connection).
	close func()
}

// openConfig loads the config at path for purpose and builds, without any
// network access, every host's credential source and TLS configuration.
// It is the one code path of validate, sync, login and secret, so validate
// accepts exactly what the others accept: a CA value without a
// certificate, a jwkValue that is no private JWK, a missing jwkPath, CA or
// client certificate file fail here, with the same "<file>: hosts[i]
// \"host\": field: …" errors.
//
// Hosts that no entry uses are validated the same way but never contacted:
// provider credentials are minted and the SPIFFE Workload API is dialled on
// first use by an entry. For PurposeHosts the tls blocks are left out, as
// login and secret open no registry connection. log may be nil.
func (e *env) openConfig(ctx context.Context, path string, g *Globals, purpose config.Purpose, log *slog.Logger) (*loadedConfig, error) {
	cfg, root, err := e.loadConfig(path, g, purpose)
	if err != nil {
		return nil, err
	}
	if log != nil && cfg.ReadAs == "" {
		// v1beta1 is this project's documented version: a note for
		// --verbose only, never a warning.
		log.Info("config is "+config.APIVersion+"; it keeps working, and flux-mirror convert rewrites it as "+config.APIVersionV1Beta2+" (upstream's current version)", "config", displayName(path))
	}
	deps, closeDeps := e.hostDeps(ctx, root, log)
	hosts := cfg.Hosts
	if purpose == config.PurposeHosts {
		hosts = hostsOnly(cfg).Hosts
	}
	sources, serr := hostauth.NewSources(hosts, deps)
	tlsConfigs, terr := hostauth.TLSConfigs(hosts, deps)
	if err := errors.Join(serr, terr); err != nil {
		closeDeps()
		return nil, &configfile.Error{File: errorFile(path), Err: err}
	}
	l := &loadedConfig{cfg: cfg, deps: deps, hosts: map[string]registry.Host{}, close: closeDeps}
	for _, h := range cfg.Hosts {
		l.hosts[h.Host] = registry.Host{
			Credentials:  sources[h.Host],
			TLS:          tlsConfigs[h.Host],
			MaxChunkSize: h.MaxChunkSize * 1024,
		}
	}
	return l, nil
}

// loadConfig loads and validates a config for purpose, checks that every
// provider it names is compiled into this binary, and returns it with the
// directory its files must stay under.
func (e *env) loadConfig(path string, g *Globals, purpose config.Purpose) (*config.Config, string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, "", fmt.Errorf("get working directory: %w", err)
	}
	opts := configfile.Options{
		NoEnvSubst: g.NoEnvsubst,
		Purpose:    purpose,
		LookupEnv:  e.LookupEnv,
		Stdin:      e.Stdin,
		WorkDir:    wd,
	}
	cfg, err := configfile.Load(path, opts)
	if err != nil {
		return nil, "", err
	}
	root, err := configfile.Root(path, opts)
	if err != nil {
		return nil, "", err
	}
	if err := e.checkProviders(cfg); err != nil {
		return nil, "", &configfile.Error{File: errorFile(path), Err: err}
	}
	return cfg, root, nil
}

// errorFile names the config file in errors as configfile.Load does: the
// path as given, or "stdin".
func errorFile(path string) string {
	if path == configfile.Stdin {
		return "stdin"
	}
	return path
}

func displayName(path string) string {
	if path == "-" {
		return "<stdin>"
	}
	return filepath.Clean(path)
}

// checkProviders checks every provider the config names against the
// factories this binary was built with: a name left out of this build
// fails with the build command that brings it back, an unknown one with
// the names this build has and the ones it left out. Core checks only the
// shape of a name; which names exist is decided here. A verify block in a
// build without the verify part fails the same way.
func (e *env) checkProviders(cfg *config.Config) error {
	var errs []error
	check := func(field string, k auth.Kind, name string) {
		if _, ok := e.providersOf(k)[name]; !ok {
			errs = append(errs, fmt.Errorf("%s: %w", field, e.providerError(k, name)))
		}
	}
	for i, h := range cfg.Hosts {
		prefix := fmt.Sprintf("hosts[%d] %q: ", i, h.Host)
		if h.Provider != "" {
			check(prefix+auth.KindRegistry.Field(), auth.KindRegistry, h.Provider)
		}
		if h.Credential != nil && h.Credential.Provider != "" {
			check(prefix+auth.KindToken.Field(), auth.KindToken, h.Credential.Provider)
		}
		if h.TLS != nil {
			if h.TLS.ClientAuth != nil && h.TLS.ClientAuth.Provider != "" {
				check(prefix+auth.KindTLS.Field(), auth.KindTLS, h.TLS.ClientAuth.Provider)
			}
			if h.TLS.ServerAuth != nil && h.TLS.ServerAuth.SPIFFE != nil {
				check(prefix+"tls.serverAuth.spiffe", auth.KindTLS, config.ClientProviderX509SVID)
			}
		}
	}
	if e.Verify == nil {
		for i, a := range cfg.Artifacts {
			if a.Verify != nil {
				errs = append(errs, fmt.Errorf("artifacts[%d].verify: %s", i, e.partMissing(partVerify, "signature verification")))
			}
		}
	}
	return errors.Join(errs...)
}

// providerError says why name is not a compiled-in provider of kind k: it
// was left out of this build (wraps core.ErrProviderNotCompiled, with the
// build command that brings it back), or no build knows it.
func (e *env) providerError(k auth.Kind, name string) error {
	if tag := e.omittedTag(k, name); tag != "" {
		return fmt.Errorf("%q is not compiled into this flux-mirror binary (it has: %s); %s%.0w",
			name, orNone(e.providerNames()), e.rebuildCommand(tag), core.ErrProviderNotCompiled)
	}
	msg := fmt.Sprintf("%q is not a provider of this flux-mirror binary; it has %s", name, orNone(slices.Sorted(maps.Keys(e.providersOf(k)))))
	if left := e.omittedOf(k); len(left) > 0 {
		msg += fmt.Sprintf(", and left out %s (README: \"Build a slim binary\")", strings.Join(left, ", "))
	}
	return errors.New(msg)
}

// partMissing says that the optional part name (what it does: what) is
// not compiled in, and how to build a binary with it.
func (e *env) partMissing(name, what string) string {
	tag := e.omittedTag(0, name)
	if tag == "" {
		tag = "fm_" + name
	}
	return fmt.Sprintf("%s (the %s part) is not compiled into this flux-mirror binary; %s", what, name, e.rebuildCommand(tag))
}

// rebuildCommand says how to build a binary that keeps this one's
// providers and parts and adds the one of tag.
func (e *env) rebuildCommand(tag string) string {
	tags := []string{"fm_custom"}
	for _, t := range append(slices.Clone(e.Built), tag) {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return fmt.Sprintf("use the default build (make build), or rebuild with: go build -tags %s -o bin/flux-mirror ./cli/cmd/flux-mirror (README: \"Build a slim binary\")", strings.Join(tags, ","))
}

// providerNames are the names of every compiled-in provider, sorted.
func (e *env) providerNames() []string {
	var out []string
	for _, f := range e.Providers {
		out = append(out, f.ProviderName())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no providers"
	}
	return strings.Join(s, ", ")
}
