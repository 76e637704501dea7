package selection

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"

	"github.com/fluxcd/flux-mirror/core/config"
)

// DefaultLimit is the number of tags or versions selected when no limit is
// configured.
const DefaultLimit = 1

// DefaultChartVersion is the semver range of a chart without .version.
const DefaultChartVersion = "*"

// Policy is a compiled tag selector, ready to run on any number of tag
// lists. Build it with NewPolicy; the zero Policy sorts by semver and keeps
// every tag that parses.
type Policy struct {
	re         *regexp.Regexp
	extract    string
	hasExtract bool
	constraint *semver.Constraints
	sortBy     config.SortBy
	limit      int // 0: no cap
}

// NewPolicy compiles a Config selector: its regular expression, extract
// template and semver range are checked and compiled once. Errors name the
// offending field (e.g. "selector.semver") and say how to fix it.
func NewPolicy(s config.Selector) (Policy, error) {
	return newPolicy(s, "selector")
}

func newPolicy(s config.Selector, field string) (Policy, error) {
	p := Policy{sortBy: s.SortBy}
	if s.Regex != nil {
		if s.Regex.Pattern == "" {
			return Policy{}, fmt.Errorf("%s.regex.pattern: must be set when %s.regex is given (a Go regular expression such as '^v\\d+\\.\\d+\\.\\d+$')", field, field)
		}
		re, err := regexp.Compile(s.Regex.Pattern)
		if err != nil {
			return Policy{}, fmt.Errorf("%s.regex.pattern: %q is not a valid Go regular expression: %w", field, s.Regex.Pattern, err)
		}
		p.re = re
		if s.Regex.Extract != "" {
			if err := checkTemplate(re, s.Regex.Extract); err != nil {
				return Policy{}, fmt.Errorf("%s.regex.extract: %w", field, err)
			}
			p.extract, p.hasExtract = s.Regex.Extract, true
		}
	}
	if s.Semver != "" {
		c, err := semver.NewConstraint(s.Semver)
		if err != nil {
			return Policy{}, fmt.Errorf("%s.semver: %q is not a valid semver range (use e.g. \"6.x\", \">=2.7.0 <3.0.0\" or \"*\"): %w", field, s.Semver, err)
		}
		p.constraint = c
	}
	switch s.SortBy {
	case "":
		p.sortBy = config.SortSemver
	case config.SortSemver, config.SortAlphabetical, config.SortNumerical:
	default:
		return Policy{}, fmt.Errorf("%s.sortBy: %q is not a sort strategy (use one of %s)", field, s.SortBy, strategies())
	}
	limit, err := checkLimit(s.Limit, field+".limit")
	if err != nil {
		return Policy{}, err
	}
	p.limit = limit
	return p, nil
}

func strategies() string {
	names := make([]string, len(config.SortStrategies))
	for i, s := range config.SortStrategies {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func checkLimit(limit *int, field string) (int, error) {
	if limit == nil {
		return DefaultLimit, nil
	}
	if *limit < 0 {
		return 0, fmt.Errorf("%s: %d is negative (use 0 for no cap, or a positive count)", field, *limit)
	}
	return *limit, nil
}

// checkTemplate reports an extract template that references a capture group
// the pattern does not have. It parses "$name", "${name}" and "$$" as
// regexp.Expand does; note that Expand reads "$1x" as the group "1x", so
// such a reference is reported. The hint suggests $name only: ${name}
// would be taken by the loader's environment substitution.
func checkTemplate(re *regexp.Regexp, tmpl string) error {
	for {
		_, after, ok := strings.Cut(tmpl, "$")
		if !ok {
			return nil
		}
		tmpl = after
		if strings.HasPrefix(tmpl, "$") {
			tmpl = tmpl[1:]
			continue
		}
		name, rest, ok := templateName(tmpl)
		if !ok {
			continue // Expand copies a malformed "$" literally.
		}
		tmpl = rest
		if !hasGroup(re, name) {
			return fmt.Errorf("$%s references no capture group of the pattern %q (%s; write $name with a named group: a name ends before the first character that is not a letter, digit or _, and $$ is a literal $)", name, re.String(), groupsHint(re))
		}
	}
}

// templateName mirrors regexp's parsing of a name after "$".
func templateName(s string) (name, rest string, ok bool) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	})
	if i < 0 {
		i = len(s)
	}
	if i == 0 {
		return "", "", false
	}
	name, rest = s[:i], s[i:]
	if brace {
		if !strings.HasPrefix(rest, "}") {
			return "", "", false
		}
		rest = rest[1:]
	}
	return name, rest, true
}

