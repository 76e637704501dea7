package cosign

import "github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

// SetTUFFetcher replaces the HTTP fetcher of the public-good TUF client, so
// that tests exercise the default trust path without the network.
func SetTUFFetcher(v *Verifier, f fetcher.Fetcher) { v.tufFetcher = f }
