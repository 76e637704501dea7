// Command registryd is the CNCF distribution registry with only what the
// container tests use: the filesystem and in-memory storage drivers and
// the htpasswd and token access controllers. Leaving out the cloud storage
// drivers of distribution's own cmd/registry makes it several times
// quicker to build on a cold cache, and it builds from this module, so it
// runs the same distribution version as the in-process registrytest.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
