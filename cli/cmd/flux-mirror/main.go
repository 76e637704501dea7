// Command flux-mirror mirrors OCI artifacts between registries and Helm
// charts from HTTP/S Helm repositories into OCI registries.
//
// The providers compiled in are chosen by build tags on the providers_*.go
// files beside this one: the default build has them all, and
//
//	go build -tags fm_custom,fm_github -o bin/flux-mirror ./cli/cmd/flux-mirror
//
// builds a binary with only the GitHub/Forgejo token provider. See the
// README's "Build a slim binary".
package main

import (
	"context"
	"io"
	"os"
	"syscall"

	"github.com/fluxcd/flux-mirror/cli/app"
	"github.com/fluxcd/flux-mirror/core/auth"
)

// Filled by the providers_*.go wiring files of this build.
var (
	tokenProviders    []auth.TokenProvider
	registryProviders []auth.RegistryProvider
	spiffeProvider    app.SPIFFEFactory
	omitted           []app.OmittedProvider
)

func main() {
	// SIGINT and SIGTERM stop new work, cancel what is in flight and still
	// print the report; the process then exits 130 or 143.
	ctx, stop := app.SignalContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, app.Config{
		Args:              os.Args[1:],
		Program:           os.Args[0],
		Stdin:             os.Stdin,
		Stdout:            os.Stdout,
		Stderr:            os.Stderr,
		TokenProviders:    tokenProviders,
		RegistryProviders: registryProviders,
		SPIFFE:            spiffeProvider,
		Omitted:           omitted,
		IsTerminal:        isTerminal,
	})
	stop()
	os.Exit(code)
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