func hasGroup(re *regexp.Regexp, name string) bool {
	if n, ok := groupNumber(name); ok {
		return n <= re.NumSubexp()
	}
	return name != "" && slices.Contains(re.SubexpNames()[1:], name)
}

// groupNumber parses a group number as regexp.Expand does: decimal digits
// without leading zeros, below 1e8.
func groupNumber(name string) (int, bool) {
	n := 0
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' || n >= 1e8 {
			return 0, false
		}
		n = n*10 + int(name[i]-'0')
	}
	if name[0] == '0' && len(name) > 1 {
		return 0, false
	}
	return n, true
}

func groupsHint(re *regexp.Regexp) string {
	var named []string
	for _, n := range re.SubexpNames()[1:] {
		if n != "" {
			named = append(named, n)
		}
	}
	if len(named) == 0 {
		return fmt.Sprintf("it has %d unnamed groups and no named group; name one with (?P<name>...)", re.NumSubexp())
	}
	return "its named groups are " + strings.Join(named, ", ")
}

// candidate is a tag that passed the filters, with its parsed key.
type candidate struct {
	tag string
	key string
	ver *semver.Version
	num decimal
}

// Result is the outcome of a selection with the counts that explain it,
// so that an empty or capped selection can be reported.
type Result struct {
	// Selected are the selected original tags, highest first.
	Selected []string
	// Listed is the number of distinct tags given.
	Listed int
	// FallbackTags is the number of referrers fallback tags (see
	// IsFallbackTag) excluded before the selector ran.
	FallbackTags int
	// Matched is the number of tags that passed the selector's filters
	// (regex, key extraction, semver range, sort key parsing), before the
	// limit.
	Matched int
	// Limit is the cap that applied; 0 means no cap.
	Limit int
}

// Considered is the number of tags the selector saw: Listed without the
// excluded fallback tags.
func (r Result) Considered() int { return r.Listed - r.FallbackTags }

// Select runs the selection pipeline on tags and returns the selected
// original tags, highest first. It is pure and deterministic: the result
// depends only on the set of tags and the policy. Referrers fallback tags
// are never selected (see Apply).
func Select(tags []string, p Policy) []string {
	return Apply(tags, p).Selected
}

// Apply runs the selection pipeline on tags, as Select does, and returns
// the selected tags with the counts behind them. Tags of the referrers tag
// schema (IsFallbackTag) are excluded before the selector runs and
// counted in Result.FallbackTags: they index the referrers of a digest,
// are not versions, and the destination's copies are maintained by the
// engine through includeReferrers only.
func Apply(tags []string, p Policy) Result {
	return p.apply(tags, true)
}

func (p Policy) apply(tags []string, excludeFallback bool) Result {
	var res Result
	seen := make(map[string]bool, len(tags))
	cands := make([]candidate, 0, len(tags))
	for _, tag := range tags {
		if seen[tag] {
			continue
		}
		seen[tag] = true
		res.Listed++
		if excludeFallback && IsFallbackTag(tag) {
			res.FallbackTags++
			continue
		}
		if c, ok := p.candidate(tag); ok {
			cands = append(cands, c)
		}
	}
	res.Matched, res.Limit = len(cands), p.limit
	cmpKey := p.compare()
	slices.SortFunc(cands, func(a, b candidate) int {
		if c := cmpKey(b, a); c != 0 { // highest first
			return c
		}
		return strings.Compare(a.tag, b.tag)
	})
	if p.limit > 0 && len(cands) > p.limit {
		cands = cands[:p.limit]
	}
	res.Selected = make([]string, len(cands))
	for i, c := range cands {
		res.Selected[i] = c.tag
	}
	return res
}

