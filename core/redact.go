package core

import (
	"net/url"
	"strings"
)

// RedactedURL returns u for messages and logs: without user information,
// and with every query value replaced, since either may carry a secret.
func RedactedURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED"
		} else {
			for k := range q {
				q[k] = []string{"REDACTED"}
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
