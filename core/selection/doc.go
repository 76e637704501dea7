// Package selection decides which tags of a source repository, or which
// versions of a Helm chart, are mirrored.
//
// It implements the tag selection pipeline of the Config API
// (.artifacts[].selector) as pure, deterministic functions: a regex
// prefilter with an optional key extraction, a semver range filter, a sort
// that always orders highest first, and a limit. The output always holds the
// original tags, never the extracted keys.
//
// # Rules
//
// The package owns the selector (Selector) and its rules: Check reports
// every problem of a selector with its field path relative to the selector
// ("regex.extract") and one message, and CheckVersions does the same for a
// chart's version range and limit. Config validation shows these under its
// own paths (artifacts[0].selector.regex.extract); NewPolicy and
// ApplyVersions refuse exactly what they report. An extract template must
// reference at least one capture group of the pattern: a template without
// a reference would give every tag the same key.
//
// # Comparison keys
//
// Without .regex.extract, a tag's comparison key is the tag itself. With it,
// the key is regexp.Expand of the extract template over the tag's match, so
// '^v(?P<version>.+)-alpine$' with '$version' turns "v1.2.3-alpine" into the
// key "1.2.3". Every later step (semver filter, sort) works on the key.
//
// # Semver parsing and prereleases
//
// Keys are parsed as Flux and Helm parse them, with
// github.com/Masterminds/semver/v3's NewVersion: a leading "v" and missing
// minor or patch numbers are accepted ("v1.2" is 1.2.0). Keys that do not
// parse are dropped when a semver range is set or when sorting by semver.
//
// Ranges use Masterminds' constraint syntax ("6.x", ">=2.7.0 <3.0.0", "*",
// "^1.2", "~1.2.3", "1.0.0 - 2.0.0", "<1 || >=3"). Masterminds excludes
// prerelease versions from a range unless a comparator of the same AND group
// carries a prerelease itself: "*" and "6.x" reject "6.1.0-rc.1", while
// ">=6.0.0-0" accepts it. Without a range, sorting by semver keeps
// prereleases and orders them by semver precedence (6.1.0-rc.1 < 6.1.0), so
// a newer release candidate can be selected; set a range such as "*" to
// mirror releases only. Build metadata is ignored for precedence.
//
// # Sorting and ties
//
// Sorting is always highest first: semver by precedence, alphabetical by
// byte-wise comparison of the keys, numerical by the exact decimal value of
// the keys. Numerical keys are optionally signed decimals with an optional
// fraction and exponent ("42", "-1.5", "1e3", "20240101123045"); they are
// compared exactly, so build numbers longer than float64 precision still
// order correctly. Keys that are not such numbers (including "NaN", "Inf" and
// hexadecimal) are dropped.
//
// Keys that compare equal ("v1.0.0" and "1.0.0", "1.2" and "1.2.0",
// "1.0.0+a" and "1.0.0+b", "10" and "10.0", or two tags extracting the same
// key) are ordered by their raw tag in ascending byte order, so "1.0.0" comes
// before "v1.0.0". Duplicate input tags are selected once. The result is
// therefore a function of the set of input tags, independent of their order.
//
// # Semver range with another sort
//
// A semver range also applies when sortBy is alphabetical or numerical: the
// key must parse as a semantic version and satisfy the range to be kept, and
// the kept keys are then sorted by the chosen strategy (a numerical sort
// additionally drops keys that are not decimal numbers, such as "1.2.3").
//
// # Referrers fallback tags
//
// Tags of the exact form "sha256-<64 lowercase hex>" (and the truncated
// "sha512-<hex>" form) are the fallback tags of the OCI referrers tag
// schema: each indexes the referrers of one digest on registries without
// the referrers API. They are not versions, so Apply excludes them before
// the selector runs, whatever it says (even sortBy: alphabetical with limit
// 0), and counts them in Result.FallbackTags. The destination's fallback
// tags are maintained by the engine through includeReferrers only; copied
// as ordinary tags, they would drift as soon as a late referrer is attached.
// Cosign's tag-based attachments ("sha256-<hex>.sig", ".att", ".sbom") are
// not excluded: they are not maintained by the engine, no version selector
// matches them, and a regex may select them on purpose.
//
// # Limit
//
// A nil limit selects the single highest tag; 0 selects every tag that
// passed the filters; n selects the n highest.
package selection
