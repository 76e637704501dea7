package config

import (
	"time"

	"github.com/fluxcd/flux-mirror/core/selection"
)

// Defaults of the Config API, as documented in config.txt "Defaults".
const (
	// DefaultLimit is the number of tags or versions mirrored when limit is
	// not set.
	DefaultLimit = selection.DefaultLimit
	// DefaultSortBy is the sort strategy when sortBy is not set.
	DefaultSortBy = SortSemver
	// DefaultChartVersion is the chart version range when version is not
	// set: every version.
	DefaultChartVersion = selection.DefaultChartVersion
	// DefaultExp is the lifetime of a signed JWT credential when exp is not
	// set.
	DefaultExp = 60 * time.Second
)

// EffectiveLimit returns the selector's limit, DefaultLimit when unset; 0
// means no cap.
func (s Selector) EffectiveLimit() int {
	if s.Limit == nil {
		return DefaultLimit
	}
	return *s.Limit
}

// EffectiveSortBy returns the selector's sort strategy, DefaultSortBy when
// unset.
func (s Selector) EffectiveSortBy() SortBy {
	if s.SortBy == "" {
		return DefaultSortBy
	}
	return s.SortBy
}

// EffectiveVersion returns the chart's version range, DefaultChartVersion
// when unset.
func (c Chart) EffectiveVersion() string {
	if c.Version == "" {
		return DefaultChartVersion
	}
	return c.Version
}

// EffectiveLimit returns the chart's limit, DefaultLimit when unset; 0 means
// no cap.
func (c Chart) EffectiveLimit() int {
	if c.Limit == nil {
		return DefaultLimit
	}
	return *c.Limit
}

// EffectiveAud returns the audience of the credential of host: Aud, or the
// host itself when unset.
func (c Credential) EffectiveAud(host string) string {
	if c.Aud == "" {
		return host
	}
	return c.Aud
}

// EffectiveExp returns the lifetime of a signed JWT: Exp, or DefaultExp when
// unset.
func (c Credential) EffectiveExp() time.Duration {
	if c.Exp == nil {
		return DefaultExp
	}
	return c.Exp.Duration
}

// MaxChunkBytes returns MaxChunkSize in bytes (it is configured in KiB); 0
// means blobs are uploaded in one request.
func (h Host) MaxChunkBytes() int64 { return h.MaxChunkSize * 1024 }
