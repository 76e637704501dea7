package hostauth

import (
	"log/slog"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/fluxcd/flux-mirror/core/auth"
)

// Deps are the collaborators that the CLI hands to NewSource, TLSConfig and
// Resolve. The zero value works for hosts that use only value, fromPath,
// jwkPath, jwkValue and static TLS.
type Deps struct {
	// Root is the directory every file the config names (credential.fromPath
	// and jwkPath, tls.serverAuth.fromPath, the client certificate and key)
	// must stay inside at the moment of each read: the config file's
	// directory, or the working directory for a config read from stdin
	// (configfile.Root). Reads go through os.Root, so a file replaced by a
	// symlink leaving Root while flux-mirror runs is refused. Empty confines
	// each file to its own directory.
	Root string
	// TokenProviders maps a credential.provider value (github, forgejo, gcp,
	// azure, aws, jwt-svid) to its factory. A provider missing from the map
	// was not compiled in.
	TokenProviders map[string]auth.TokenProvider
	// RegistryProviders maps a hosts[].provider value (ecr, acr, gar) to its
	// factory. A provider missing from the map was not compiled in.
	RegistryProviders map[string]auth.RegistryProvider
	// Settings are handed to the provider factories. Settings.Logger is also
	// this package's logger; nil means discard.
	Settings auth.Settings
	// SPIFFE supplies the X.509-SVID and trust bundles for the SPIFFE halves
	// of hosts[].tls; nil means SPIFFE support was not compiled in.
	SPIFFE SPIFFESource
	// Now is the clock used for JWT claims, caching and certificate validity;
	// nil means time.Now.
	Now func() time.Time
}

// SPIFFESource is the workload's rotating SPIFFE X.509 material, read at
// every TLS handshake: its current X.509-SVID and the X.509 bundle of any
// trust domain. A *workloadapi.X509Source of go-spiffe satisfies it, so the
// spiffe provider module can hand one over directly. Implementations must be
// safe for concurrent use and must not block indefinitely.
type SPIFFESource interface {
	x509svid.Source
	x509bundle.Source
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d Deps) clock() func() time.Time {
	if d.Now != nil {
		return d.Now
	}
	return time.Now
}

func (d Deps) logger() *slog.Logger {
	if d.Settings.Logger != nil {
		return d.Settings.Logger
	}
	return slog.New(slog.DiscardHandler)
}
