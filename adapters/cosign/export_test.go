package cosign

import "github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

// SetTUFFetcher replaces the HTTP fetcher of the public-good TUF client, so
// that tests exercise the default trust path without the network.
func SetTUFFetcher(v *Verifier, f fetcher.Fetcher) { v.tufFetcher = f }

// LegacyBundle converts a legacy signature layer's annotations and payload
// to a Sigstore bundle, for the fuzz tests.
func LegacyBundle(annotations map[string]string, payload []byte) error {
	b, err := legacyBundle(annotations, payload)
	if err == nil && b == nil {
		panic("legacyBundle returned neither a bundle nor an error")
	}
	return err
}

// CheckPayload checks a simple-signing payload's claims, for the fuzz
// tests.
var CheckPayload = checkPayload
