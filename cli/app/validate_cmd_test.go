package app

import (
	"strings"
	"testing"
)

// TestValidateSeveralFiles validates each file like a linter: one result per
// file, exit 1 if any failed.
func TestValidateSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", artifactConfig(entry("a.example.com/app", "b.example.com/app", "      semver: \">=1.0.0\"\n")))
	good2 := writeFile(t, dir, "good2.yaml", artifactConfig(entry("a.example.com/x", "b.example.com/x", "      limit: 1\n")))
	badYAML := writeFile(t, dir, "bad-yaml.yaml", artifactConfig(entry("a.example.com/app", "b.example.com/app", "      semver: >=1.0.0\n")))
	badField := writeFile(t, dir, "bad-field.yaml", artifactConfig(entry("a.example.com/app", "b.example.com/app", "      limit: 1\n      bogus: 1\n")))
	tests := []struct {
		name       string
		files      []string
		code       int
		wantOut    []string
		wantErr    []string
		wantNotOut []string
	}{
		{name: "all valid", files: []string{good, good2}, code: 0,
			wantOut: []string{"✔ " + good + " is valid (1 artifact", "✔ " + good2 + " is valid (1 artifact"}},
		{name: "one invalid in the middle", files: []string{good, badYAML, good2}, code: 1,
			wantOut: []string{"✔ " + good + " is valid", "✔ " + good2 + " is valid"},
			wantErr: []string{"✗ " + badYAML + ": invalid YAML: line 7", "✗ 1 of 3 configs are invalid"}},
		{name: "all invalid", files: []string{badYAML, badField}, code: 1,
			wantErr: []string{"✗ " + badYAML + ":", "✗ " + badField + ":", "bogus", "✗ 2 of 2 configs are invalid"}},
		{name: "one file keeps the single-file output", files: []string{badField}, code: 1,
			wantErr: []string{"✗ " + badField + ":"}, wantNotOut: []string{"configs are invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, runOpts{}, append([]string{"validate"}, tt.files...)...)
			if res.code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.code, res.stdout, res.stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, res.stdout)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
			for _, w := range tt.wantNotOut {
				if strings.Contains(res.stdout+res.stderr, w) {
					t.Errorf("output has %q:\n%s%s", w, res.stdout, res.stderr)
				}
			}
		})
	}
}
