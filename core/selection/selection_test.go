package selection

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func intp(n int) *int { return &n }

func re(pattern, extract string) *Regex {
	return &Regex{Pattern: pattern, Extract: extract}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	podinfo := []string{"6.0.0", "6.1.0", "6.1.1-rc.1", "6.2.0", "5.9.9", "7.0.0-beta.1", "latest", "main-abc1234", "6.2.0-alpine"}
	tests := []struct {
		name  string
		sel   Selector
		input []string
		want  []string
	}{
		// Defaults: semver sort, limit 1.
		{"empty selector picks the highest semver", Selector{}, []string{"1.0.0", "2.0.0", "1.5.0"}, []string{"2.0.0"}},
		{"non-semver tags are dropped by the semver sort", Selector{Limit: intp(0)}, []string{"latest", "1.0.0", "main", "sha256-abc"}, []string{"1.0.0"}},
		{"no tags", Selector{}, nil, []string{}},
		{"no tag qualifies", Selector{}, []string{"latest", "edge"}, []string{}},
		{"without a range prereleases compete by precedence", Selector{Limit: intp(3)}, podinfo, []string{"7.0.0-beta.1", "6.2.0", "6.2.0-alpine"}},

		// Limit.
		{"limit nil is 1", Selector{Semver: "*"}, podinfo, []string{"6.2.0"}},
		{"limit 0 keeps all", Selector{Semver: "6.x", Limit: intp(0)}, podinfo, []string{"6.2.0", "6.1.0", "6.0.0"}},
		{"limit n keeps the top n", Selector{Semver: "6.x", Limit: intp(2)}, podinfo, []string{"6.2.0", "6.1.0"}},
		{"limit above the count keeps all", Selector{Semver: "6.x", Limit: intp(10)}, podinfo, []string{"6.2.0", "6.1.0", "6.0.0"}},

		// Semver ranges, Flux and Helm syntax.
		{"x range", Selector{Semver: "6.x", Limit: intp(0)}, []string{"5.0.0", "6.0.0", "6.9.1", "7.0.0"}, []string{"6.9.1", "6.0.0"}},
		{"and range", Selector{Semver: ">=2.7.0 <3.0.0", Limit: intp(0)}, []string{"v2.6.9", "v2.7.0", "v2.8.1", "v3.0.0"}, []string{"v2.8.1", "v2.7.0"}},
		{"comma and range", Selector{Semver: ">=2.7.0, <3.0.0", Limit: intp(0)}, []string{"2.6.9", "2.7.0", "3.0.0"}, []string{"2.7.0"}},
		{"or range", Selector{Semver: "<1.0.0 || >=3.0.0", Limit: intp(0)}, []string{"0.9.0", "1.0.0", "2.0.0", "3.1.0"}, []string{"3.1.0", "0.9.0"}},
		{"caret range", Selector{Semver: "^1.2", Limit: intp(0)}, []string{"1.1.9", "1.2.0", "1.9.9", "2.0.0"}, []string{"1.9.9", "1.2.0"}},
		{"tilde range", Selector{Semver: "~1.2.3", Limit: intp(0)}, []string{"1.2.2", "1.2.3", "1.2.9", "1.3.0"}, []string{"1.2.9", "1.2.3"}},
		{"hyphen range", Selector{Semver: "1.0.0 - 2.0.0", Limit: intp(0)}, []string{"0.9.0", "1.0.0", "2.0.0", "2.0.1"}, []string{"2.0.0", "1.0.0"}},
		{"star keeps every release", Selector{Semver: "*", Limit: intp(0)}, []string{"0.0.1", "1.0.0", "latest"}, []string{"1.0.0", "0.0.1"}},
		{"range drops non-semver keys", Selector{Semver: "*", Limit: intp(0)}, []string{"1.0.0", "v1", "one"}, []string{"1.0.0", "v1"}},

		// Prereleases under Masterminds constraints.
		{"star excludes prereleases", Selector{Semver: "*", Limit: intp(0)}, []string{"1.0.0", "1.1.0-rc.1", "2.0.0-alpha"}, []string{"1.0.0"}},
		{"x range excludes prereleases", Selector{Semver: "6.x", Limit: intp(0)}, podinfo, []string{"6.2.0", "6.1.0", "6.0.0"}},
		{"a prerelease in the range includes prereleases", Selector{Semver: ">=6.0.0-0", Limit: intp(0)}, podinfo, []string{"7.0.0-beta.1", "6.2.0", "6.2.0-alpine", "6.1.1-rc.1", "6.1.0", "6.0.0"}},
		{"the prerelease applies only to its AND group", Selector{Semver: ">=7.0.0-0 || 6.1.x", Limit: intp(0)}, podinfo, []string{"7.0.0-beta.1", "6.1.0"}},
		{"prerelease ordering", Selector{Semver: ">=1.0.0-0", Limit: intp(0)}, []string{"1.0.0-rc.1", "1.0.0-alpha", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0", "1.0.0-beta"}, []string{"1.0.0", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0-rc.1", "1.0.0-beta", "1.0.0-alpha"}},

		// Lax semver parsing, as Flux and Helm.
		{"v prefix and short versions parse", Selector{Limit: intp(0)}, []string{"v1", "1.2", "v1.1.0", "0.9.9"}, []string{"1.2", "v1.1.0", "v1", "0.9.9"}},
		{"build metadata ignored for precedence", Selector{Limit: intp(0)}, []string{"1.0.0+b", "1.0.0+a", "0.9.0+z"}, []string{"1.0.0+a", "1.0.0+b", "0.9.0+z"}},

		// Ties.
		{"equal semver ordered by raw tag", Selector{Limit: intp(0)}, []string{"v1.0.0", "1.0.0", "1.0", "v1"}, []string{"1.0", "1.0.0", "v1", "v1.0.0"}},
		{"equal semver tie under limit 1", Selector{}, []string{"v1.0.0", "1.0.0"}, []string{"1.0.0"}},
		{"duplicate tags selected once", Selector{Limit: intp(0)}, []string{"1.0.0", "1.0.0", "2.0.0", "2.0.0"}, []string{"2.0.0", "1.0.0"}},

		// Regex prefilter.
		{"regex drops non-matching tags", Selector{Regex: re(`^v\d+\.\d+\.\d+$`, ""), Limit: intp(0)}, []string{"v1.0.0", "1.1.0", "v1.2.0-rc.1", "v0.9.0"}, []string{"v1.0.0", "v0.9.0"}},
		{"regex is unanchored unless anchored", Selector{Regex: re(`alpine`, ""), Limit: intp(0)}, []string{"1.0.0-alpine", "1.1.0", "2.0.0-alpine"}, []string{"2.0.0-alpine", "1.0.0-alpine"}},
		{"regex without extract keys on the raw tag", Selector{Regex: re(`-alpine$`, ""), Limit: intp(0)}, []string{"1.0.0-alpine", "foo-alpine"}, []string{"1.0.0-alpine"}},

		// Extract.
		{"extract feeds semver, output keeps raw tags", Selector{Regex: re(`^(?P<version>\d+\.\d+\.\d+)-alpine$`, "$version"), Limit: intp(0)}, []string{"1.0.0-alpine", "1.10.0-alpine", "1.9.0-alpine", "2.0.0"}, []string{"1.10.0-alpine", "1.9.0-alpine", "1.0.0-alpine"}},
		{"extract with braces and literal text", Selector{Regex: re(`^release-(?P<maj>\d+)_(?P<min>\d+)$`, "${maj}.${min}.0"), Limit: intp(0)}, []string{"release-1_2", "release-1_10", "release-0_99"}, []string{"release-1_10", "release-1_2", "release-0_99"}},
		{"extract by group number", Selector{Regex: re(`^build-(\d+)$`, "$1"), SortBy: SortNumerical, Limit: intp(0)}, []string{"build-9", "build-10", "build-100"}, []string{"build-100", "build-10", "build-9"}},
		{"extract with semver range", Selector{Regex: re(`^v(?P<v>.*)-debian$`, "$v"), Semver: ">=1.5.0", Limit: intp(0)}, []string{"v1.4.0-debian", "v1.5.0-debian", "v2.0.0-debian", "v9.0.0"}, []string{"v2.0.0-debian", "v1.5.0-debian"}},
		{"optional group that did not participate extracts empty", Selector{Regex: re(`^(?P<a>\d+)?x$`, "$a"), SortBy: SortNumerical, Limit: intp(0)}, []string{"5x", "x", "12x"}, []string{"12x", "5x"}},
		{"equal extracted keys ordered by raw tag", Selector{Regex: re(`^(?P<v>\d+\.\d+\.\d+)-.*$`, "$v"), Limit: intp(0)}, []string{"1.0.0-b", "1.0.0-a", "0.1.0-c"}, []string{"1.0.0-a", "1.0.0-b", "0.1.0-c"}},
		{"spec example: numerical timestamp", Selector{Regex: re(`^.+-[0-9a-f]+-(?P<ts>\d+)$`, "$ts"), SortBy: SortNumerical, Limit: intp(5)},
			[]string{"main-abc123-1700000001", "main-def456-1700000100", "main-aaa111-1699999999", "latest", "main-bbb222-1700000050", "pr-1-ccc333-1700000200", "main-ddd444-1700000002"},
			[]string{"pr-1-ccc333-1700000200", "main-def456-1700000100", "main-bbb222-1700000050", "main-ddd444-1700000002", "main-abc123-1700000001"}},

		// Alphabetical.
		{"alphabetical highest first", Selector{SortBy: SortAlphabetical, Limit: intp(0)}, []string{"b", "a", "c", "B"}, []string{"c", "b", "a", "B"}},
		{"alphabetical keeps non-semver tags", Selector{SortBy: SortAlphabetical, Limit: intp(2)},
			[]string{"RELEASE.2024-11-12T08-30-15Z", "RELEASE.2023-01-01T00-00-00Z", "RELEASE.2024-11-12T09-00-00Z"},
			[]string{"RELEASE.2024-11-12T09-00-00Z", "RELEASE.2024-11-12T08-30-15Z"}},
		{"alphabetical is byte-wise, not semver", Selector{SortBy: SortAlphabetical, Limit: intp(0)}, []string{"1.9.0", "1.10.0"}, []string{"1.9.0", "1.10.0"}},
		{"alphabetical with semver range filters on the key", Selector{SortBy: SortAlphabetical, Semver: "1.x", Limit: intp(0)}, []string{"1.9.0", "1.10.0", "2.0.0", "latest"}, []string{"1.9.0", "1.10.0"}},
		{"alphabetical on extracted keys", Selector{SortBy: SortAlphabetical, Regex: re(`^(?P<d>\d{4}-\d\d-\d\d)-.+$`, "$d"), Limit: intp(0)}, []string{"2024-01-02-zzz", "2024-03-01-aaa", "2023-12-31-mmm"}, []string{"2024-03-01-aaa", "2024-01-02-zzz", "2023-12-31-mmm"}},

		// Numerical.
		{"numerical highest first", Selector{SortBy: SortNumerical, Limit: intp(0)}, []string{"9", "10", "100", "2"}, []string{"100", "10", "9", "2"}},
		{"numerical drops non-numbers", Selector{SortBy: SortNumerical, Limit: intp(0)}, []string{"1", "latest", "1.2.3", "NaN", "Inf", "0x10", "1_000", "", "2"}, []string{"2", "1"}},
		{"numerical decimals, signs and exponents", Selector{SortBy: SortNumerical, Limit: intp(0)}, []string{"-1.5", "0.25", "1e3", "-2", "+7", ".5", "3."}, []string{"1e3", "+7", "3.", ".5", "0.25", "-1.5", "-2"}},
		{"numerical is exact beyond float64 precision", Selector{SortBy: SortNumerical, Limit: intp(0)}, []string{"12345678901234567890", "12345678901234567891", "12345678901234567889"}, []string{"12345678901234567891", "12345678901234567890", "12345678901234567889"}},
		{"equal numbers ordered by raw tag", Selector{SortBy: SortNumerical, Limit: intp(0)}, []string{"10.0", "10", "010", "1e1", "9"}, []string{"010", "10", "10.0", "1e1", "9"}},
		{"numerical with semver range needs both", Selector{SortBy: SortNumerical, Semver: ">=2", Limit: intp(0)}, []string{"1", "2", "30", "1.5", "2.5.0", "v3"}, []string{"30", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPolicy(tt.sel)
			if err != nil {
				t.Fatalf("NewPolicy: %v", err)
			}
			got := Select(tt.input, p)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select(%q)\n got %q\nwant %q", tt.input, got, tt.want)
			}
		})
	}
}

func TestSelectDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	in := []string{"1.0.0", "3.0.0", "2.0.0", "1.0.0"}
	orig := slices.Clone(in)
	p, err := NewPolicy(Selector{Limit: intp(0)})
	if err != nil {
		t.Fatal(err)
	}
	Select(in, p)
	if !slices.Equal(in, orig) {
		t.Errorf("input modified: %q", in)
	}
}

func TestZeroPolicy(t *testing.T) {
	t.Parallel()
	got := Select([]string{"1.0.0", "latest", "2.0.0-rc.1", "2.0.0"}, Policy{})
	want := []string{"2.0.0", "2.0.0-rc.1", "1.0.0"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCheck is the one table of the selector rules: what Check reports
// (config validation shows it under the selector's path) and what NewPolicy
// therefore refuses, with every message in full.
func TestCheck(t *testing.T) {
	t.Parallel()
	const group = `^(?P<v>\d+)$`
	tests := []struct {
		name string
		sel  Selector
		want []string // "field: message"; none for a valid selector
	}{
		{name: "empty selector", sel: Selector{}},
		{name: "every field", sel: Selector{Regex: re(`^v(?P<version>.+)$`, "$version"), Semver: ">=1.0.0 <2.0.0", SortBy: SortNumerical, Limit: intp(0)}},
		{name: "each sort strategy", sel: Selector{SortBy: SortAlphabetical}},
		{name: "regex without extract", sel: Selector{Regex: re(`alpine`, "")}},

		// Extract templates are parsed as regexp.Expand parses them.
		{name: "extract by name", sel: Selector{Regex: re(group, "$v")}},
		{name: "extract by name in braces", sel: Selector{Regex: re(group, "${v}")}},
		{name: "extract by number", sel: Selector{Regex: re(group, "$1")}},
		{name: "extract by number in braces with text", sel: Selector{Regex: re(group, "${1}x")}},
		{name: "extract of the whole match", sel: Selector{Regex: re(group, "$0")}},
		{name: "extract with literal dollars", sel: Selector{Regex: re(group, "$$v-$v")}},
		{name: "extract with two references", sel: Selector{Regex: re(group, "v$v-$1")}},
		{name: "extract with a malformed reference beside a good one", sel: Selector{Regex: re(group, "$-${v")}, want: []string{
			`regex.extract: "$-${v" references no capture group; use $name with a named group of pattern, e.g. $version`}},

		// The spec: extract references named capture groups, so a
		// template without a reference (one key for every tag) is refused.
		{name: "extract without a reference", sel: Selector{Regex: re(group, "v")}, want: []string{
			`regex.extract: "v" references no capture group; use $name with a named group of pattern, e.g. $version`}},
		{name: "extract of literal dollars only", sel: Selector{Regex: re(group, "100$$")}, want: []string{
			`regex.extract: "100$$" references no capture group; use $name with a named group of pattern, e.g. $version`}},
		{name: "extract of a lone dollar", sel: Selector{Regex: re(group, "$")}, want: []string{
			`regex.extract: "$" references no capture group; use $name with a named group of pattern, e.g. $version`}},

		{name: "empty pattern", sel: Selector{Regex: re("", "$v")}, want: []string{
			"regex.pattern: is required; tags that do not match the Go regular expression are dropped"}},
		{name: "bad pattern", sel: Selector{Regex: re(`^(v`, "")}, want: []string{
			"regex.pattern: \"^(v\" is not a valid Go regular expression: error parsing regexp: missing closing ): `^(v`"}},
		{name: "extract of unknown name", sel: Selector{Regex: re(`^(?P<version>.+)$`, "$ver")}, want: []string{
			"regex.extract: $ver names no capture group of pattern (named groups: version)"}},
		{name: "extract of unknown names, each reported", sel: Selector{Regex: re(`^(?P<version>.+)$`, "${nope}.$version.$ts")}, want: []string{
			"regex.extract: $nope names no capture group of pattern (named groups: version)",
			"regex.extract: $ts names no capture group of pattern (named groups: version)"}},
		{name: "extract of a name without named groups", sel: Selector{Regex: re(`^v.*$`, "$v")}, want: []string{
			"regex.extract: $v names no capture group: pattern has no named groups (add one, e.g. (?P<v>...))"}},
		{name: "extract of group number out of range", sel: Selector{Regex: re(`^(\d+)$`, "$2")}, want: []string{
			"regex.extract: $2 refers to capture group 2 but pattern has 1"}},
		{name: "extract swallowing letters into the name", sel: Selector{Regex: re(`^(\d+)$`, "$1x")}, want: []string{
			"regex.extract: $1x names no capture group: pattern has no named groups (add one with (?P<name>...)); a name runs to the first character that is not a letter, digit or _, so write $name with a named group instead"}},
		{name: "bad semver range", sel: Selector{Semver: "not a range"}, want: []string{
			`semver: "not a range" is not a valid semver range (e.g. "6.x" or ">=2.7.0 <3.0.0"): improper constraint: "not a range"`}},
		{name: "unknown sort", sel: Selector{SortBy: "date"}, want: []string{
			`sortBy: "date" must be one of semver, alphabetical, numerical`}},
		{name: "sort strategies are case sensitive", sel: Selector{SortBy: "Semver"}, want: []string{
			`sortBy: "Semver" must be one of semver, alphabetical, numerical`}},
		{name: "negative limit", sel: Selector{Limit: intp(-1)}, want: []string{
			"limit: must be >= 0 (0 mirrors every matching tag), got -1"}},
		{name: "every problem in field order", sel: Selector{Regex: re("(", ""), Semver: "x.y.z.w", SortBy: "date", Limit: intp(-2)}, want: []string{
			"regex.pattern: \"(\" is not a valid Go regular expression: error parsing regexp: missing closing ): `(`",
			`semver: "x.y.z.w" is not a valid semver range (e.g. "6.x" or ">=2.7.0 <3.0.0"): improper constraint: "x.y.z.w"`,
			`sortBy: "date" must be one of semver, alphabetical, numerical`,
			"limit: must be >= 0 (0 mirrors every matching tag), got -2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, e := range Check(tt.sel) {
				got = append(got, e.Error())
				// ${…} in a config is environment substitution: a hint
				// must never suggest it.
				msg := e.Message
				if tt.sel.Regex != nil {
					msg = strings.ReplaceAll(msg, strconv.Quote(tt.sel.Regex.Extract), "")
				}
				if strings.Contains(msg, "${") {
					t.Errorf("%q suggests ${…}, which the loader substitutes", e)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check:\n got %q\nwant %q", got, tt.want)
			}
			_, err := NewPolicy(tt.sel)
			switch {
			case len(tt.want) == 0 && err != nil:
				t.Errorf("NewPolicy: %v, want a policy", err)
			case len(tt.want) > 0 && err == nil:
				t.Error("NewPolicy succeeded, want an error")
			case len(tt.want) > 0:
				want := "selector." + strings.Join(tt.want, "; selector.")
				if err.Error() != want {
					t.Errorf("NewPolicy error\n %q\nwant %q", err, want)
				}
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Error() != tt.want[0] {
					t.Errorf("NewPolicy error %v does not unwrap to the first FieldError", err)
				}
			}
		})
	}
}

// TestCheckVersions is the table of the chart version and limit rules.
func TestCheckVersions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		constraint string
		limit      *int
		want       []string
	}{
		{name: "defaults", constraint: "", limit: nil},
		{name: "a range and no cap", constraint: ">=15.0.0 <16.0.0", limit: intp(0)},
		{name: "bad range", constraint: "latest", limit: intp(2), want: []string{
			`version: "latest" is not a valid semver range (e.g. "6.x" or ">=2.7.0 <3.0.0"): improper constraint: "latest"`}},
		{name: "negative limit", constraint: "*", limit: intp(-3), want: []string{
			"limit: must be >= 0 (0 mirrors every matching version), got -3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, e := range CheckVersions(tt.constraint, tt.limit) {
				got = append(got, e.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CheckVersions:\n got %q\nwant %q", got, tt.want)
			}
			_, err := ApplyVersions([]string{"1.0.0"}, tt.constraint, tt.limit)
			if want := "chart " + strings.Join(tt.want, "; chart "); (err == nil) != (len(tt.want) == 0) || (err != nil && err.Error() != want) {
				t.Errorf("ApplyVersions error %v, want %q", err, want)
			}
		})
	}
}

