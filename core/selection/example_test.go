package selection_test

import (
	"fmt"

	"github.com/fluxcd/flux-mirror/core/selection"
)

func ExampleSelect() {
	limit := 2
	p, err := selection.NewPolicy(selection.Selector{
		Regex:  &selection.Regex{Pattern: `^v(?P<version>.+)-alpine$`, Extract: "$version"},
		Semver: "6.x",
		Limit:  &limit,
	})
	if err != nil {
		panic(err)
	}
	tags := []string{"v6.0.0-alpine", "v6.2.1-alpine", "v6.10.0-alpine", "v7.0.0-alpine", "v6.3.0-rc.1-alpine", "v6.9.0", "latest"}
	fmt.Println(selection.Select(tags, p))
	// Output: [v6.10.0-alpine v6.2.1-alpine]
}

func ExampleSelectVersions() {
	versions := []string{"15.0.1", "15.2.0+build.7", "16.0.0", "15.3.0-rc.1"}
	got, err := selection.SelectVersions(versions, ">=15.0.0 <16.0.0", nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(got)
	// Output: [15.2.0+build.7]
}
