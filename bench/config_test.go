package bench

import (
	"encoding/json"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

// The generated config decodes strictly and validates as the CLI would
// load it (JSON is YAML), and selects every semver tag.
func TestFluxMirrorConfig(t *testing.T) {
	b, err := FluxMirrorConfig(
		Entry{Source: "127.0.0.1:5000/bench/shared", Destination: "127.0.0.1:5001/bench/shared"},
		Entry{Source: "127.0.0.1:5000/bench/large", Destination: "127.0.0.1:5001/bench/large"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Decode(doc)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, b)
	}
	if err := cfg.Validate(config.PurposeSync); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(cfg.Artifacts) != 2 || cfg.Artifacts[1].Source != "127.0.0.1:5000/bench/large" {
		t.Fatalf("artifacts %+v", cfg.Artifacts)
	}
	sel := cfg.Artifacts[0].Selector
	if sel.Semver != "*" || sel.EffectiveLimit() != 0 {
		t.Fatalf("selector %+v, want semver * and no limit", sel)
	}
}

func TestFluxMirrorConfigRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []Entry
	}{
		{"no entries", nil},
		{"same destination twice", []Entry{{"127.0.0.1:1/a", "127.0.0.1:2/a"}, {"127.0.0.1:1/b", "127.0.0.1:2/a"}}},
		{"scheme in source", []Entry{{"http://127.0.0.1:1/a", "127.0.0.1:2/a"}}},
	} {
		if _, err := FluxMirrorConfig(tc.entries...); err == nil {
			t.Errorf("%s: want an error", tc.name)
		}
	}
}
