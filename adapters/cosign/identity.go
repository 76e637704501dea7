package cosign

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fluxcd/flux-mirror/core/mirror"
)

// identity is one accepted signer: an exact OIDC issuer and an anchored
// regular expression over the certificate's subject alternative name.
type identity struct {
	issuer  string
	subject *regexp.Regexp
	// pattern is the subject as written in the config, for messages.
	pattern string
}

// anchor wraps a subject pattern so that it must match the whole subject
// alternative name: "https://github.com/acme/" matches that exact string
// only, not every SAN that contains it. Patterns already written with ^ and
// $ are unaffected.
func anchor(pattern string) string { return `^(?:` + pattern + `)$` }

// compilePolicy checks the policy and compiles its identities. Errors name
// the offending field.
func compilePolicy(p mirror.VerifyPolicy) ([]identity, error) {
	if p.Provider != "" && p.Provider != Provider {
		return nil, fmt.Errorf("verify.provider %q is not supported by this verifier (use %q)", p.Provider, Provider)
	}
	if len(p.MatchOIDCIdentity) == 0 {
		return nil, fmt.Errorf("verify.matchOIDCIdentity is empty: list at least one issuer and subject to accept")
	}
	ids := make([]identity, 0, len(p.MatchOIDCIdentity))
	for i, m := range p.MatchOIDCIdentity {
		if strings.TrimSpace(m.Issuer) == "" {
			return nil, fmt.Errorf("verify.matchOIDCIdentity[%d].issuer is empty: set the OIDC issuer URL, e.g. https://token.actions.githubusercontent.com", i)
		}
		if m.Subject == "" {
			return nil, fmt.Errorf("verify.matchOIDCIdentity[%d].subject is empty: set a regular expression for the certificate subject", i)
		}
		re, err := regexp.Compile(anchor(m.Subject))
		if err != nil {
			return nil, fmt.Errorf("verify.matchOIDCIdentity[%d].subject %q is not a valid Go regular expression: %w", i, m.Subject, err)
		}
		ids = append(ids, identity{issuer: m.Issuer, subject: re, pattern: m.Subject})
	}
	return ids, nil
}

// matchIdentity reports whether a certificate's issuer and SAN match any
// identity (OR).
func matchIdentity(ids []identity, issuer, san string) bool {
	for _, id := range ids {
		if issuer == id.issuer && id.subject.MatchString(san) {
			return true
		}
	}
	return false
}
