package core

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// allowedRequirements are the only modules core may require: core is the
// dependency-free domain, so every other module can depend on it cheaply.
var allowedRequirements = []string{"github.com/Masterminds/semver/v3"}

// TestGoModRequiresOnlySemver fails if core/go.mod requires any module other
// than github.com/Masterminds/semver/v3, directly or indirectly (test
// dependencies land in go.mod too).
func TestGoModRequiresOnlySemver(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatalf("read core/go.mod: %v", err)
	}
	reqs := requirements(string(data))
	if len(reqs) == 0 {
		t.Fatalf("core/go.mod requires nothing; want %v", allowedRequirements)
	}
	for _, r := range reqs {
		if !slices.Contains(allowedRequirements, r) {
			t.Errorf("core/go.mod requires %s; core may only require %v (move the code that needs it to an adapter module)", r, allowedRequirements)
		}
	}
}

// requirements returns the module paths of the require directives of a
// go.mod file, in single-line and block form.
func requirements(gomod string) []string {
	var mods []string
	inBlock := false
	for _, line := range strings.Split(gomod, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case inBlock && f[0] == ")":
			inBlock = false
		case inBlock:
			mods = append(mods, strings.Trim(f[0], `"`))
		case f[0] == "require" && len(f) >= 2 && f[1] == "(":
			inBlock = true
		case f[0] == "require" && len(f) >= 3:
			mods = append(mods, strings.Trim(f[1], `"`))
		case f[0] == "require(":
			inBlock = true
		}
	}
	return mods
}

func TestRequirements(t *testing.T) {
	gomod := `module example.com/m

go 1.26.0

require github.com/Masterminds/semver/v3 v3.5.0 // pinned

require (
	example.com/a v1.0.0
	// example.com/commented v1.0.0
	"example.com/quoted" v1.0.0 // indirect
)

require(
	example.com/b v1.0.0
)
replace example.com/a => ../a
`
	got := requirements(gomod)
	want := []string{"github.com/Masterminds/semver/v3", "example.com/a", "example.com/quoted", "example.com/b"}
	if !slices.Equal(got, want) {
		t.Errorf("requirements = %q, want %q", got, want)
	}
}
