package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/selection"
)

func TestMirrorInput(t *testing.T) {
	t.Parallel()
	minAge := 48 * time.Hour
	id := OIDCIdentity{Issuer: "https://token.actions.githubusercontent.com", Subject: "^https://github\\.com/org/.*$"}
	tests := []struct {
		name string
		cfg  *Config
		want mirror.Input
	}{
		{name: "nil config", cfg: nil, want: mirror.Input{}},
		{name: "hosts only", cfg: &Config{Hosts: []Host{{Host: "ghcr.io", MaxChunkSize: 1}}}, want: mirror.Input{}},
		{
			name: "every artifact field",
			cfg: &Config{Artifacts: []Artifact{{
				Source: "ghcr.io/org/app", Destination: "quay.io/org/app",
				Selector:         &Selector{Regex: &Regex{Pattern: `^v(?P<v>.+)$`, Extract: "$v"}, Semver: "6.x", SortBy: SortNumerical, Limit: ptr(3)},
				IncludeReferrers: true,
				Verify:           &Verify{Provider: VerifyProviderCosign, MatchOIDCIdentity: []OIDCIdentity{id}, MinAge: &Duration{minAge}},
				Overwrite:        true,
			}}},
			want: mirror.Input{Artifacts: []mirror.Artifact{{
				Source: "ghcr.io/org/app", Destination: "quay.io/org/app",
				Selector:         &selection.Selector{Regex: &selection.Regex{Pattern: `^v(?P<v>.+)$`, Extract: "$v"}, Semver: "6.x", SortBy: selection.SortNumerical, Limit: ptr(3)},
				IncludeReferrers: true,
				Verify:           &mirror.VerifyPolicy{Provider: "cosign", MatchOIDCIdentity: []mirror.OIDCIdentity{{Issuer: id.Issuer, Subject: id.Subject}}, MinAge: &minAge},
				Overwrite:        true,
			}}},
		},
		{
			name: "unset optional fields stay unset",
			cfg:  &Config{Artifacts: []Artifact{{Source: "a.io/x", Destination: "b.io/x", Selector: &Selector{}, Verify: &Verify{}}, {Source: "a.io/y", Destination: "b.io/y"}}},
			want: mirror.Input{Artifacts: []mirror.Artifact{
				{Source: "a.io/x", Destination: "b.io/x", Selector: &selection.Selector{}, Verify: &mirror.VerifyPolicy{}},
				{Source: "a.io/y", Destination: "b.io/y"},
			}},
		},
		{
			name: "charts, in order",
			cfg: &Config{Charts: []Chart{
				{Name: "podinfo", Source: "https://charts.example.com", Destination: "oci://quay.io/org/charts", Version: ">=6.0.0", Limit: ptr(0), Overwrite: true},
				{Name: "nginx", Source: "https://other.example.com/", Destination: "oci://quay.io/org/charts"},
			}},
			want: mirror.Input{Charts: []mirror.Chart{
				{Name: "podinfo", Source: "https://charts.example.com", Destination: "oci://quay.io/org/charts", Version: ">=6.0.0", Limit: ptr(0), Overwrite: true},
				{Name: "nginx", Source: "https://other.example.com/", Destination: "oci://quay.io/org/charts"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.cfg.MirrorInput(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MirrorInput:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestMirrorInputCarriesEveryField fails when a field is added to an entry
// of the Config API without deciding where the engine gets it: every field
// of Artifact, Chart, Selector, Regex, Verify and OIDCIdentity is listed
// here with the engine field it becomes.
func TestMirrorInputCarriesEveryField(t *testing.T) {
	t.Parallel()
	converted := map[reflect.Type][]string{
		reflect.TypeFor[Artifact]():     {"Source", "Destination", "Selector", "IncludeReferrers", "Verify", "Overwrite"},
		reflect.TypeFor[Chart]():        {"Name", "Source", "Destination", "Version", "Limit", "Overwrite"},
		reflect.TypeFor[Selector]():     {"Regex", "Semver", "SortBy", "Limit"},
		reflect.TypeFor[Regex]():        {"Pattern", "Extract"},
		reflect.TypeFor[Verify]():       {"Provider", "MatchOIDCIdentity", "MinAge"},
		reflect.TypeFor[OIDCIdentity](): {"Issuer", "Subject"},
	}
	for typ, fields := range converted {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Name)
		}
		if !reflect.DeepEqual(got, fields) {
			t.Errorf("%s has fields %v; MirrorInput converts %v: convert the new field, then list it here", typ.Name(), got, fields)
		}
	}
}
