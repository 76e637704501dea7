package selection

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/core/config"
)

func intp(n int) *int { return &n }

func re(pattern, extract string) *config.Regex {
	return &config.Regex{Pattern: pattern, Extract: extract}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	podinfo := []string{"6.0.0", "6.1.0", "6.1.1-rc.1", "6.2.0", "5.9.9", "7.0.0-beta.1", "latest", "main-abc1234", "6.2.0-alpine"}
	tests := []struct {
		name  string
		sel   config.Selector
		input []string
		want  []string
	}{
		// Defaults: semver sort, limit 1.
		{"empty selector picks the highest semver", config.Selector{}, []string{"1.0.0", "2.0.0", "1.5.0"}, []string{"2.0.0"}},
		{"non-semver tags are dropped by the semver sort", config.Selector{Limit: intp(0)}, []string{"latest", "1.0.0", "main", "sha256-abc"}, []string{"1.0.0"}},
		{"no tags", config.Selector{}, nil, []string{}},
		{"no tag qualifies", config.Selector{}, []string{"latest", "edge"}, []string{}},
		{"without a range prereleases compete by precedence", config.Selector{Limit: intp(3)}, podinfo, []string{"7.0.0-beta.1", "6.2.0", "6.2.0-alpine"}},

		// Limit.
		{"limit nil is 1", config.Selector{Semver: "*"}, podinfo, []string{"6.2.0"}},
		{"limit 0 keeps all", config.Selector{Semver: "6.x", Limit: intp(0)}, podinfo, []string{"6.2.0", "6.1.0", "6.0.0"}},
		{"limit n keeps the top n", config.Selector{Semver: "6.x", Limit: intp(2)}, podinfo, []string{"6.2.0", "6.1.0"}},
		{"limit above the count keeps all", config.Selector{Semver: "6.x", Limit: intp(10)}, podinfo, []string{"6.2.0", "6.1.0", "6.0.0"}},

		// Semver ranges, Flux and Helm syntax.
		{"x range", config.Selector{Semver: "6.x", Limit: intp(0)}, []string{"5.0.0", "6.0.0", "6.9.1", "7.0.0"}, []string{"6.9.1", "6.0.0"}},
		{"and range", config.Selector{Semver: ">=2.7.0 <3.0.0", Limit: intp(0)}, []string{"v2.6.9", "v2.7.0", "v2.8.1", "v3.0.0"}, []string{"v2.8.1", "v2.7.0"}},
		{"comma and range", config.Selector{Semver: ">=2.7.0, <3.0.0", Limit: intp(0)}, []string{"2.6.9", "2.7.0", "3.0.0"}, []string{"2.7.0"}},
		{"or range", config.Selector{Semver: "<1.0.0 || >=3.0.0", Limit: intp(0)}, []string{"0.9.0", "1.0.0", "2.0.0", "3.1.0"}, []string{"3.1.0", "0.9.0"}},
		{"caret range", config.Selector{Semver: "^1.2", Limit: intp(0)}, []string{"1.1.9", "1.2.0", "1.9.9", "2.0.0"}, []string{"1.9.9", "1.2.0"}},
		{"tilde range", config.Selector{Semver: "~1.2.3", Limit: intp(0)}, []string{"1.2.2", "1.2.3", "1.2.9", "1.3.0"}, []string{"1.2.9", "1.2.3"}},
		{"hyphen range", config.Selector{Semver: "1.0.0 - 2.0.0", Limit: intp(0)}, []string{"0.9.0", "1.0.0", "2.0.0", "2.0.1"}, []string{"2.0.0", "1.0.0"}},
		{"star keeps every release", config.Selector{Semver: "*", Limit: intp(0)}, []string{"0.0.1", "1.0.0", "latest"}, []string{"1.0.0", "0.0.1"}},
		{"range drops non-semver keys", config.Selector{Semver: "*", Limit: intp(0)}, []string{"1.0.0", "v1", "one"}, []string{"1.0.0", "v1"}},

		// Prereleases under Masterminds constraints.
		{"star excludes prereleases", config.Selector{Semver: "*", Limit: intp(0)}, []string{"1.0.0", "1.1.0-rc.1", "2.0.0-alpha"}, []string{"1.0.0"}},
		{"x range excludes prereleases", config.Selector{Semver: "6.x", Limit: intp(0)}, podinfo, []string{"6.2.0", "6.1.0", "6.0.0"}},
		{"a prerelease in the range includes prereleases", config.Selector{Semver: ">=6.0.0-0", Limit: intp(0)}, podinfo, []string{"7.0.0-beta.1", "6.2.0", "6.2.0-alpine", "6.1.1-rc.1", "6.1.0", "6.0.0"}},
		{"the prerelease applies only to its AND group", config.Selector{Semver: ">=7.0.0-0 || 6.1.x", Limit: intp(0)}, podinfo, []string{"7.0.0-beta.1", "6.1.0"}},
		{"prerelease ordering", config.Selector{Semver: ">=1.0.0-0", Limit: intp(0)}, []string{"1.0.0-rc.1", "1.0.0-alpha", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0", "1.0.0-beta"}, []string{"1.0.0", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0-rc.1", "1.0.0-beta", "1.0.0-alpha"}},

		// Lax semver parsing, as Flux and Helm.
		{"v prefix and short versions parse", config.Selector{Limit: intp(0)}, []string{"v1", "1.2", "v1.1.0", "0.9.9"}, []string{"1.2", "v1.1.0", "v1", "0.9.9"}},
		{"build metadata ignored for precedence", config.Selector{Limit: intp(0)}, []string{"1.0.0+b", "1.0.0+a", "0.9.0+z"}, []string{"1.0.0+a", "1.0.0+b", "0.9.0+z"}},

		// Ties.
		{"equal semver ordered by raw tag", config.Selector{Limit: intp(0)}, []string{"v1.0.0", "1.0.0", "1.0", "v1"}, []string{"1.0", "1.0.0", "v1", "v1.0.0"}},
		{"equal semver tie under limit 1", config.Selector{}, []string{"v1.0.0", "1.0.0"}, []string{"1.0.0"}},
		{"duplicate tags selected once", config.Selector{Limit: intp(0)}, []string{"1.0.0", "1.0.0", "2.0.0", "2.0.0"}, []string{"2.0.0", "1.0.0"}},

		// Regex prefilter.
		{"regex drops non-matching tags", config.Selector{Regex: re(`^v\d+\.\d+\.\d+$`, ""), Limit: intp(0)}, []string{"v1.0.0", "1.1.0", "v1.2.0-rc.1", "v0.9.0"}, []string{"v1.0.0", "v0.9.0"}},
		{"regex is unanchored unless anchored", config.Selector{Regex: re(`alpine`, ""), Limit: intp(0)}, []string{"1.0.0-alpine", "1.1.0", "2.0.0-alpine"}, []string{"2.0.0-alpine", "1.0.0-alpine"}},
		{"regex without extract keys on the raw tag", config.Selector{Regex: re(`-alpine$`, ""), Limit: intp(0)}, []string{"1.0.0-alpine", "foo-alpine"}, []string{"1.0.0-alpine"}},

		// Extract.
		{"extract feeds semver, output keeps raw tags", config.Selector{Regex: re(`^(?P<version>\d+\.\d+\.\d+)-alpine$`, "$version"), Limit: intp(0)}, []string{"1.0.0-alpine", "1.10.0-alpine", "1.9.0-alpine", "2.0.0"}, []string{"1.10.0-alpine", "1.9.0-alpine", "1.0.0-alpine"}},
		{"extract with braces and literal text", config.Selector{Regex: re(`^release-(?P<maj>\d+)_(?P<min>\d+)$`, "${maj}.${min}.0"), Limit: intp(0)}, []string{"release-1_2", "release-1_10", "release-0_99"}, []string{"release-1_10", "release-1_2", "release-0_99"}},
		{"extract by group number", config.Selector{Regex: re(`^build-(\d+)$`, "$1"), SortBy: config.SortNumerical, Limit: intp(0)}, []string{"build-9", "build-10", "build-100"}, []string{"build-100", "build-10", "build-9"}},
		{"extract with semver range", config.Selector{Regex: re(`^v(?P<v>.*)-debian$`, "$v"), Semver: ">=1.5.0", Limit: intp(0)}, []string{"v1.4.0-debian", "v1.5.0-debian", "v2.0.0-debian", "v9.0.0"}, []string{"v2.0.0-debian", "v1.5.0-debian"}},
		{"optional group that did not participate extracts empty", config.Selector{Regex: re(`^(?P<a>\d+)?x$`, "$a"), SortBy: config.SortNumerical, Limit: intp(0)}, []string{"5x", "x", "12x"}, []string{"12x", "5x"}},
		{"equal extracted keys ordered by raw tag", config.Selector{Regex: re(`^(?P<v>\d+\.\d+\.\d+)-.*$`, "$v"), Limit: intp(0)}, []string{"1.0.0-b", "1.0.0-a", "0.1.0-c"}, []string{"1.0.0-a", "1.0.0-b", "0.1.0-c"}},
		{"spec example: numerical timestamp", config.Selector{Regex: re(`^.+-[0-9a-f]+-(?P<ts>\d+)$`, "$ts"), SortBy: config.SortNumerical, Limit: intp(5)},
			[]string{"main-abc123-1700000001", "main-def456-1700000100", "main-aaa111-1699999999", "latest", "main-bbb222-1700000050", "pr-1-ccc333-1700000200", "main-ddd444-1700000002"},
			[]string{"pr-1-ccc333-1700000200", "main-def456-1700000100", "main-bbb222-1700000050", "main-ddd444-1700000002", "main-abc123-1700000001"}},

		// Alphabetical.
		{"alphabetical highest first", config.Selector{SortBy: config.SortAlphabetical, Limit: intp(0)}, []string{"b", "a", "c", "B"}, []string{"c", "b", "a", "B"}},
		{"alphabetical keeps non-semver tags", config.Selector{SortBy: config.SortAlphabetical, Limit: intp(2)},
			[]string{"RELEASE.2024-11-12T08-30-15Z", "RELEASE.2023-01-01T00-00-00Z", "RELEASE.2024-11-12T09-00-00Z"},
			[]string{"RELEASE.2024-11-12T09-00-00Z", "RELEASE.2024-11-12T08-30-15Z"}},
		{"alphabetical is byte-wise, not semver", config.Selector{SortBy: config.SortAlphabetical, Limit: intp(0)}, []string{"1.9.0", "1.10.0"}, []string{"1.9.0", "1.10.0"}},
		{"alphabetical with semver range filters on the key", config.Selector{SortBy: config.SortAlphabetical, Semver: "1.x", Limit: intp(0)}, []string{"1.9.0", "1.10.0", "2.0.0", "latest"}, []string{"1.9.0", "1.10.0"}},
		{"alphabetical on extracted keys", config.Selector{SortBy: config.SortAlphabetical, Regex: re(`^(?P<d>\d{4}-\d\d-\d\d)-.+$`, "$d"), Limit: intp(0)}, []string{"2024-01-02-zzz", "2024-03-01-aaa", "2023-12-31-mmm"}, []string{"2024-03-01-aaa", "2024-01-02-zzz", "2023-12-31-mmm"}},

		// Numerical.
		{"numerical highest first", config.Selector{SortBy: config.SortNumerical, Limit: intp(0)}, []string{"9", "10", "100", "2"}, []string{"100", "10", "9", "2"}},
		{"numerical drops non-numbers", config.Selector{SortBy: config.SortNumerical, Limit: intp(0)}, []string{"1", "latest", "1.2.3", "NaN", "Inf", "0x10", "1_000", "", "2"}, []string{"2", "1"}},
		{"numerical decimals, signs and exponents", config.Selector{SortBy: config.SortNumerical, Limit: intp(0)}, []string{"-1.5", "0.25", "1e3", "-2", "+7", ".5", "3."}, []string{"1e3", "+7", "3.", ".5", "0.25", "-1.5", "-2"}},
		{"numerical is exact beyond float64 precision", config.Selector{SortBy: config.SortNumerical, Limit: intp(0)}, []string{"12345678901234567890", "12345678901234567891", "12345678901234567889"}, []string{"12345678901234567891", "12345678901234567890", "12345678901234567889"}},
		{"equal numbers ordered by raw tag", config.Selector{SortBy: config.SortNumerical, Limit: intp(0)}, []string{"10.0", "10", "010", "1e1", "9"}, []string{"010", "10", "10.0", "1e1", "9"}},
		{"numerical with semver range needs both", config.Selector{SortBy: config.SortNumerical, Semver: ">=2", Limit: intp(0)}, []string{"1", "2", "30", "1.5", "2.5.0", "v3"}, []string{"30", "2"}},
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
	p, err := NewPolicy(config.Selector{Limit: intp(0)})
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

func TestNewPolicyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sel  config.Selector
		want []string // substrings of the error
	}{
		{"empty pattern", config.Selector{Regex: re("", "")}, []string{"selector.regex.pattern", "must be set"}},
		{"bad pattern", config.Selector{Regex: re(`^(v`, "")}, []string{"selector.regex.pattern", `"^(v"`, "missing closing )"}},
		{"extract of unknown name", config.Selector{Regex: re(`^(?P<version>.+)$`, "$ver")}, []string{"selector.regex.extract", "$ver", "named groups are version"}},
		{"extract of unknown name in braces", config.Selector{Regex: re(`^(?P<version>.+)$`, "${nope}.0")}, []string{"selector.regex.extract", "$nope"}},
		{"extract of group number out of range", config.Selector{Regex: re(`^(\d+)$`, "$2")}, []string{"selector.regex.extract", "$2", "1 unnamed groups"}},
		{"extract swallowing letters into the name", config.Selector{Regex: re(`^(\d+)$`, "$1x")}, []string{"$1x", "write $name"}},
		{"bad semver range", config.Selector{Semver: "not a range"}, []string{"selector.semver", `"not a range"`, "6.x"}},
		{"unknown sort", config.Selector{SortBy: "date"}, []string{"selector.sortBy", `"date"`, "semver, alphabetical, numerical"}},
		{"negative limit", config.Selector{Limit: intp(-1)}, []string{"selector.limit", "-1", "0 for no cap"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewPolicy(tt.sel)
			if err == nil {
				t.Fatal("NewPolicy succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// ${…} in a config is environment substitution: a hint must
			// never suggest it.
			if strings.Contains(err.Error(), "${") {
				t.Errorf("error %q suggests ${…}, which the loader substitutes", err)
			}
		})
	}
}

func TestNewPolicyAcceptsTemplates(t *testing.T) {
	t.Parallel()
	for _, extract := range []string{"$v", "${v}", "$1", "${1}x", "$0", "$$v", "v$v-$1", "$", "${", "${v", "$-", "100$$"} {
		if _, err := NewPolicy(config.Selector{Regex: re(`^(?P<v>\d+)$`, extract)}); err != nil {
			t.Errorf("extract %q: %v", extract, err)
		}
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
		sel   config.Selector
		input []string
		want  Result
	}{
		{"alphabetical limit 0 keeps every ordinary tag but no fallback tag",
			config.Selector{SortBy: config.SortAlphabetical, Limit: intp(0)},
			[]string{"latest", fallback("ab"), "1.0.0", fallback("01")},
			Result{Selected: []string{"latest", "1.0.0"}, Listed: 4, FallbackTags: 2, Matched: 2}},
		{"a regex matching fallback tags still selects none",
			config.Selector{Regex: re(`^sha256-`, ""), SortBy: config.SortAlphabetical, Limit: intp(0)},
			[]string{fallback("cd"), "sha256-" + strings.Repeat("c", 64) + ".sig"},
			Result{Selected: []string{"sha256-" + strings.Repeat("c", 64) + ".sig"}, Listed: 2, FallbackTags: 1, Matched: 1}},
		{"truncated sha512 fallback tag is excluded",
			config.Selector{SortBy: config.SortAlphabetical, Limit: intp(0)},
			[]string{sha512Tag, "v1"},
			Result{Selected: []string{"v1"}, Listed: 2, FallbackTags: 1, Matched: 1}},
		{"duplicates counted once",
			config.Selector{Limit: intp(0)},
			[]string{fallback("ab"), fallback("ab"), "1.0.0", "1.0.0"},
			Result{Selected: []string{"1.0.0"}, Listed: 2, FallbackTags: 1, Matched: 1}},
		{"limit cuts the matches",
			config.Selector{Semver: "*", Limit: intp(1)},
			[]string{"1.0.0", "2.0.0", "3.0.0", "latest"},
			Result{Selected: []string{"3.0.0"}, Listed: 4, Matched: 3, Limit: 1}},
		{"nothing matches",
			config.Selector{Semver: ">=9"},
			[]string{"1.0.0", "2.0.0"},
			Result{Selected: []string{}, Listed: 2, Matched: 0, Limit: 1}},
		{"no tags",
			config.Selector{},
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
