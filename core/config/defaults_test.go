package config

import (
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		got, want any
	}{
		{"selector limit unset", Selector{}.EffectiveLimit(), 1},
		{"selector limit zero", Selector{Limit: ptr(0)}.EffectiveLimit(), 0},
		{"selector limit set", Selector{Limit: ptr(7)}.EffectiveLimit(), 7},
		{"sortBy unset", Selector{}.EffectiveSortBy(), SortSemver},
		{"sortBy set", Selector{SortBy: SortNumerical}.EffectiveSortBy(), SortNumerical},
		{"chart version unset", Chart{}.EffectiveVersion(), "*"},
		{"chart version set", Chart{Version: "6.x"}.EffectiveVersion(), "6.x"},
		{"chart limit unset", Chart{}.EffectiveLimit(), 1},
		{"chart limit zero", Chart{Limit: ptr(0)}.EffectiveLimit(), 0},
		{"aud unset", Credential{}.EffectiveAud("quay.io"), "quay.io"},
		{"aud set", Credential{Aud: "api://x"}.EffectiveAud("quay.io"), "api://x"},
		{"exp unset", Credential{}.EffectiveExp(), 60 * time.Second},
		{"exp set", Credential{Exp: &Duration{time.Hour}}.EffectiveExp(), time.Hour},
		{"maxChunkSize unset", Host{}.MaxChunkBytes(), int64(0)},
		{"maxChunkSize KiB", Host{MaxChunkSize: 5}.MaxChunkBytes(), int64(5120)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"1h30m"`)); err != nil || d.Duration != 90*time.Minute {
		t.Fatalf("UnmarshalJSON: %v %v", d, err)
	}
	if b, _ := d.MarshalJSON(); string(b) != `"1h30m0s"` {
		t.Fatalf("MarshalJSON: %s", b)
	}
	for _, bad := range []string{`60`, `"2d"`} {
		if err := d.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%s): no error", bad)
		}
	}
}
