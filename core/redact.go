package core

import (
	"net/url"
	"slices"
	"strings"
)

// RedactedURL returns u for messages and logs: without user information
// and fragment, and with the value of every query parameter not named in
// keep replaced, since any of them may carry a secret (a token, a
// pre-signed storage signature, upload state).
func RedactedURL(u *url.URL, keep ...string) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED"
		} else {
			for k, vs := range q {
				if !slices.Contains(keep, k) {
					for i := range vs {
						vs[i] = "REDACTED"
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// RedactURL is RedactedURL for a URL string, also one that does not parse
// (url.Parse quotes it whole in its error, so never show that error): it
// then loses its query and fragment, and its authority everything up to
// the last "@".
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return RedactedURL(u)
	}
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority := rest
	if i := strings.Index(rest, "/"); i >= 0 {
		authority = rest[:i]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}
