package selection

import (
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
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
	sortBy     SortBy
	limit      int // 0: no cap
}

// NewPolicy compiles a selector: its regular expression, extract template
// and semver range are compiled once. A selector that Check finds problems
// in is an error naming every offending field (e.g. "selector.semver: …")
// and how to fix it.
func NewPolicy(s Selector) (Policy, error) {
	if errs := Check(s); len(errs) > 0 {
		return Policy{}, joinErrors("selector.", errs)
	}
	p := Policy{sortBy: s.SortBy, limit: DefaultLimit}
	if s.Regex != nil {
		p.re, _ = compileRegex(*s.Regex)
		p.extract, p.hasExtract = s.Regex.Extract, s.Regex.Extract != ""
	}
	if s.Semver != "" {
		p.constraint, _ = semver.NewConstraint(s.Semver)
	}
	if p.sortBy == "" {
		p.sortBy = SortSemver
	}
	if s.Limit != nil {
		p.limit = *s.Limit
	}
	return p, nil
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
	if p.constraint != nil || p.sort() == SortSemver {
		v, err := semver.NewVersion(c.key)
		if err != nil {
			return candidate{}, false
		}
		if p.constraint != nil && !p.constraint.Check(v) {
			return candidate{}, false
		}
		c.ver = v
	}
	if p.sort() == SortNumerical {
		d, ok := parseDecimal(c.key)
		if !ok {
			return candidate{}, false
		}
		c.num = d
	}
	return c, true
}

func (p Policy) sort() SortBy {
	if p.sortBy == "" {
		return SortSemver
	}
	return p.sortBy
}

func (p Policy) compare() func(a, b candidate) int {
	switch p.sort() {
	case SortAlphabetical:
		return func(a, b candidate) int { return strings.Compare(a.key, b.key) }
	case SortNumerical:
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
	if errs := CheckVersions(constraint, limit); len(errs) > 0 {
		return Result{}, joinErrors("chart ", errs)
	}
	if constraint == "" {
		constraint = DefaultChartVersion
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil { // unreachable: CheckVersions compiled it
		return Result{}, err
	}
	n := DefaultLimit
	if limit != nil {
		n = *limit
	}
	return Policy{constraint: c, sortBy: SortSemver, limit: n}.apply(versions, false), nil
}
