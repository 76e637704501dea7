package selection

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
)

// SortBy names a tag sort strategy.
type SortBy string

// The sort strategies of a Selector.
const (
	SortSemver       SortBy = "semver"
	SortAlphabetical SortBy = "alphabetical"
	SortNumerical    SortBy = "numerical"
)

// SortStrategies lists the valid SortBy values in documentation order.
var SortStrategies = []SortBy{SortSemver, SortAlphabetical, SortNumerical}

// Selector is the tag selection pipeline: regex prefilter, semver range
// filter, sort (highest first) and limit. A config version converts its
// own selector into this one; Check holds the rules, NewPolicy compiles it.
type Selector struct {
	// Regex is an optional prefilter applied to every tag.
	Regex *Regex
	// Semver is an optional semver range; keys that are not versions are
	// dropped.
	Semver string
	// SortBy is the sort strategy; empty means semver.
	SortBy SortBy
	// Limit caps the number of selected tags; nil means DefaultLimit and 0
	// means no cap.
	Limit *int
}

// Regex is a Go regular expression prefilter with an optional extraction of
// the comparison key from capture groups.
type Regex struct {
	// Pattern is a Go regular expression; tags that do not match are dropped.
	Pattern string
	// Extract is a regexp.Expand template that must reference at least one
	// capture group of Pattern (e.g. "$version"); its result replaces the
	// tag as the comparison key.
	Extract string
}

