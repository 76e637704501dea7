package bench

import (
	"encoding/json"
	"fmt"
	"strings"

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

// RegsyncConfig returns a regsync configuration (YAML) that copies every
// tag of each entry's repository, parallel images at a time, with TLS
// disabled for every registry host of the entries (plain HTTP on
// loopback). Hosts are listed once, in the order they first appear.
func RegsyncConfig(parallel int, entries ...Entry) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ncreds:\n")
	seen := map[string]bool{}
	for _, e := range entries {
		for _, ref := range []string{e.Source, e.Destination} {
			host, _, _ := strings.Cut(ref, "/")
			if !seen[host] {
				seen[host] = true
				fmt.Fprintf(&b, "  - registry: %q\n    tls: disabled\n", host)
			}
		}
	}
	fmt.Fprintf(&b, "defaults:\n  parallel: %d\nsync:\n", parallel)
	for _, e := range entries {
		fmt.Fprintf(&b, "  - source: %q\n    target: %q\n    type: repository\n", e.Source, e.Destination)
	}
	return []byte(b.String())
}
