// Command flux-mirror mirrors OCI artifacts between registries and Helm
// charts from HTTP/S Helm repositories into OCI registries.
//
// The providers and optional parts compiled in are chosen by build tags on
// the wiring files beside this one (providers_*.go, part_*.go, each with a
// _stub.go that records the omission): the default build has them all, and
//
//	go build -tags fm_custom,fm_github -o bin/flux-mirror ./cli/cmd/flux-mirror
//
// builds a binary with only the GitHub/Forgejo token provider, without the
// secret command and without signature verification. See the README's
// "Build a slim binary" and CONTRIBUTING.md for adding a provider.
package main

//go:generate go test -run ^TestSchemaFile$ -update .

import (
	"context"
	"io"
	"os"
	"syscall"

	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/cli/internal/initpages"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// Filled by the wiring files of this build, each through wire or omit.
var (
	// providers is the one list of provider factories, of every kind.
	providers []auth.Factory
	// secret and verify are the optional parts; nil when left out.
	secret app.SecretWriter
	verify app.VerifierFactory
	// built are the tags of the wiring files compiled in; omitted is what
	// the stubs recorded.
	built   []string
	omitted []app.Omitted
)

// wire records the providers of the wiring file of tag.
func wire(tag string, factories ...auth.Factory) {
	built = append(built, tag)
	providers = append(providers, factories...)
}

// omit records what the stub of tag leaves out.
func omit(tag string, left ...app.Omitted) {
	for _, o := range left {
		o.Tag = tag
		omitted = append(omitted, o)
	}
}

func main() {
	// Every linked package has run its init by now; what only they needed
	// leaves memory, so a long copy does not carry it. Failing leaves the
	// pages resident, which costs memory and nothing else.
	_, _ = initpages.Release()
	// SIGINT and SIGTERM stop new work, cancel what is in flight and still
	// print the report; the process then exits 130 or 143.
	ctx, stop := app.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, appConfig(os.Args))
	stop()
	os.Exit(code)
}

// appConfig is the app.Config of this build for the process's arguments and
// streams.
func appConfig(args []string) app.Config {
	return app.Config{
		Args:       args[1:],
		Program:    args[0],
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Providers:  providers,
		Secret:     secret,
		Verify:     verify,
		Built:      built,
		Omitted:    omitted,
		IsTerminal: isTerminal,
	}
}

// isTerminal reports whether w is a character device (an interactive
// terminal), without a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
