package core

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDomainImportDirection keeps the domain's layers apart: the engine and
// the selector rules do not know any config version (a config version
// converts into their types), so a second one can be added beside v1beta1.
func TestDomainImportDirection(t *testing.T) {
	const mod = "github.com/fluxcd/flux-mirror/core/"
	tests := []struct {
		dir       string
		forbidden []string
	}{
		{"mirror", []string{mod + "config"}},
		{"selection", []string{mod + "config", mod + "mirror"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(tt.dir, "*.go"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no Go files in %s: %v", tt.dir, err)
			}
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
				if err != nil {
					t.Fatal(err)
				}
				for _, imp := range ast.Imports {
					path, _ := strconv.Unquote(imp.Path.Value)
					for _, bad := range tt.forbidden {
						if path == bad {
							t.Errorf("%s imports %s; convert the config into the package's own types instead", f, bad)
						}
					}
				}
			}
		})
	}
}
