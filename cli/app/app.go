// Package app is flux-mirror's command-line application: the kong grammar,
// one file per command, and Main, which wires adapters and providers and
// turns errors into the documented output and exit codes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/fluxcd/flux-mirror/adapters/hostauth"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// Config is what a main package hands to Main: the process's streams and
// environment, and the providers compiled into this binary.
type Config struct {
	// Args are the command-line arguments without the program name.
	Args []string
	// Stdin, Stdout and Stderr are the process's streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// TokenProviders are the credential.provider factories compiled in.
	TokenProviders []auth.TokenProvider
	// RegistryProviders are the hosts[].provider factories compiled in.
	RegistryProviders []auth.RegistryProvider
	// SPIFFE connects to the SPIFFE Workload API for X.509-SVID transport
	// security; nil when the spiffe provider is not compiled in.
	SPIFFE SPIFFEFactory
	// Omitted names the providers this binary was built without, with the
	// build tag that brings each back.
	Omitted []OmittedProvider
	// IsTerminal reports whether a stream is an interactive terminal; nil
	// means never (no progress display).
	IsTerminal func(io.Writer) bool
}

// SPIFFEFactory opens an X.509-SVID and bundle source on the SPIFFE Workload
// API; the source rotates until closed.
type SPIFFEFactory func(ctx context.Context) (hostauth.SPIFFESource, io.Closer, error)

// OmittedProvider is a provider left out of a slim build.
type OmittedProvider struct {
	// Name is the provider's config value, e.g. "aws" or "ecr".
	Name string
	// Tag is the build tag that compiles it in, e.g. "fm_aws".
	Tag string
}

// Globals are the flags every command accepts.
type Globals struct {
	Timeout    time.Duration `help:"Time budget of the operation: credential minting for login and secret (default 1m); for sync, the budget of each copy job, all attempts included (default 5m)." placeholder:"DURATION"`
	NoEnvsubst bool          `name:"no-envsubst" help:"Parse $${VAR} in the config literally instead of substituting environment variables."`
}

// cli is the kong grammar.
type cli struct {
	Globals

	Sync       syncCmd       `cmd:"" help:"Mirror the artifacts and charts of a config into their destinations."`
	Validate   validateCmd   `cmd:"" help:"Check a config without touching the network."`
	Login      loginCmd      `cmd:"" help:"Store the credentials of the config's hosts in the Docker config, like docker login."`
	Secret     secretCmd     `cmd:"" help:"Write the credentials of the config's hosts to a Kubernetes dockerconfigjson Secret."`
	Keygen     keygenCmd     `cmd:"" help:"Generate an Ed25519 JWK key pair for signed-JWT credentials."`
	Version    versionCmd    `cmd:"" help:"Print the version, the Go version and the compiled-in providers."`
	Completion completionCmd `cmd:"" help:"Print a shell completion script."`
	Complete   completeCmd   `cmd:"" name:"__complete" hidden:"" help:"Answer shell completion requests (Cobra protocol, used by flux)."`
}

// env is what commands receive besides their flags.
type env struct {
	Config
}

// getenv returns the value of an environment variable, "" when unset.
func (e *env) getenv(name string) string {
	v, _ := e.LookupEnv(name)
	return v
}

// exitError carries a specific exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// silentExit ends a command with a code and no further message (the command
// already printed what the user needs).
func silentExit(code int) error { return &exitError{code: code} }

type kongExit int

// newParser builds the kong parser. Exits requested by kong (help, version,
// usage errors) panic with kongExit, which Main recovers.
func newParser(c *cli, cfg Config) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("flux-mirror"),
		kong.Description("Mirror OCI artifacts between registries and Helm charts from HTTP/S Helm repositories into OCI registries, from one declarative config.\n\nInstalled as a Flux CLI plugin it answers `flux mirror <command>`."),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Writers(cfg.Stdout, cfg.Stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
	)
}

// Main runs flux-mirror with cfg and returns the process exit code.
func Main(ctx context.Context, cfg Config) (code int) {
	if cfg.LookupEnv == nil {
		cfg.LookupEnv = os.LookupEnv
	}
	if cfg.Stdin == nil {
		cfg.Stdin = strings.NewReader("")
	}
	if cfg.IsTerminal == nil {
		cfg.IsTerminal = func(io.Writer) bool { return false }
	}
	var c cli
	parser, err := newParser(&c, cfg)
	if err != nil {
		fmt.Fprintf(cfg.Stderr, "✗ %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			if k, ok := r.(kongExit); ok {
				code = int(k)
				return
			}
			panic(r)
		}
	}()
	args := cfg.Args
	if len(args) > 0 && args[0] == "__complete" {
		// Completion requests carry arbitrary partial words that must not be
		// parsed as flags.
		return runComplete(parser, args[1:], cfg.Stdout)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(cfg.Stderr, "✗ %v\n", err)
		if kctx != nil && len(args) > 0 {
			fmt.Fprintf(cfg.Stderr, "  run 'flux-mirror %s --help' for usage\n", kctx.Command())
		} else {
			fmt.Fprintln(cfg.Stderr, "  run 'flux-mirror --help' for usage")
		}
		return 1
	}
	e := &env{Config: cfg}
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(e, &c.Globals, parser)
	if err := kctx.Run(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.err != nil {
				printError(cfg.Stderr, ee.err)
			}
			return ee.code
		}
		printError(cfg.Stderr, err)
		return 1
	}
	return 0
}

// printError writes err as "✗ <message>", one mark per line of a joined error.
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintf(w, "✗ %s\n", line)
	}
}
