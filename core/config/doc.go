// Package config defines flux-mirror's Config API, mirror.plugin.fluxcd.io/v1beta1:
// its types, defaults, validation and JSON Schema, plus the two steps of
// loading that need no I/O library: ${VAR} substitution over the raw bytes
// (Substitute) and strict decoding of an already-parsed JSON-like tree
// (Decode). Reading files, parsing YAML and resolving paths happen in the
// configfile adapter; this package is pure and depends only on the standard
// library and Masterminds/semver.
//
// Defaults are not written into a decoded Config: read them through the
// Effective* methods (Selector.EffectiveLimit, Chart.EffectiveVersion, …) so
// that a Config always says what the user wrote.
package config
