package config

import (
	"github.com/fluxcd/flux-mirror/core/mirror"
	"github.com/fluxcd/flux-mirror/core/selection"
)

// MirrorInput converts the config's artifacts and charts, in order, into
// what the sync engine runs (mirror.Engine.Run). It is pure and keeps every
// value as written: validate the config first. Hosts are not part of it;
// they configure the registry adapter. A nil Config has nothing to mirror.
func (c *Config) MirrorInput() mirror.Input {
	if c == nil {
		return mirror.Input{}
	}
	in := mirror.Input{}
	if len(c.Artifacts) > 0 {
		in.Artifacts = make([]mirror.Artifact, len(c.Artifacts))
	}
	for i, a := range c.Artifacts {
		ma := mirror.Artifact{Source: a.Source, Destination: a.Destination, IncludeReferrers: a.IncludeReferrers, Overwrite: a.Overwrite}
		if a.Selector != nil {
			sel := a.Selector.Selection()
			ma.Selector = &sel
		}
		if a.Verify != nil {
			pol := a.Verify.Policy()
			ma.Verify = &pol
		}
		in.Artifacts[i] = ma
	}
	if len(c.Charts) > 0 {
		in.Charts = make([]mirror.Chart, len(c.Charts))
	}
	for i, ch := range c.Charts {
		in.Charts[i] = mirror.Chart{Name: ch.Name, Source: ch.Source, Destination: ch.Destination, Version: ch.Version, Limit: ch.Limit, Overwrite: ch.Overwrite}
	}
	return in
}

// Policy returns the verify settings as the engine's Verifier takes them.
func (v Verify) Policy() mirror.VerifyPolicy {
	p := mirror.VerifyPolicy{Provider: v.Provider}
	if v.MatchOIDCIdentity != nil {
		p.MatchOIDCIdentity = make([]mirror.OIDCIdentity, len(v.MatchOIDCIdentity))
	}
	for i, id := range v.MatchOIDCIdentity {
		p.MatchOIDCIdentity[i] = mirror.OIDCIdentity{Issuer: id.Issuer, Subject: id.Subject}
	}
	if v.MinAge != nil {
		d := v.MinAge.Duration
		p.MinAge = &d
	}
	return p
}

// Selection returns the selector as package selection (and the engine)
// takes it.
func (s Selector) Selection() selection.Selector {
	out := selection.Selector{Semver: s.Semver, SortBy: s.SortBy, Limit: s.Limit}
	if s.Regex != nil {
		out.Regex = &selection.Regex{Pattern: s.Regex.Pattern, Extract: s.Regex.Extract}
	}
	return out
}
