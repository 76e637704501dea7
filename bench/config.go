package bench

import (
	"encoding/json"
	"fmt"

	"github.com/fluxcd/flux-mirror/core/config"
)

// Entry is one repository to mirror, as host/path without a scheme.
type Entry struct {
	Source, Destination string
}

// FluxMirrorConfig returns a valid flux-mirror Config that mirrors every
// semver tag of each entry (semver "*", limit 0). It is JSON, which every
// YAML parser reads, so it can be saved as cfg.yaml.
func FluxMirrorConfig(entries ...Entry) ([]byte, error) {
	all := 0
	cfg := config.Config{APIVersion: config.APIVersion, Kind: config.Kind}
	for _, e := range entries {
		cfg.Artifacts = append(cfg.Artifacts, config.Artifact{
			Source:      e.Source,
			Destination: e.Destination,
			Selector:    &config.Selector{Semver: "*", Limit: &all},
		})
	}
	if err := cfg.Validate(config.PurposeSync); err != nil {
		return nil, fmt.Errorf("benchmark config: %w", err)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("benchmark config: %w", err)
	}
	return append(b, '\n'), nil
}