// IsFallbackTag reports whether tag has the exact form of a referrers
// fallback tag of the OCI distribution spec's referrers tag schema:
// "sha256-" and 64 lowercase hex digits, or "sha512-" and the 121 hex
// digits left after truncation to 128 characters. Cosign's tag-based
// attachments ("sha256-<hex>.sig", ".att", ".sbom") are not of this form:
// they stay ordinary tags, which a version selector never matches and a
// regex can select on purpose.
func IsFallbackTag(tag string) bool {
	var hexPart string
	switch {
	case strings.HasPrefix(tag, "sha256-"):
		hexPart = tag[len("sha256-"):]
		if len(hexPart) != 64 {
			return false
		}
	case strings.HasPrefix(tag, "sha512-"):
		hexPart = tag[len("sha512-"):]
		if len(hexPart) != 128-len("sha512-") {
			return false
		}
	default:
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// candidate applies the regex prefilter, key extraction and semver range to
// one tag, and parses the key for the sort.
func (p Policy) candidate(tag string) (candidate, bool) {
	c := candidate{tag: tag, key: tag}
	if p.re != nil {
		m := p.re.FindStringSubmatchIndex(tag)
		if m == nil {
			return candidate{}, false
		}
		if p.hasExtract {
			c.key = string(p.re.ExpandString(nil, p.extract, tag, m))
		}
	}
	if p.constraint != nil || p.sort() == config.SortSemver {
		v, err := semver.NewVersion(c.key)
		if err != nil {
			return candidate{}, false
		}
		if p.constraint != nil && !p.constraint.Check(v) {
			return candidate{}, false
		}
		c.ver = v
	}
	if p.sort() == config.SortNumerical {
		d, ok := parseDecimal(c.key)
		if !ok {
			return candidate{}, false
		}
		c.num = d
	}
	return c, true
}

func (p Policy) sort() config.SortBy {
	if p.sortBy == "" {
		return config.SortSemver
	}
	return p.sortBy
}

func (p Policy) compare() func(a, b candidate) int {
	switch p.sort() {
	case config.SortAlphabetical:
		return func(a, b candidate) int { return strings.Compare(a.key, b.key) }
	case config.SortNumerical:
		return func(a, b candidate) int { return a.num.compare(b.num) }
	default:
		return func(a, b candidate) int { return a.ver.Compare(b.ver) }
	}
}

// SelectVersions selects Helm chart versions: those that parse as semantic
// versions and satisfy constraint (DefaultChartVersion "*" when empty, which
// excludes prereleases), highest first, capped by limit (nil: DefaultLimit,
// 0: no cap). It returns the versions as given, including any build
// metadata ("1.2.3+meta"). Versions that do not parse are dropped; an
// invalid constraint or a negative limit is an error.
func SelectVersions(versions []string, constraint string, limit *int) ([]string, error) {
	res, err := ApplyVersions(versions, constraint, limit)
	if err != nil {
		return nil, err
	}
	return res.Selected, nil
}

// ApplyVersions selects Helm chart versions as SelectVersions does and
// returns them with the counts behind them (Result.FallbackTags is always
// 0: a chart index lists versions, not tags).
func ApplyVersions(versions []string, constraint string, limit *int) (Result, error) {
	if constraint == "" {
		constraint = DefaultChartVersion
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return Result{}, fmt.Errorf("chart version: %q is not a valid semver range (use e.g. \"6.x\", \">=15.0.0 <16.0.0\" or \"*\"): %w", constraint, err)
	}
	n, err := checkLimit(limit, "chart limit")
	if err != nil {
		return Result{}, err
	}
	return Policy{constraint: c, sortBy: config.SortSemver, limit: n}.apply(versions, false), nil
}