func TestSelectVersions(t *testing.T) {
	t.Parallel()
	versions := []string{"1.0.0", "1.2.3+meta", "1.2.3", "2.0.0-rc.1", "1.10.0", "bogus", "0.1.0", "v1.5.0"}
	tests := []struct {
		name       string
		constraint string
		limit      *int
		want       []string
	}{
		{"defaults: star and limit 1", "", nil, []string{"1.10.0"}},
		{"star excludes prereleases", "*", intp(0), []string{"1.10.0", "v1.5.0", "1.2.3", "1.2.3+meta", "1.0.0", "0.1.0"}},
		{"prerelease range includes them", ">=0.0.0-0", intp(2), []string{"2.0.0-rc.1", "1.10.0"}},
		{"range keeps build metadata verbatim", "~1.2.0", intp(0), []string{"1.2.3", "1.2.3+meta"}},
		{"limit", ">=1.0.0 <2.0.0", intp(2), []string{"1.10.0", "v1.5.0"}},
		{"nothing matches", ">=3", intp(0), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := SelectVersions(versions, tt.constraint, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelectVersionsErrors(t *testing.T) {
	t.Parallel()
	if _, err := SelectVersions([]string{"1.0.0"}, ">>1", nil); err == nil || !strings.Contains(err.Error(), `">>1"`) {
		t.Errorf("bad range: got %v", err)
	}
	if _, err := SelectVersions([]string{"1.0.0"}, "", intp(-2)); err == nil || !strings.Contains(err.Error(), "-2") {
		t.Errorf("negative limit: got %v", err)
	}
}

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	valid := []string{"0", "-0", "+0", "007", "1", "-1", "1.5", ".5", "5.", "1e3", "1E3", "1e+3", "1e-3", "1e0003", "-.5e-2", "123456789012345678901234567890"}
	for _, s := range valid {
		if _, ok := parseDecimal(s); !ok {
			t.Errorf("parseDecimal(%q) failed", s)
		}
	}
	invalid := []string{"", "+", "-", ".", "e3", ".e3", "1e", "1e+", "1e-", "1.2.3", "1..2", "--1", "+-1", "1e+-3", "NaN", "Inf", "infinity", "0x10", "1_000", " 1", "1 ", "1e99999999999", "1e2.5", "v1", "١"}
	for _, s := range invalid {
		if d, ok := parseDecimal(s); ok {
			t.Errorf("parseDecimal(%q) = %+v, want failure", s, d)
		}
	}
}

func TestDecimalCompare(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want int
	}{
		{"0", "-0", 0}, {"0", "0.000", 0}, {"0e5", "0", 0}, {"10", "1e1", 0}, {"10", "10.0", 0}, {"010", "10", 0}, {"0.5", ".5", 0}, {"5e-1", "0.5", 0},
		{"1", "2", -1}, {"2", "10", -1}, {"9.99", "10", -1}, {"0.1", "0.11", -1}, {"0.09", "0.1", -1}, {"1e-3", "1e-2", -1},
		{"-1", "0", -1}, {"-2", "-1", -1}, {"-10", "-9", -1}, {"-0.1", "0", -1}, {"0", "0.0001", -1},
		{"19", "2", 1}, {"12345678901234567891", "12345678901234567890", 1}, {"1e10", "9999999999", 1},
	}
	for _, tt := range tests {
		a, okA := parseDecimal(tt.a)
		b, okB := parseDecimal(tt.b)
		if !okA || !okB {
			t.Fatalf("parse %q or %q failed", tt.a, tt.b)
		}
		if got := a.compare(b); got != tt.want {
			t.Errorf("compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := b.compare(a); got != -tt.want {
			t.Errorf("compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// fallback is the referrers fallback tag of a sha256 digest of hex h.
func fallback(h string) string { return "sha256-" + strings.Repeat(h, 64/len(h)) }

func TestApplyExcludesFallbackTags(t *testing.T) {
	t.Parallel()
	sha512Tag := "sha512-" + strings.Repeat("a", 121) // 128 characters: the truncated form
	tests := []struct {
		name  string
		sel   Selector
		input []string
		want  Result
	}{
		{"alphabetical limit 0 keeps every ordinary tag but no fallback tag",
			Selector{SortBy: SortAlphabetical, Limit: intp(0)},
			[]string{"latest", fallback("ab"), "1.0.0", fallback("01")},
			Result{Selected: []string{"latest", "1.0.0"}, Listed: 4, FallbackTags: 2, Matched: 2}},
		{"a regex matching fallback tags still selects none",
			Selector{Regex: re(`^sha256-`, ""), SortBy: SortAlphabetical, Limit: intp(0)},
			[]string{fallback("cd"), "sha256-" + strings.Repeat("c", 64) + ".sig"},
			Result{Selected: []string{"sha256-" + strings.Repeat("c", 64) + ".sig"}, Listed: 2, FallbackTags: 1, Matched: 1}},
		{"truncated sha512 fallback tag is excluded",
			Selector{SortBy: SortAlphabetical, Limit: intp(0)},
			[]string{sha512Tag, "v1"},
			Result{Selected: []string{"v1"}, Listed: 2, FallbackTags: 1, Matched: 1}},
		{"duplicates counted once",
			Selector{Limit: intp(0)},
			[]string{fallback("ab"), fallback("ab"), "1.0.0", "1.0.0"},
			Result{Selected: []string{"1.0.0"}, Listed: 2, FallbackTags: 1, Matched: 1}},
		{"limit cuts the matches",
			Selector{Semver: "*", Limit: intp(1)},
			[]string{"1.0.0", "2.0.0", "3.0.0", "latest"},
			Result{Selected: []string{"3.0.0"}, Listed: 4, Matched: 3, Limit: 1}},
		{"nothing matches",
			Selector{Semver: ">=9"},
			[]string{"1.0.0", "2.0.0"},
			Result{Selected: []string{}, Listed: 2, Matched: 0, Limit: 1}},
		{"no tags",
			Selector{},
			nil,
			Result{Selected: []string{}, Limit: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPolicy(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			got := Apply(tt.input, p)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply(%q)\n got %+v\nwant %+v", tt.input, got, tt.want)
			}
			if c := got.Considered(); c != tt.want.Listed-tt.want.FallbackTags {
				t.Errorf("Considered() = %d", c)
			}
		})
	}
}

func TestIsFallbackTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag  string
		want bool
	}{
		{fallback("ab"), true},
		{fallback("09"), true},
		{"sha512-" + strings.Repeat("f", 121), true},
		{"sha256-" + strings.Repeat("A", 64), false},  // upper case hex is not a digest
		{"sha256-" + strings.Repeat("a", 63), false},  // too short
		{"sha256-" + strings.Repeat("a", 65), false},  // too long
		{"sha256-" + strings.Repeat("g", 64), false},  // not hex
		{fallback("ab") + ".sig", false},              // cosign signature tag
		{fallback("ab") + ".att", false},              // cosign attestation tag
		{fallback("ab") + ".sbom", false},             // cosign SBOM tag
		{"sha512-" + strings.Repeat("f", 128), false}, // longer than a tag may be
		{"sha384-" + strings.Repeat("f", 96), false},  // not an algorithm of the schema here
		{"sha256:" + strings.Repeat("a", 64), false},  // a digest, not a tag
		{"", false},
		{"1.0.0", false},
	}
	for _, tt := range tests {
		if got := IsFallbackTag(tt.tag); got != tt.want {
			t.Errorf("IsFallbackTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestApplyVersions(t *testing.T) {
	t.Parallel()
	got, err := ApplyVersions([]string{"1.0.0", "1.1.0", "2.0.0", "bogus", fallback("ab")}, "1.x", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Selected: []string{"1.1.0"}, Listed: 5, Matched: 2, Limit: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestTemplateRefs(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"$version":         {"version"},
		"${version}.x":     {"version"},
		"$$version":        nil,
		"$1-$2":            {"1", "2"},
		"v$":               nil,
		"${unclosed":       nil,
		"$ts$$":            {"ts"},
		"${a}${b}$c":       {"a", "b", "c"},
		"${}":              nil,
		"$-x":              nil,
		"prefix-$name_1-x": {"name_1"},
	}
	for in, want := range tests {
		got := templateRefs(in)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("templateRefs(%q): got %q, want %q", in, got, want)
		}
	}
}