// FieldError is one problem with one field of a selector (or of a chart's
// version range and limit, see CheckVersions).
type FieldError struct {
	// Field is the path of the field relative to the selector, e.g.
	// "regex.pattern" or "limit"; a config prefixes it with its own path.
	Field string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error renders the error as "<field>: <message>".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Check returns every problem of s, in field order, or nil when NewPolicy
// accepts it. These are the selector rules of every config version and of
// the engine; messages name what is allowed, and never suggest ${…}, which
// the config loader substitutes from the environment.
func Check(s Selector) []*FieldError {
	var errs []*FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if s.Regex != nil {
		if _, msg := compileRegex(*s.Regex); msg != nil {
			errs = append(errs, msg...)
		}
	}
	if s.Semver != "" {
		if _, err := semver.NewConstraint(s.Semver); err != nil {
			add("semver", "%s", rangeMessage(s.Semver, err))
		}
	}
	if s.SortBy != "" && !slices.Contains(SortStrategies, s.SortBy) {
		add("sortBy", "%q must be one of %s", s.SortBy, strategies())
	}
	if s.Limit != nil && *s.Limit < 0 {
		add("limit", "%s", limitMessage(*s.Limit, "tag"))
	}
	return errs
}

// CheckVersions returns the problems of a chart's version range and limit
// (fields "version" and "limit"), or nil when ApplyVersions accepts them.
func CheckVersions(constraint string, limit *int) []*FieldError {
	var errs []*FieldError
	if constraint != "" {
		if _, err := semver.NewConstraint(constraint); err != nil {
			errs = append(errs, &FieldError{Field: "version", Message: rangeMessage(constraint, err)})
		}
	}
	if limit != nil && *limit < 0 {
		errs = append(errs, &FieldError{Field: "limit", Message: limitMessage(*limit, "version")})
	}
	return errs
}

func rangeMessage(constraint string, err error) string {
	return fmt.Sprintf("%q is not a valid semver range (e.g. \"6.x\" or \">=2.7.0 <3.0.0\"): %v", constraint, err)
}

func limitMessage(limit int, what string) string {
	return fmt.Sprintf("must be >= 0 (0 mirrors every matching %s), got %d", what, limit)
}

func strategies() string {
	names := make([]string, len(SortStrategies))
	for i, s := range SortStrategies {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// compileRegex compiles a regex prefilter and checks its extract template,
// returning the problems of the fields regex.pattern and regex.extract.
func compileRegex(r Regex) (*regexp.Regexp, []*FieldError) {
	fail := func(field, format string, args ...any) []*FieldError {
		return []*FieldError{{Field: "regex." + field, Message: fmt.Sprintf(format, args...)}}
	}
	if r.Pattern == "" {
		return nil, fail("pattern", "is required; tags that do not match the Go regular expression are dropped")
	}
	re, err := regexp.Compile(r.Pattern)
	if err != nil {
		return nil, fail("pattern", "%q is not a valid Go regular expression: %v", r.Pattern, err)
	}
	if r.Extract == "" {
		return re, nil
	}
	refs := templateRefs(r.Extract)
	if len(refs) == 0 {
		return nil, fail("extract", "%q references no capture group; use $name with a named group of pattern, e.g. $version", r.Extract)
	}
	var errs []*FieldError
	for _, ref := range refs {
		if msg := checkRef(re, ref); msg != "" {
			errs = append(errs, &FieldError{Field: "regex.extract", Message: msg})
		}
	}
	if errs != nil {
		return nil, errs
	}
	return re, nil
}

// checkRef returns why the template reference $ref names no capture group
// of re, or "" when it names one.
func checkRef(re *regexp.Regexp, ref string) string {
	if n, ok := groupNumber(ref); ok {
		if n > re.NumSubexp() {
			return fmt.Sprintf("$%s refers to capture group %d but pattern has %d", ref, n, re.NumSubexp())
		}
		return ""
	}
	var named []string
	for _, n := range re.SubexpNames()[1:] {
		if n != "" {
			named = append(named, n)
		}
	}
	if slices.Contains(named, ref) {
		return ""
	}
	hint := ""
	if ref[0] >= '0' && ref[0] <= '9' {
		// regexp.Expand reads "$1x" as the group named "1x".
		hint = "; a name runs to the first character that is not a letter, digit or _, so write $name with a named group instead"
	}
	if len(named) == 0 {
		if hint != "" {
			return fmt.Sprintf("$%s names no capture group: pattern has no named groups (add one with (?P<name>...))%s", ref, hint)
		}
		return fmt.Sprintf("$%s names no capture group: pattern has no named groups (add one, e.g. (?P<%s>...))", ref, ref)
	}
	return fmt.Sprintf("$%s names no capture group of pattern (named groups: %s)%s", ref, strings.Join(named, ", "), hint)
}

// templateRefs returns the group references ($name, ${name}, $1) of a
// regexp.Expand template, parsed exactly as Expand parses them: "$$" is a
// literal dollar and a malformed reference is literal text.
func templateRefs(t string) []string {
	var refs []string
	for i := 0; i < len(t); {
		if t[i] != '$' {
			i++
			continue
		}
		if i+1 < len(t) && t[i+1] == '$' {
			i += 2
			continue
		}
		name, n := expandName(t[i+1:])
		if n == 0 {
			i++
			continue
		}
		refs = append(refs, name)
		i += 1 + n
	}
	return refs
}

// expandName mirrors regexp's template name parsing: it returns the name and
// how many bytes of s it used, or 0 if s does not start with a reference.
func expandName(s string) (string, int) {
	brace := strings.HasPrefix(s, "{")
	start := 0
	if brace {
		start = 1
	}
	i := start
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	if i == start {
		return "", 0
	}
	name := s[start:i]
	if brace {
		if i >= len(s) || s[i] != '}' {
			return "", 0
		}
		i++
	}
	return name, i
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

// joinErrors renders problems on one line, each prefixed with prefix, for
// NewPolicy and ApplyVersions.
func joinErrors(prefix string, errs []*FieldError) error {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = prefix + e.Error()
	}
	return &policyError{msg: strings.Join(parts, "; "), errs: errs}
}

// policyError carries the FieldErrors behind a NewPolicy or ApplyVersions
// error.
type policyError struct {
	msg  string
	errs []*FieldError
}

func (e *policyError) Error() string { return e.msg }

// Unwrap returns the FieldErrors.
func (e *policyError) Unwrap() []error {
	out := make([]error, len(e.errs))
	for i, fe := range e.errs {
		out[i] = fe
	}
	return out
}
