package app

import (
	"slices"
	"strings"
	"testing"
)

// TestCompleteNoDesc checks that __completeNoDesc gives the same candidates
// and directive as __complete, without the tab-separated descriptions.
func TestCompleteNoDesc(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		want  []string
	}{
		{name: "commands", words: []string{""}, want: []string{"sync", "validate", "login", "secret", "keygen", "convert", "report", "version", "completion"}},
		{name: "command prefix", words: []string{"ve"}, want: []string{"version"}},
		{name: "flags", words: []string{"sync", "--dr"}, want: []string{"--drift-exit-code", "--dry-run"}},
		{name: "enum value", words: []string{"sync", "-o", ""}, want: []string{"text", "yaml", "json"}},
		{name: "file argument", words: []string{"sync", ""}},
		{name: "flag alias", words: []string{"keygen", "--out"}, want: []string{"--output", "--output-dir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := run(t, runOpts{}, append([]string{"__complete"}, tt.words...)...)
			without := run(t, runOpts{}, append([]string{"__completeNoDesc"}, tt.words...)...)
			if without.code != 0 || without.stderr != "" {
				t.Fatalf("exit %d: %s", without.code, without.stderr)
			}
			if strings.Contains(without.stdout, "\t") {
				t.Errorf("descriptions in __completeNoDesc:\n%q", without.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(without.stdout, "\n"), "\n")
			var stripped []string
			for _, l := range strings.Split(strings.TrimSuffix(with.stdout, "\n"), "\n") {
				name, _, _ := strings.Cut(l, "\t")
				stripped = append(stripped, name)
			}
			if strings.Join(lines, "\n") != strings.Join(stripped, "\n") {
				t.Errorf("__completeNoDesc %q\n__complete without descriptions %q", lines, stripped)
			}
			got := lines[:len(lines)-1]
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("candidates %q lack %q", got, w)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("candidates %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCompleteFlagAliasValue: a value after a flag's alias completes like
// one after its name (keygen --output-dir: directories).
func TestCompleteFlagAliasValue(t *testing.T) {
	for _, flag := range []string{"-o", "--output", "--output-dir"} {
		res := run(t, runOpts{}, "__complete", "keygen", flag, "")
		if res.code != 0 || res.stdout != ":16\n" {
			t.Errorf("%s: exit %d, %q, want directive 16 (directories)", flag, res.code, res.stdout)
		}
	}
}
